"""recorder_node: record expert demonstrations, one MCAP rosbag2 per episode.

Records the contract's observation topics and its teleop (expert action) topic, plus
``extra_topics``, as
serialized bytes (``raw=True``: no per-message conversion); a writer thread stores them
(dil_ros.recording).

Services (std_srvs): ``~/start``, ``~/stop`` (keep), ``~/discard`` (Trigger); ``~/set_success``
(SetBool) marks the current episode, or else the last kept one (bag metadata and index alike);
the operator's mark wins over the ``success`` parameter. Episode metadata comes from the
``task``, ``operator``, ``robot`` and ``success`` parameters, read at each start (``ros2 param
set`` between episodes).
Status: ``~/status`` (std_msgs/String, JSON, transient local) every ``status_period_s`` and after
each change.

QoS: each subscription matches the publishers it sees: best effort when they all are (camera
drivers publish with sensor-data QoS), and transient local when they all are (a latched topic,
e.g. a goal published once): then the topic's newest message is also kept between episodes and
starts each one (``Recorder.latch``). A topic without publishers yet is not subscribed until
they appear (looked at every 0.5 s); it is then subscribed once, with their QoS. Subscribing
first and swapping the subscription later would destroy it on the running executor, which was
seen to stall every subscription of the node mid-episode (compare rclpy #1147, #1206); a
subscription here is never destroyed while the node runs. The topic is in every episode's bag
from the start, empty until its publishers appear. Camera topics keep ``camera_qos_depth`` messages
instead of ``qos_depth``: 5 s of 30 Hz frames, not 5,000.
"""
import json
import sys
import time

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from std_msgs.msg import String
from std_srvs.srv import SetBool, Trigger

from dil_ros.contract import COMPRESSED_IMAGE, IMAGE, resolve_contract
from dil_ros.errors import DilRosError
from dil_ros.nodes import spin_node
from dil_ros.nodes.messages import msg_class
from dil_ros.recording import Recorder, Session
from dil_ros.recording.session import default_session_dir
from dil_ros.recording.topics import ExtraTopicError, parse_extra_topics

PARAMS = {  # name: (default, description, read_only)
    'contract': ('', 'contract YAML (empty: config/contracts/mujoco_arm.yaml)', True),
    'output_dir': ('', 'session folder (empty: runs/demos/<YYYYmmdd_HHMMSS>)', True),
    'extra_topics': ([''], "more topics to record: 'topic:pkg/msg/Type', or 'topic' to take the "
                           'type from the graph', True),
    'task': ('', 'task text stored with each episode', False),
    'operator': ('', 'operator name stored with each episode', False),
    'robot': ('', 'robot name stored with each episode', False),
    'success': (True, 'success flag given to episodes unless ~/set_success marks them', False),
    'max_duration_s': (0.0, 'stop and keep an episode after this long (0: no limit)', False),
    'flush_period_s': (1.0, 'put buffered messages on disk this often (crash loses at most this)',
                       True),
    'qos_depth': (5000, 'subscription history depth: messages buffered per topic while the '
                        'process is starved (5 s at 1 kHz)', True),
    'camera_qos_depth': (150, 'subscription history depth of camera topics (Image, '
                              'CompressedImage): 5 s at 30 Hz', True),
    'status_period_s': (1.0, 'publish ~/status this often', True),
    'take_batch': (200, 'messages a subscription callback takes from its backlog at once', True),
    'num_threads': (2, 'executor threads (used by main()); 1: a single-threaded executor, which '
                       'costs less CPU and keeps /clock timely at low message rates', True),
}


