"""The contract's observation topics as the policy node meets them (message classes only).

Which class each topic carries, which keys have a header stamp, and one message -> the value a
key stores: a low-dim vector (:func:`dil_ros.data.msg_fields.extract`) or, for a camera, a uint8
RGB frame (:func:`dil_ros.nodes.image_messages.to_rgb`).
"""
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from dil_ros.contract import Contract, ObservationSpec
from dil_ros.data.msg_fields import extract, FieldError
from dil_ros.nodes import messages
from dil_ros.nodes.image_messages import ImageError, to_rgb


class ObservationTopics:
    """``classes`` {topic: message class}, ``specs`` {topic: [ObservationSpec]} (a topic may
    feed several keys) and ``stamped`` (keys whose messages carry a header stamp)."""

    def __init__(self, contract: Contract):
        obs = contract.observations
        self.classes = {spec.topic: messages.msg_class(spec.type) for spec in obs.values()}
        self.specs: Dict[str, List[ObservationSpec]] = {
            topic: [s for s in obs.values() if s.topic == topic] for topic in self.classes}
        self.stamped = [k for k, s in obs.items()
                        if 'header' in self.classes[s.topic].get_fields_and_field_types()]


def observation_value(msg, spec: ObservationSpec) -> Tuple[Any, Optional[str]]:
    """(value for ``spec.key``, None), or (None, one line naming key/topic to hold with)."""
    try:
        if spec.is_image:
            return to_rgb(msg, spec.topic, spec.encodings), None
        return extract(msg, spec), None
    except ImageError as exc:
        return None, f'{spec.key}: {exc}; holding'
    except FieldError as exc:
        return None, f'{exc}; holding'


def zero_window(contract: Contract) -> Dict[str, np.ndarray]:
    """One window of zero observations (cameras: black uint8 frames at the policy's size)."""
    out = {k: np.zeros((contract.n_obs_steps, d)) for k, d in contract.obs_dims.items()}
    out.update({k: np.zeros((contract.n_obs_steps, *shape), np.uint8)
                for k, shape in contract.image_shapes.items()})
    return out
