"""sim_node's perturbation parameters, driven in-process (no spinning): read at each reset,
applied to what the node publishes, recorded in the episode result, undone by the next reset."""
import json

import numpy as np
import pytest

pytestmark = pytest.mark.ros
pytest.importorskip('rclpy')
pytest.importorskip('mujoco')

from rclpy.parameter import Parameter  # noqa: E402

from dil_ros.nodes.sim_node import SimNode  # noqa: E402


@pytest.fixture
def node(ros_context):
    made = SimNode(real_time_factor=0.0, auto_reset=False, time_limit=0.3, settle_time=0.0)
    made.sent = {'js': [], 'results': []}
    made.js_pub.publish = made.sent['js'].append
    made.result_pub.publish = lambda m: made.sent['results'].append(json.loads(m.data))
    yield made
    made.destroy_node()


def run(node, seconds):
    for _ in range(int(round(seconds / node.tick))):
        node.step_once()


def test_joint_bias_in_joint_states_and_the_result_then_gone_after_a_plain_reset(node):
    node.set_parameters([Parameter('perturbation', value='joint_bias'),
                         Parameter('perturb_time', value=0.1)])
    assert node.perturber.kind == ''     # read at the next reset
    node.reset_episode()
    run(node, 0.05)
    assert np.allclose(node.sent['js'][-1].position, node.sim.positions)
    run(node, 0.35)
    reported = np.array(node.sent['js'][-1].position) - node.sim.positions
    assert np.allclose(reported, (0.15, 0.0, 0.0))
    result = node.sent['results'][-1]
    assert result['perturbation'] == 'joint_bias'
    assert result['perturb_onset'] == pytest.approx(node._sim0 + 0.1, abs=0.02)
    node.set_parameters([Parameter('perturbation', value='')])
    node.reset_episode()
    run(node, 0.2)
    assert np.allclose(node.sent['js'][-1].position, node.sim.positions)


def test_an_unknown_kind_logs_and_runs_unperturbed(node):
    node.set_parameters([Parameter('perturbation', value='earthquake')])
    node.reset_episode()
    assert node.perturber.kind == ''