class RecorderNode(Node):

    def __init__(self, **kwargs):
        super().__init__('recorder_node', **kwargs)
        for name, (default, text, read_only) in PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=text,
                                                                      read_only=read_only))
        p = self.param
        contract = resolve_contract(p('contract') or None)
        contract.require_topics('recorder_node')
        topics = {spec.topic: spec.type for spec in contract.observations.values()}
        topics[contract.teleop.topic] = contract.teleop.type
        extra = parse_extra_topics(p('extra_topics'), topics)
        for topic, msgtype in extra.typed.items():  # import each type before anything starts
            try:
                msg_class(msgtype)
            except DilRosError as exc:
                raise ExtraTopicError(f'{extra.entries[topic]}: {exc}') from None
        topics.update(extra.typed)
        self.pending = extra.pending  # extra topics whose type the graph has not shown yet
        session = Session(p('output_dir') or default_session_dir(),
                          info={'contract': contract.name, 'contract_file': contract.source})
        clock_ns = time.time_ns  # message stamps: DDS receive time, or /clock with use_sim_time
        if p('use_sim_time'):
            clock_ns = lambda: self.get_clock().now().nanoseconds  # noqa: E731
        self.recorder = Recorder(session, {}, max_duration_s=p('max_duration_s'),
                                 flush_period_s=p('flush_period_s'), clock_ns=clock_ns)
        self.control = MutuallyExclusiveCallbackGroup()
        self.subs = {}
        self.unmatched = {}  # topic -> type: no publishers seen yet, so not subscribed yet
        for topic, msgtype in topics.items():
            self.subscribe(topic, msgtype)
        self.status_pub = self.create_publisher(
            String, '~/status', QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
        for name, kind, handler in (('start', Trigger, self.on_start),
                                    ('stop', Trigger, self.on_stop),
                                    ('discard', Trigger, self.on_discard),
                                    ('set_success', SetBool, self.on_set_success)):
            self.create_service(kind, f'~/{name}', handler, callback_group=self.control)
        self.create_timer(0.1, self.on_tick, callback_group=self.control)
        self.create_timer(p('status_period_s'), self.publish_status, callback_group=self.control)
        self.discovery = (self.create_timer(0.5, self.discover, callback_group=self.control)
                          if self.pending or self.unmatched else None)
        self.get_logger().info(f'recording {sorted(self.recorder.topics)} into {session.path}')
        self.publish_status()

    def param(self, name):
        return self.get_parameter(name).value

    def qos_for(self, topic, msgtype, infos):
        """The subscription QoS that matches the publishers ``infos`` (see the module)."""
        camera = msgtype in (IMAGE, COMPRESSED_IMAGE)
        qos = QoSProfile(depth=self.param('camera_qos_depth' if camera else 'qos_depth'))
        if infos and all(i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
                         for i in infos):
            qos.reliability = ReliabilityPolicy.BEST_EFFORT
        if infos and all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
                         for i in infos):
            qos.durability = DurabilityPolicy.TRANSIENT_LOCAL
        return qos

    def subscribe(self, topic, msgtype) -> bool:
        """Raw subscription with the publishers' QoS whose callback also drains what else is
        waiting (see take_batch); or, while ``topic`` has no publishers, none yet (``unmatched``,
        looked at again by ``discover``). True when subscribed."""
        self.recorder.add_topic(topic, msgtype)   # in the bag from the next episode on
        infos = self.get_publishers_info_by_topic(topic)
        if not infos:
            self.unmatched[topic] = msgtype
            return False
        self.unmatched.pop(topic, None)
        qos = self.qos_for(topic, msgtype, infos)
        if qos.durability == DurabilityPolicy.TRANSIENT_LOCAL:
            self.recorder.latch(topic)
        put, batch, cls = self.recorder.put, self.param('take_batch'), msg_class(msgtype)
        sim = self.param('use_sim_time')
        clock = self.get_clock()
        sub = None

        def on_message(data, info):
            put(topic, data, clock.now().nanoseconds if sim else info['received_timestamp'])
            # One executor wake-up per message costs more than the message: take the backlog here.
            with sub.handle:
                for _ in range(batch):
                    taken = sub.handle.take_message(cls, True)
                    if taken is None:
                        break
                    put(topic, taken[0],
                        clock.now().nanoseconds if sim else taken[1]['received_timestamp'])

        sub = self.create_subscription(
            cls, topic, on_message, qos, raw=True, callback_group=MutuallyExclusiveCallbackGroup(),
            qos_overriding_options=QoSOverridingOptions.with_default_policies())
        self.subs[topic] = sub
        return True

    def match_publishers(self):
        """Subscribe to the topics whose first publishers have appeared, with their QoS."""
        for topic, msgtype in list(self.unmatched.items()):
            if self.subscribe(topic, msgtype):
                qos = self.subs[topic].qos_profile
                self.get_logger().info(f'{topic}: publishers appeared; subscribed '
                                       f'{qos.reliability.name.lower()}, '
                                       f'{qos.durability.name.lower()}')

    def discover(self):
        self.match_publishers()
        graph = dict(self.get_topic_names_and_types())
        for topic in list(self.pending):
            if graph.get(topic):
                self.pending.remove(topic)
                try:
                    self.subscribe(topic, graph[topic][0])
                except DilRosError as exc:
                    self.get_logger().error(f'{topic}: not recorded: {exc}')
                    continue
                self.get_logger().info(f'{topic}: found type {graph[topic][0]}')
        if not self.pending and not self.unmatched:
            self.discovery.cancel()

    def metadata(self):
        return {k: self.param(k) for k in ('task', 'operator', 'robot', 'success')}

    def reply(self, response, result):
        response.success, response.message = result
        (self.get_logger().info if result[0] else self.get_logger().warn)(result[1])
        self.publish_status()
        return response

    def on_start(self, _, response):
        ok, message = self.recorder.start(self.metadata())
        if ok and self.unmatched:   # recorded once they appear; say so rather than stay silent
            message += f'; no publishers yet on {", ".join(sorted(self.unmatched))}'
        return self.reply(response, (ok, message))

    def on_stop(self, _, response):
        return self.reply(response, self.recorder.stop(success=self.param('success')))

    def on_discard(self, _, response):
        return self.reply(response, self.recorder.discard())

    def on_set_success(self, request, response):
        return self.reply(response, self.recorder.set_success(bool(request.data)))

    def on_tick(self):
        self.recorder.max_duration_s = self.param('max_duration_s')
        event = self.recorder.tick()
        if event:
            self.get_logger().warn(event)
            self.publish_status()

    def publish_status(self):
        self.status_pub.publish(String(data=json.dumps(self.recorder.status())))

    def close(self):
        if hasattr(self, 'recorder'):  # not when the constructor failed
            self.recorder.close()

    def destroy_node(self):
        self.close()   # finish the episode being written before the node goes
        return super().destroy_node()


def _executor(node):
    threads = node.param('num_threads')
    return (SingleThreadedExecutor() if threads <= 1
            else MultiThreadedExecutor(num_threads=threads))


def main(args=None):
    return spin_node(RecorderNode, args, _executor)


if __name__ == '__main__':
    sys.exit(main())
