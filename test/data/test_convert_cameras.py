"""dil-ros convert with cameras: frames picked on the grid by index, decoded, stored as video."""
import io

import numpy as np
import pytest

from dil_ros.contract import contract_from_mapping
from dil_ros.data.bag_reader import BagError
from dil_ros.data.convert import bag_to_episode, convert_bags, ConvertOptions
from dil_ros.data.lerobot import read_dataset

IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED = 'sensor_msgs/msg/CompressedImage'
FRONT, WRIST = 'observation.images.front', 'observation.images.wrist'
H, W = 24, 32


def pixels(value):
    """An RGB frame whose red channel is ``value`` (which frame it is) and G/B a pattern."""
    y, x = np.mgrid[0:H, 0:W]
    return np.stack([np.full((H, W), value), y * 8, x * 6], -1).astype(np.uint8)


def image_msg(bags, t_ns, rgb, encoding='bgr8'):
    data = {'bgr8': rgb[:, :, ::-1], 'rgb8': rgb, 'mono8': rgb[:, :, :1]}[encoding]
    channels = data.shape[2]
    padded = np.zeros((H, W * channels + 2), np.uint8)          # rows padded: step > width
    padded[:, :W * channels] = data.reshape(H, -1)
    return bags.T[IMAGE](header=bags.header(t_ns), height=H, width=W, encoding=encoding,
                         is_bigendian=0, step=W * channels + 2, data=padded.reshape(-1))


def png_msg(bags, t_ns, rgb):
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format='PNG')
    return bags.T[COMPRESSED](header=bags.header(t_ns), format='png',
                              data=np.frombuffer(buf.getvalue(), np.uint8))


def camera_messages(bags, arm, front_hz=30, wrist_hz=15, phase_s=0.013, seconds=3.0,
                    front=lambda k: pixels(k), encoding='bgr8'):
    msgs = arm.messages(seconds=seconds)
    stamps = {'front': [], 'wrist': []}
    for k in range(int(seconds * front_hz)):
        t_ns = arm.t0_ns + round((k / front_hz + phase_s) * 1e9)
        stamps['front'].append(t_ns)
        msgs.append(('/camera/front/image_raw', IMAGE, t_ns,
                     image_msg(bags, t_ns, front(k), encoding)))
    for k in range(int(seconds * wrist_hz)):
        t_ns = arm.t0_ns + round((k / wrist_hz) * 1e9)
        stamps['wrist'].append(t_ns)
        msgs.append(('/camera/wrist/compressed', COMPRESSED, t_ns,
                     png_msg(bags, t_ns, pixels(100 + k))))
    return msgs, {k: np.array(v) for k, v in stamps.items()}


def camera_contract(contract, sampling='previous', encodings=None):
    mapping = contract.to_mapping()
    mapping['sampling'] = sampling
    mapping['observations'][FRONT] = {'topic': '/camera/front/image_raw', 'type': IMAGE,
                                      'height': 96, 'width': 96}
    if encodings:
        mapping['observations'][FRONT]['encodings'] = encodings
    mapping['observations'][WRIST] = {'topic': '/camera/wrist/compressed', 'type': COMPRESSED,
                                      'height': 96, 'width': 96, 'crop': [84, 84]}
    return contract_from_mapping(mapping)


def newest_at_or_before(stamps, instants):
    return np.array([max(k for k, s in enumerate(stamps) if s <= t) for t in instants])


