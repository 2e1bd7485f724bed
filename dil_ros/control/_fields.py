"""Minimal stand-in for dil_ros.data.msg_fields (used only where that module is absent)."""
import re

import numpy as np

from dil_ros.data.contract import JOINT_STATE, ObservationSpec
from dil_ros.errors import DilRosError


class FieldError(DilRosError, ValueError):
    """A message lacks a joint or field the contract names."""


def extract(msg, spec: ObservationSpec) -> np.ndarray:
    if spec.type == JOINT_STATE:
        index = {name: i for i, name in enumerate(msg.name)}
        values = getattr(msg, spec.field)
        out = []
        for joint in spec.joints:
            i = index.get(joint)
            if i is None or i >= len(values):
                raise FieldError(f'{spec.topic}: joint {joint!r} missing from {spec.field} '
                                 f'(message names: {list(msg.name)})')
            out.append(values[i])
        return np.asarray(out, dtype=np.float64)
    out = []
    for path in spec.fields:
        value = msg
        for part in path.split('.'):
            m = re.fullmatch(r'(\w+)(?:\[(\d+)\])?', part)
            try:
                value = getattr(value, m.group(1))
                if m.group(2) is not None:
                    value = value[int(m.group(2))]
            except (AttributeError, IndexError, TypeError):
                raise FieldError(f'{spec.topic}: field {path!r} not in {type(msg).__name__}') \
                    from None
        out.append(float(value))
    return np.asarray(out, dtype=np.float64)
