"""Does a dataset fit the contract a policy is trained for? Checked before any data is read.

* frame rate: the dataset's ``fps`` must equal the contract's ``rate_hz`` (a 30 fps dataset
  trained for a 10 Hz contract would run three times too slowly on the robot);
* keys: every observation key of the contract is a dataset feature of the same dimension, and so
  is ``action``;
* names: where both the dataset feature and the contract name each dimension (joints, message
  fields), the names agree in order;
* cameras: every camera key of the contract is a video feature of shape [height, width, 3] (RGB
  frames at the camera's native size; the policy resizes them to the contract's height/width,
  so the sizes need not agree, but the frames must at least hold the contract's crop).

Dataset features the contract does not name (other cameras, extra state) are not read. Every
problem is one line naming the dataset, the key and both values.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional

from dil_ros.contract import Contract
from dil_ros.data import lerobot_format as fmt
from dil_ros.errors import DilRosError

RATE_TOLERANCE = 1e-6


class DatasetContractError(DilRosError, ValueError):
    """A dataset does not fit the contract; names the dataset, the key and both values."""


def check_dataset_fits(contract: Contract, root: Path, info: Dict[str, Any]) -> None:
    """Raise DatasetContractError unless the dataset at ``root`` (its info.json) fits."""
    where = f'{root}'
    versus = f'contract {contract.source}'
    fps = float(info['fps'])
    if abs(fps - contract.rate_hz) > RATE_TOLERANCE * max(1.0, contract.rate_hz):
        raise DatasetContractError(
            f'{where}: fps {fps:g} but {versus} has rate_hz {contract.rate_hz:g} (a policy '
            f'trained on it would run {fps / contract.rate_hz:.3g}x too slow or fast); convert '
            'the data at the contract\'s rate or fix rate_hz')
    features = info['features']
    for key in contract.image_keys:
        _check_camera(contract, key, features.get(key), where, versus)
    expected = {key: (spec.dim, _names(spec)) for key, spec in contract.observations.items()
                if not spec.is_image}
    expected['action'] = (contract.action_dim, list(contract.action.joints) or None)
    for key, (dim, names) in expected.items():
        feature = features.get(key)
        if feature is None:
            have = [k for k in features if k.startswith('observation.')]
            raise DatasetContractError(f'{where}: no feature {key!r}, which {versus} needs '
                                       f'(dataset observation keys: {have})')
        if feature.get('dtype') in fmt.VISUAL_DTYPES:
            raise DatasetContractError(f'{where}: {key} is a {feature["dtype"]} feature; '
                                       f'{versus} needs a {dim}-D vector')
        got = fmt.feature_dim(feature)
        if got != dim:
            raise DatasetContractError(f'{where}: {key} has dimension {got} in the dataset, '
                                       f'{dim} in {versus}')
        got_names = fmt.feature_names(feature)
        if names and got_names and [str(n) for n in got_names] != list(names):
            order = ' (same names, other order)' if sorted(map(str, got_names)) == \
                sorted(names) else ''
            raise DatasetContractError(f'{where}: {key} names {got_names} in the dataset, '
                                       f'{list(names)} in {versus}{order}')


def _check_camera(contract: Contract, key: str, feature: Optional[Dict[str, Any]], where: str,
                  versus: str) -> None:
    spec = contract.observations[key]
    if feature is None:
        raise DatasetContractError(f'{where}: no feature {key!r}, which {versus} needs (a '
                                   f'{spec.height}x{spec.width} camera)')
    if feature.get('dtype') != 'video':
        raise DatasetContractError(f'{where}: {key} is a {feature.get("dtype")!r} feature; '
                                   f'{versus} needs a camera (a video feature)')
    shape = [int(s) for s in feature.get('shape') or []]
    if len(shape) != 3 or shape[2] != 3 or min(shape) < 1:
        raise DatasetContractError(f'{where}: {key} has shape {shape} in the dataset; a camera '
                                   f'is [height, width, 3] (RGB)')
    need = spec.crop or (1, 1)
    if shape[0] < need[0] or shape[1] < need[1]:
        raise DatasetContractError(f'{where}: {key} frames are {shape[0]}x{shape[1]} in the '
                                   f'dataset, smaller than the crop {need[0]}x{need[1]} in '
                                   f'{versus}')


def _names(spec) -> Optional[List[str]]:
    names = list(getattr(spec, 'names', None) or [])
    return names or None
