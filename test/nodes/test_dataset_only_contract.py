"""A dataset-only contract (observations without topics, e.g. from import-zarr) trains, but every
node that needs ROS topics refuses it with one line naming the key."""
import pytest
import yaml

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip('rclpy')

from rclpy.parameter import Parameter  # noqa: E402

from dil_ros.contract import ContractError  # noqa: E402

EXPECT = r'observations.observation.state: has no topic/type \(a dataset-only key\); {} needs'


@pytest.fixture
def dataset_only(contract, tmp_path):
    mapping = contract.to_mapping()
    mapping['observations']['observation.state'] = {'names': ['a', 'b', 'c']}
    path = tmp_path / 'zarr.yaml'
    path.write_text(yaml.safe_dump(mapping))
    return path


@pytest.mark.parametrize('module, cls, user', [
    ('dil_ros.nodes.recorder_node', 'RecorderNode', 'recorder_node'),
    ('dil_ros.nodes.teleop_node', 'TeleopNode', 'teleop_node'),
])
def test_recorder_and_teleop_refuse(ros_context, dataset_only, tmp_path, module, cls, user):
    node_class = getattr(pytest.importorskip(module), cls)
    params = [Parameter('contract', value=str(dataset_only))]
    if user == 'recorder_node':
        params.append(Parameter('output_dir', value=str(tmp_path / 'session')))
    with pytest.raises(ContractError, match=f'^{dataset_only}: ' + EXPECT.format(user)):
        node_class(parameter_overrides=params)


def test_policy_node_refuses_on_configure(ros_context, dataset_only, tmp_path):
    from rclpy.lifecycle import TransitionCallbackReturn
    from policy_harness import PolicyHarness
    h = PolicyHarness(contract=str(dataset_only), policy_path=str(tmp_path / 'policy.ts'))
    try:
        assert h.node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert h.wait_for(lambda: h.log_has('has no topic/type')), h.logs
        assert any('observations.observation.state' in m and 'policy_node needs' in m
                   for _, m in h.logs), h.logs
    finally:
        h.close()
