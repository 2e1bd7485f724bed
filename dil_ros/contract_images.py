"""Camera entries of a contract (``observation.images.<camera>``, LeRobot's naming)::

    observation.images.front:
      topic: /camera/front/image_raw
      type: sensor_msgs/msg/Image        # or sensor_msgs/msg/CompressedImage
      height: 96                         # the policy's input size; frames of any size are
      width: 96                          # resized to it
      crop: [84, 84]                     # optional: random crop in training, centre at run time
      encodings: [rgb8, bgr8]            # optional; default: DEFAULT_ENCODINGS[type]

A dataset-only camera (``dil-ros import-zarr``) gives just ``height`` and ``width``. Frames
travel as uint8 RGB ``[T, H, W, 3]`` at the camera's native size; mono8 becomes 3 channels.
A camera key takes no ``joints``, ``field``, ``fields``, ``indices`` or ``names``.
"""

from typing import Mapping, Optional

from dil_ros.contract_model import DEFAULT_ENCODINGS, IMAGE_PREFIX, ObservationSpec
from dil_ros.contract_reader import ContractReader

IMAGE_TYPES = tuple(DEFAULT_ENCODINGS)
IMAGE_KEYS = ('height', 'width', 'crop', 'encodings')


def is_image_entry(key: str, entry: Mapping) -> bool:
    """Whether a raw observation entry describes a camera (by its key or its type)."""
    return key.startswith(IMAGE_PREFIX) or entry.get('type') in IMAGE_TYPES


def image_observation(r: ContractReader, key: str, e: Mapping,
                      age: Optional[float]) -> ObservationSpec:
    """Validate one camera entry (``e`` holds only allowed keys); errors name file and key."""
    path = f'observations.{key}'
    if not key.startswith(IMAGE_PREFIX) or len(key) == len(IMAGE_PREFIX):
        raise r.fail(path, f'a {e.get("type")} key is named {IMAGE_PREFIX}<camera>')
    for bad in ('joints', 'field', 'fields', 'indices', 'names'):
        if bad in e:
            raise r.fail(f'{path}.{bad}', f"camera keys take no '{bad}' "
                                          f'(they take {", ".join(IMAGE_KEYS)})')
    has_topic = 'topic' in e or 'type' in e
    for k in ('topic', 'type') if has_topic else ():
        if k not in e:
            raise r.fail(f'{path}.{k}', 'missing required key')
    for k in ('height', 'width'):
        if k not in e:
            raise r.fail(f'{path}.{k}', "missing required key (the policy's input size)")
    height = r.positive_int(e['height'], f'{path}.height')
    width = r.positive_int(e['width'], f'{path}.width')
    crop = ()
    if 'crop' in e:
        crop = tuple(r.typed(e['crop'], f'{path}.crop', list))
        if len(crop) != 2:
            raise r.fail(f'{path}.crop', f'expected [height, width], got {list(crop)}')
        for i, (size, limit, name) in enumerate(zip(crop, (height, width),
                                                    ('height', 'width'))):
            r.positive_int(size, f'{path}.crop[{i}]')
            if size > limit:
                raise r.fail(f'{path}.crop[{i}]', f'crop {name} {size} exceeds {name} {limit}')
    if not has_topic:
        if 'encodings' in e or age is not None:
            raise r.fail(f'{path}.{"encodings" if "encodings" in e else "max_age_s"}',
                         'a camera without topic/type lists only height, width and crop')
        return ObservationSpec(key, '', '', height=height, width=width, crop=crop)
    topic = r.topic(e['topic'], f'{path}.topic')
    mtype = r.msg_type(e['type'], f'{path}.type')
    if mtype not in IMAGE_TYPES:
        raise r.fail(f'{path}.type', f'a camera key must be one of {IMAGE_TYPES}, '
                                     f'got {mtype!r}')
    allowed = DEFAULT_ENCODINGS[mtype]
    encodings = allowed
    if 'encodings' in e:
        encodings = r.names(e['encodings'], f'{path}.encodings')
        for i, enc in enumerate(encodings):
            if enc not in allowed:
                raise r.fail(f'{path}.encodings[{i}]', f'{mtype} encoding must be one of '
                                                       f'{allowed}, got {enc!r}')
    return ObservationSpec(key, topic, mtype, max_age_s=age, height=height, width=width,
                           crop=crop, encodings=encodings)
