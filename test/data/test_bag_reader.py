"""Opening a bag: errors give the real cause; one file of a split bag is read with a warning."""
import shutil

import pytest
import yaml

from dil_ros.data.bag_reader import BagError, read_bag
from dil_ros.data.convert import bag_to_episode

INFO = 'rosbag2_bagfile_information'


def _edit_metadata(bag, edit):
    path = bag / 'metadata.yaml'
    data = yaml.safe_load(path.read_text())
    edit(data[INFO])
    path.write_text(yaml.safe_dump(data))


def test_missing_storage_file_is_named(tmp_path, bags, arm, contract):
    bag = bags.write(tmp_path / 'bag', arm.messages(seconds=1.0))
    (bag / 'bag.mcap').unlink()
    with pytest.raises(BagError) as err:
        read_bag(bag, contract)
    assert str(err.value) == (f'{bag}: cannot open bag: bag.mcap named in metadata.yaml is '
                              'missing')


def test_unsupported_serialization_format_is_named(tmp_path, bags, arm, contract):
    bag = bags.write(tmp_path / 'bag', arm.messages(seconds=1.0))

    def protobuf(info):
        for entry in info['topics_with_message_count']:
            if entry['topic_metadata']['name'] == '/task/goal':
                entry['topic_metadata']['serialization_format'] = 'protobuf'
    _edit_metadata(bag, protobuf)
    with pytest.raises(BagError) as err:
        read_bag(bag, contract)
    assert str(err.value) == (f'{bag}: cannot open bag: topic /task/goal is stored in '
                              "serialization format 'protobuf'; only cdr is supported")


def test_one_file_of_a_split_bag_warns_and_names_the_folder(tmp_path, bags, arm, contract):
    """A bag split in two files (as ``ros2 bag record --max-bag-duration`` leaves it)."""
    msgs = sorted(arm.messages(seconds=2.0), key=lambda m: m[2])
    half = arm.t0_ns + 1_000_000_000
    first = bags.write(tmp_path / 'first', [m for m in msgs if m[2] < half],
                       custom={'task': 'reach'})
    second = bags.write(tmp_path / 'second', [m for m in msgs if m[2] >= half])
    split = tmp_path / 'split'
    split.mkdir()
    shutil.copy(first / 'first.mcap', split / 'split_0.mcap')
    shutil.copy(second / 'second.mcap', split / 'split_1.mcap')
    shutil.copy(first / 'metadata.yaml', split / 'metadata.yaml')
    files = ['split_0.mcap', 'split_1.mcap']

    def two_files(info):
        info['relative_file_paths'] = files
        info['files'] = [dict(info['files'][0], path=f) for f in files]
        for entry in info['topics_with_message_count']:
            entry['message_count'] = sum(1 for m in msgs if m[0] ==
                                         entry['topic_metadata']['name'])
        info['message_count'] = len(msgs)
    _edit_metadata(split, two_files)

    whole = read_bag(split, contract)
    assert whole.message_count == len(msgs) and whole.warnings == []
    part = read_bag(split / 'split_0.mcap', contract)
    assert part.message_count == sum(1 for m in msgs if m[2] < half)
    assert part.custom_data == {'task': 'reach'}
    expected = (f'one of the 2 files of the bag {split}; only this file was read: pass the '
                f'folder {split} instead')
    assert part.warnings == [expected]
    assert expected in bag_to_episode(split / 'split_0.mcap', contract)[1]
    assert read_bag(first / 'first.mcap', contract).warnings == []  # a one-file bag: no warning
