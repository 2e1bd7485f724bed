"""Does a dataset fit the contract a policy is trained for? Checked before any data is read.

* frame rate: the dataset's ``fps`` must equal the contract's ``rate_hz`` (a 30 fps dataset
  trained for a 10 Hz contract would run three times too slowly on the robot);
* keys: every observation key of the contract is a dataset feature of the same dimension, and so
  is ``action``;
* names: where both the dataset feature and the contract name each dimension (joints, message
  fields), the names agree in order.

Dataset features the contract does not name (cameras, extra state) are not read. Every problem is
one line naming the dataset, the key and both values.
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
    expected = {key: (spec.dim, _names(spec)) for key, spec in contract.observations.items()}
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


def _names(spec) -> Optional[List[str]]:
    names = list(getattr(spec, 'names', None) or [])
    return names or None