@pytest.mark.parametrize('sampling', ['previous', 'linear'])
def test_each_grid_instant_takes_the_newest_frame_never_a_blend(tmp_path, bags, arm,
                                                                contract, sampling):
    msgs, stamps = camera_messages(bags, arm)
    bag = bags.write(tmp_path / 'bag', msgs)
    ep, warnings, _ = bag_to_episode(bag, camera_contract(contract, sampling))
    instants = ep.metadata['start_time_ns'] + np.round(ep.timestamps * 1e9).astype(np.int64)
    front, wrist = ep.observations[FRONT], ep.observations[WRIST]
    assert front.dtype == np.uint8 and front.shape == (len(ep), H, W, 3)   # native size
    # The grid starts once every topic has begun: the first front frame (t = 0.013 s).
    assert instants[0] == stamps['front'][0]
    np.testing.assert_array_equal(front[:, 0, 0, 0],
                                  newest_at_or_before(stamps['front'], instants))
    np.testing.assert_array_equal(wrist[:, 0, 0, 0],
                                  100 + newest_at_or_before(stamps['wrist'], instants))
    np.testing.assert_array_equal(front[5], pixels(front[5, 0, 0, 0]))  # bgr8 read as RGB
    np.testing.assert_array_equal(wrist[5], pixels(wrist[5, 0, 0, 0]))


def test_mono8_becomes_three_equal_channels(tmp_path, bags, arm, contract):
    msgs, _ = camera_messages(bags, arm, encoding='mono8')
    ep, _, _ = bag_to_episode(bags.write(tmp_path / 'bag', msgs), camera_contract(contract))
    frame = ep.observations[FRONT][3]
    assert frame.shape == (H, W, 3)
    np.testing.assert_array_equal(frame[:, :, 0], frame[:, :, 2])


def test_dataset_holds_the_frames_as_video(tmp_path, bags, arm, contract):
    msgs, _ = camera_messages(bags, arm)
    bag = bags.write(tmp_path / 'bag', msgs)
    c = camera_contract(contract)
    want, _, _ = bag_to_episode(bag, c)
    report = convert_bags([bag], c, tmp_path / 'ds', ConvertOptions(on_jump='keep'),
                          progress=False)    # the test signals' action is twice the state
    assert report.out is not None and not report.skipped
    assert not list(tmp_path.glob('.ds.frames-*'))           # the frame files are gone
    ds = read_dataset(tmp_path / 'ds')
    assert ds.image_shapes == {FRONT: (H, W, 3), WRIST: (H, W, 3)}
    assert ds.obs_dims == {'observation.state': 3, 'observation.environment_state': 3}
    got = ds.episodes[0]
    for key in (FRONT, WRIST):
        error = np.abs(got.observations[key].astype(int) - want.observations[key]).mean()
        assert error < 4.0, (key, error)      # lossy AV1 (CRF 30); measured ~1.5
    np.testing.assert_array_equal(got.observations['observation.state'],
                                  want.observations['observation.state'])


def test_an_encoding_the_contract_does_not_accept_names_bag_and_topic(tmp_path, bags, arm,
                                                                      contract):
    msgs, _ = camera_messages(bags, arm)
    bag = bags.write(tmp_path / 'bag', msgs)
    with pytest.raises(BagError, match=r"bag: /camera/front/image_raw: encoding 'bgr8' not "
                                       r'accepted \(expected one of rgb8\)'):
        bag_to_episode(bag, camera_contract(contract, encodings=['rgb8']))


def test_a_camera_that_changes_size_names_the_topic(tmp_path, bags, arm, contract):
    def front(k):
        frame = pixels(k)
        return frame if k < 40 else np.zeros((H, W, 3), np.uint8)
    msgs, _ = camera_messages(bags, arm, front=front)
    for i, (topic, mtype, t_ns, msg) in enumerate(msgs):
        if topic == '/camera/front/image_raw' and t_ns > arm.t0_ns + 2 * 10**9:
            small = bags.T[IMAGE](header=msg.header, height=4, width=W, encoding='rgb8',
                                  is_bigendian=0, step=W * 3, data=np.zeros(4 * W * 3, np.uint8))
            msgs[i] = (topic, mtype, t_ns, small)
    bag = bags.write(tmp_path / 'bag', msgs)
    with pytest.raises(BagError, match=r'bag: topic /camera/front/image_raw: frame \d+ is 32x4, '
                                       r'earlier frames 32x24 \(one size per camera\)'):
        bag_to_episode(bag, camera_contract(contract))
