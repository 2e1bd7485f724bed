"""compute_stats: per-dimension min/max/mean/std/count, constant dimensions included."""
import numpy as np
import pytest

from dil_ros.data.episode import Episode, EpisodeError
from dil_ros.data.stats import compute_stats


def test_stats_over_all_frames_with_constant_dim():
    a = Episode({'observation.state': [[1, 5], [3, 5]]}, action=[[0.0], [2.0]], timestamps=[0, .1])
    b = Episode({'observation.state': [[5, 5]]}, action=[[4.0]], timestamps=[0])
    stats = compute_stats([a, b])
    s = stats['observation.state']
    assert s['min'].tolist() == [1, 5] and s['max'].tolist() == [5, 5]
    np.testing.assert_allclose(s['mean'], [3, 5])
    np.testing.assert_allclose(s['std'], [np.std([1, 3, 5]), 0.0])
    assert s['count'].tolist() == [3]
    np.testing.assert_allclose(stats['action']['mean'], [2.0])


def test_episode_validates_lengths():
    with pytest.raises(EpisodeError, match='observation.state'):
        Episode({'observation.state': np.zeros((3, 2))}, action=np.zeros((4, 1)),
                timestamps=np.arange(4))
    with pytest.raises(EpisodeError, match='timestamps'):
        Episode({'observation.state': np.zeros((4, 2))}, action=np.zeros((4, 1)),
                timestamps=np.arange(3))


def test_quantiles_as_lerobot_names_them(tmp_path):
    """stats.json and each episode's stats carry q01/q10/q50/q90/q99 (LeRobot 0.4's names)."""
    import json

    import pyarrow.parquet as pq

    from dil_ros.data.lerobot import write_dataset
    values = np.arange(101, dtype=np.float32).reshape(-1, 1)   # 0..100: q-th quantile == q*100
    eps = [Episode({'observation.state': np.hstack([values, -values])}, action=values[::-1],
                   timestamps=np.arange(101) / 10)]
    root = write_dataset(tmp_path / 'ds', eps, fps=10)
    stats = json.loads((root / 'meta/stats.json').read_text())
    for name, q in (('q01', 1), ('q10', 10), ('q50', 50), ('q90', 90), ('q99', 99)):
        np.testing.assert_allclose(stats['observation.state'][name], [q, q - 100], err_msg=name)
        np.testing.assert_allclose(stats['action'][name], [q], err_msg=name)
    episodes = pq.read_table(next((root / 'meta/episodes').rglob('*.parquet'))).to_pylist()
    assert episodes[0]['stats/action/q90'] == [90.0]
