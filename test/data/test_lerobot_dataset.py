"""LeRobot v3.0 write/read: round trip, on-disk schema as LeRobot writes it, clear errors."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dil_ros.data.lerobot import DatasetError, read_dataset, write_dataset
from dil_ros.errors import DilRosError

NAMES = {'observation.state': ['a', 'b', 'c'], 'action': ['a', 'b', 'c']}


def test_round_trip_equal(tmp_path, episodes):
    root = write_dataset(tmp_path / 'ds', episodes, fps=10, names=NAMES, robot_type='arm')
    ds = read_dataset(root)
    assert ds.fps == 10.0
    assert ds.obs_keys == ['observation.state', 'observation.environment_state']
    assert ds.obs_dims == {'observation.state': 3, 'observation.environment_state': 3}
    assert ds.action_dim == 3 and ds.names('action') == ['a', 'b', 'c']
    assert len(ds.episodes) == 3
    for got, want in zip(ds.episodes, episodes):
        for key in want.observations:
            np.testing.assert_array_equal(got.observations[key], want.observations[key])
        np.testing.assert_array_equal(got.action, want.action)
        np.testing.assert_allclose(got.timestamps, want.timestamps, atol=1e-6)
        assert got.task == want.task and got.metadata == want.metadata
    assert ds.tasks == ['reach', 'push']
    all_actions = np.concatenate([ep.action for ep in episodes])
    np.testing.assert_allclose(ds.stats['action']['mean'], all_actions.mean(0), rtol=1e-6)
    assert ds.stats['action']['count'].tolist() == [39]


def test_schema_as_lerobot_writes_it(tmp_path, episodes):
    root = write_dataset(tmp_path / 'ds', episodes, fps=10, names=NAMES)
    info = json.loads((root / 'meta/info.json').read_text())
    assert info['codebase_version'] == 'v3.0'
    assert info['data_path'] == 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet'
    assert info['total_episodes'] == 3 and info['total_frames'] == 39
    assert info['total_tasks'] == 2 and info['splits'] == {'train': '0:3'}
    assert info['chunks_size'] == 1000 and info['fps'] == 10 and info['video_path'] is None
    assert info['features']['observation.state'] == {'dtype': 'float32', 'shape': [3],
                                                     'names': ['a', 'b', 'c']}
    assert info['features']['timestamp'] == {'dtype': 'float32', 'shape': [1], 'names': None}

    schema = pq.read_schema(root / 'data/chunk-000/file-000.parquet')
    assert schema.field('observation.state').type == pa.list_(pa.float32(), 3)
    assert schema.field('action').type == pa.list_(pa.float32(), 3)
    assert schema.field('timestamp').type == pa.float32()
    for col in ('frame_index', 'episode_index', 'index', 'task_index'):
        assert schema.field(col).type == pa.int64()
    hf = json.loads(schema.metadata[b'huggingface'])['info']['features']
    assert hf['action'] == {'feature': {'dtype': 'float32', '_type': 'Value'}, 'length': 3,
                            '_type': 'Sequence'}

    eps = pq.read_table(root / 'meta/episodes/chunk-000/file-000.parquet')
    for col in ('episode_index', 'tasks', 'length', 'dataset_from_index', 'dataset_to_index',
                'data/chunk_index', 'data/file_index', 'stats/action/mean'):
        assert col in eps.column_names
    assert eps['dataset_from_index'].to_pylist() == [0, 12, 19]
    assert eps['dataset_to_index'].to_pylist() == [12, 19, 39]
    assert eps['tasks'].to_pylist() == [['reach'], ['push'], ['reach']]

    tasks = pq.read_table(root / 'meta/tasks.parquet')
    assert json.loads(tasks.schema.metadata[b'pandas'])['index_columns'] == ['task']
    assert tasks['task'].to_pylist() == ['reach', 'push']
    stats = json.loads((root / 'meta/stats.json').read_text())
    assert set(stats['action']) == {'min', 'max', 'mean', 'std', 'count', 'q01', 'q10', 'q50',
                                    'q90', 'q99'}


def test_several_data_files_and_fingerprint(tmp_path, episodes):
    a = write_dataset(tmp_path / 'a', episodes, fps=10, data_file_size_mb=0.0001)
    files = sorted(p.relative_to(a).as_posix() for p in (a / 'data').rglob('*.parquet'))
    assert len(files) == 3
    ds = read_dataset(a)
    np.testing.assert_array_equal(ds.episodes[2].action, episodes[2].action)
    b = write_dataset(tmp_path / 'b', episodes, fps=10, data_file_size_mb=0.0001)
    assert read_dataset(b).fingerprint == ds.fingerprint
    c = write_dataset(tmp_path / 'c', episodes[:2], fps=10)
    assert read_dataset(c).fingerprint != ds.fingerprint


def test_one_dim_feature_is_a_scalar_column(tmp_path, episode_factory):
    ep = episode_factory(5, env_dim=1)
    root = write_dataset(tmp_path / 'ds', [ep], fps=5)
    schema = pq.read_schema(root / 'data/chunk-000/file-000.parquet')
    assert schema.field('observation.environment_state').type == pa.float32()
    got = read_dataset(root).episodes[0].observations['observation.environment_state']
    np.testing.assert_array_equal(got, ep.observations['observation.environment_state'])


def test_refuses_to_overwrite(tmp_path, episodes):
    root = write_dataset(tmp_path / 'ds', episodes, fps=10)
    with pytest.raises(DatasetError, match='already exists'):
        write_dataset(root, episodes, fps=10)
    write_dataset(root, episodes[:1], fps=10, overwrite=True)
    assert len(read_dataset(root).episodes) == 1
    assert [p.name for p in tmp_path.iterdir()] == ['ds']  # no temp dirs left behind


def test_image_features_are_skipped_and_videos_need_their_columns(tmp_path, episodes):
    """LeRobot datasets with cameras: PNG image features are skipped; a video feature is read
    (test_lerobot_video.py) and names the episode column it lacks; images=False skips it."""
    root = write_dataset(tmp_path / 'ds', episodes, fps=10)
    info_path = root / 'meta/info.json'
    info = json.loads(info_path.read_text())
    info['features']['observation.images.top'] = {'dtype': 'video', 'shape': [96, 96, 3],
                                                  'names': ['height', 'width', 'channels']}
    info['features']['observation.images.wrist'] = {'dtype': 'image', 'shape': [8, 8, 3],
                                                    'names': ['height', 'width', 'channels']}
    info_path.write_text(json.dumps(info))
    data = next((root / 'data').rglob('*.parquet'))    # image features live in the data file
    table = pq.read_table(data)
    image = pa.array([{'bytes': b'png', 'path': None}] * len(table),
                     pa.struct([('bytes', pa.binary()), ('path', pa.string())]))
    pq.write_table(table.append_column('observation.images.wrist', image), data)
    ds = read_dataset(root, images=False)
    assert sorted(ds.obs_keys) == ['observation.environment_state', 'observation.state']
    np.testing.assert_array_equal(ds.episodes[1].observations['observation.state'],
                                  episodes[1].observations['observation.state'])
    assert read_dataset(root, keys=['observation.state']).obs_keys == ['observation.state']
    with pytest.raises(DatasetError, match="episode 0: missing column "
                                           "'videos/observation.images.top/chunk_index'"):
        read_dataset(root)
    with pytest.raises(DatasetError, match='observation.images.wrist.*PNG frames'):
        read_dataset(root, keys=['observation.images.wrist'])
    for key in ('observation.state', 'observation.environment_state'):
        del info['features'][key]
    info_path.write_text(json.dumps(info))
    with pytest.raises(DatasetError, match='no observation.* features to read; skipped: '
                                           'observation.images.top'):
        read_dataset(root, images=False)


@pytest.mark.parametrize('damage', ['missing', 'corrupt', 'old_version'])
def test_broken_info_json_names_the_file(tmp_path, episodes, damage):
    root = write_dataset(tmp_path / 'ds', episodes, fps=10)
    info_path = root / 'meta/info.json'
    if damage == 'missing':
        info_path.unlink()
    elif damage == 'corrupt':
        info_path.write_text('{"codebase_version": "v3.0", ')
    else:
        info_path.write_text(json.dumps({'codebase_version': 'v2.1', 'fps': 10,
                                         'features': {'action': {}}}))
    with pytest.raises(DilRosError, match='meta/info.json'):
        read_dataset(root)


def test_missing_or_corrupt_data_file_names_the_file(tmp_path, episodes):
    root = write_dataset(tmp_path / 'ds', episodes, fps=10)
    data = root / 'data/chunk-000/file-000.parquet'
    data.write_bytes(b'not parquet')
    with pytest.raises(DatasetError, match='file-000.parquet'):
        read_dataset(root)
    data.unlink()
    with pytest.raises(DatasetError, match='file-000.parquet'):
        read_dataset(root)
    with pytest.raises(DatasetError, match='not found'):
        read_dataset(tmp_path / 'nope')


def test_stats_computed_when_stats_json_absent(tmp_path, episodes):
    root = write_dataset(tmp_path / 'ds', episodes, fps=10)
    (root / 'meta/stats.json').unlink()
    ds = read_dataset(root)
    np.testing.assert_allclose(ds.stats['observation.state']['max'],
                               np.concatenate([e.observations['observation.state']
                                               for e in episodes]).max(0))


def test_reads_a_lerobot_written_layout(tmp_path):
    """The variants LeRobot's own datasets use: list columns, tasks as an unnamed pandas index,
    names as {'motors': [...]}, episodes spread over two chunks, no stats.json."""
    root = tmp_path / 'pusht'
    feats = {'observation.state': {'dtype': 'float32', 'shape': [2],
                                   'names': {'motors': ['x', 'y']}},
             'action': {'dtype': 'float32', 'shape': [2], 'names': {'motors': ['x', 'y']}},
             'next.reward': {'dtype': 'float32', 'shape': [1], 'names': None}}
    feats.update({k: {'dtype': 'float32' if k == 'timestamp' else 'int64', 'shape': [1],
                      'names': None}
                  for k in ('timestamp', 'frame_index', 'episode_index', 'index', 'task_index')})
    info = {'codebase_version': 'v3.0', 'robot_type': None, 'total_episodes': 2,
            'total_frames': 5, 'total_tasks': 1, 'chunks_size': 1, 'fps': 10,
            'data_path': 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet',
            'video_path': None, 'features': feats, 'splits': {'train': '0:2'}}
    (root / 'meta/episodes/chunk-000').mkdir(parents=True)
    (root / 'meta/info.json').write_text(json.dumps(info))
    pq.write_table(pa.table({'task_index': [0], '__index_level_0__': ['Push the T']}),
                   root / 'meta/tasks.parquet')
    pq.write_table(pa.table({'episode_index': [0, 1], 'tasks': [['Push the T']] * 2,
                             'length': [3, 2], 'data/chunk_index': [0, 1],
                             'data/file_index': [0, 0], 'dataset_from_index': [0, 3],
                             'dataset_to_index': [3, 5]}),
                   root / 'meta/episodes/chunk-000/file-000.parquet')
    for chunk, (ep, rows) in enumerate([(0, range(3)), (1, range(3, 5))]):
        n = len(rows)
        path = root / f'data/chunk-{chunk:03d}/file-000.parquet'
        path.parent.mkdir(parents=True)
        pq.write_table(pa.table({
            'observation.state': pa.array([[float(i), -float(i)] for i in rows],
                                          pa.list_(pa.float32())),
            'action': pa.array([[float(i) * 2, 0.0] for i in rows], pa.list_(pa.float32())),
            'next.reward': pa.array([0.0] * n, pa.float32()),
            'timestamp': pa.array(np.arange(n) / 10, pa.float32()),
            'frame_index': pa.array(range(n), pa.int64()),
            'episode_index': pa.array([ep] * n, pa.int64()),
            'index': pa.array(rows, pa.int64()),
            'task_index': pa.array([0] * n, pa.int64())}), path)
    ds = read_dataset(root)
    assert ds.obs_keys == ['observation.state'] and ds.names('action') == ['x', 'y']
    assert [len(ep) for ep in ds.episodes] == [3, 2]
    np.testing.assert_array_equal(ds.episodes[1].observations['observation.state'],
                                  [[3, -3], [4, -4]])
    assert ds.episodes[1].task == 'Push the T'
    np.testing.assert_allclose(ds.stats['action']['max'], [8, 0])
