"""`dil-ros import-zarr ZARR --out DATASET`: a Diffusion Policy replay buffer to LeRobot v3.0.

Writes DATASET/contract.yaml beside the data (a contract without topics), which `dil-ros train
--dataset DATASET` picks up when no --contract is given.
"""
import argparse

from dil_ros.cli.main import CliError
from dil_ros.data.zarr_import import CONTRACT_FILE, DEFAULT_FPS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('zarr', help='replay buffer: a .zarr directory or .zarr.zip')
    parser.add_argument('--out', required=True, help='dataset directory to create')
    parser.add_argument('--obs-key', action='append', default=[], metavar='ZARR_KEY=OBS_KEY',
                        help='map data/ZARR_KEY to an observation key (repeatable; default '
                             'state=observation.state); an observation.images.NAME key is a '
                             'camera (Push-T: img=observation.images.img)')
    parser.add_argument('--action-key', default='action', help='zarr key of the action array')
    parser.add_argument('--fps', type=float, default=DEFAULT_FPS,
                        help=f'frame rate of the buffer (default {DEFAULT_FPS:g}: Chi et al.\'s '
                             'Push-T)')
    parser.add_argument('--task', default='', help='task text stored with every episode')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing dataset')


def parse_obs_keys(items) -> dict:
    mapping = {}
    for item in items:
        zkey, sep, okey = item.partition('=')
        if not sep or not zkey or not okey.startswith('observation.'):
            raise CliError(f'--obs-key {item!r}: expected ZARR_KEY=observation.NAME')
        mapping[zkey] = okey
    return mapping


def run(args: argparse.Namespace) -> int:
    from dil_ros.data.lerobot import read_dataset
    from dil_ros.data.zarr_import import import_zarr
    if args.fps <= 0:
        raise CliError(f'--fps must be > 0, got {args.fps}')
    out = import_zarr(args.zarr, args.out, parse_obs_keys(args.obs_key) or None,
                      args.action_key, args.fps, args.task, args.overwrite)
    ds = read_dataset(out, images=False)   # the summary needs no decoded frames
    cameras = [k for k, ft in ds.features.items() if ft.get('dtype') == 'video']
    print(f'{out}: {len(ds.episodes)} episodes, {ds.num_frames} frames at {ds.fps:g} fps, keys '
          f'{", ".join(ds.obs_keys + cameras)} + action')
    print(f'contract: {out / CONTRACT_FILE} (used by `dil-ros train --dataset {out}`)')
    return 0
