"""Chi et al.'s image encoder: ResNet-18 with GroupNorm and a spatial-softmax head.

diffusion_policy (``get_resnet('resnet18')`` + ``replace_bn_with_gn`` + robomimic's
``SpatialSoftmax``) takes torchvision's ResNet-18, swaps every BatchNorm for
``GroupNorm(num_groups=channels // 16)`` (BatchNorm's running statistics interact badly with the
EMA of the weights), drops the global average pool and the classifier, and reads the last feature
map [N, 512, h/32, w/32] as 32 keypoints: a 1x1 conv to 32 maps, a softmax over each map's pixels,
the expected (x, y) of each -> [N, 64], then a Linear to ``feature_dim``.

The network is written out here (the same layer names as torchvision's, so a torchvision
state dict loads by name) because torchvision does not import in our environment. ``base_width``
scales every stage (64 is ResNet-18; 16 is a CPU-sized variant with 1/16 of the weights). With
``norm='batch'`` and ``head='classifier'`` it *is* torchvision's ResNet-18 (11,689,512
parameters, test/policy/test_vision_encoder.py checks the count and every stage's shape).
"""

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from dil_ros.policy.config import PolicyError

NORMS = ('group', 'batch')
HEADS = ('spatial_softmax', 'classifier')
GROUP_SIZE = 16     # Chi: GroupNorm(num_groups=num_features // 16)
MIN_INPUT = 33      # smallest input size with a 2x2 feature map after the stride-32 trunk


@dataclass(frozen=True)
class VisionConfig:
    """The image encoder of a policy with cameras (ignored by a state-only policy)."""

    base_width: int = 64          # ResNet-18: 64; a CPU preset: 16
    num_keypoints: int = 32       # spatial-softmax keypoints (Chi: 32)
    feature_dim: int = 64         # per camera, after the Linear (Chi: 64)
    share_encoder: bool = False   # one encoder for every camera (Chi: one per camera)
    weights: str = ''             # optional local torchvision-style ResNet-18 state dict
    source: str = field(default='<vision config>', compare=False)

    def __post_init__(self):
        for name in ('base_width', 'num_keypoints', 'feature_dim'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PolicyError(f'{self.source}: {name}: expected a positive int, '
                                  f'got {value!r}')
        if self.base_width % GROUP_SIZE:
            raise PolicyError(f'{self.source}: base_width: {self.base_width} is not a multiple '
                              f'of {GROUP_SIZE} (GroupNorm uses channels // {GROUP_SIZE} groups)')
        if not isinstance(self.share_encoder, bool):
            raise PolicyError(f'{self.source}: share_encoder: expected true/false, '
                              f'got {self.share_encoder!r}')
        if not isinstance(self.weights, str):
            raise PolicyError(f'{self.source}: weights: expected a file path, '
                              f'got {self.weights!r}')

    def to_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        out.pop('source')
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = '<vision config>'
                  ) -> 'VisionConfig':
        if not isinstance(data, Mapping):
            raise PolicyError(f'{source}: expected a mapping, got {type(data).__name__}')
        allowed = [k for k in cls.__dataclass_fields__ if k != 'source']
        for key in data:
            if key not in allowed:
                raise PolicyError(f'{source}: {key}: unknown key (allowed: {", ".join(allowed)})')
        return cls(**dict(data), source=source)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == 'group':
        return nn.GroupNorm(channels // GROUP_SIZE, channels)
    return nn.BatchNorm2d(channels)


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock: two 3x3 convs and a (projected) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = _norm(norm, out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = _norm(norm, out_ch)
        self.downsample = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False),
                                            _norm(norm, out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.downsample(x))


class ResNet18(nn.Module):
    """ResNet-18 trunk [N, 3, H, W] -> [N, 8 * base_width, H/32, W/32] (rounded up).

    ``head='classifier'`` adds torchvision's global average pool and ``fc`` to 1000 classes.
    """

    def __init__(self, base_width: int = 64, norm: str = 'group', head: str = 'none',
                 num_classes: int = 1000):
        super().__init__()
        if norm not in NORMS:
            raise PolicyError(f'ResNet18: norm: expected one of {NORMS}, got {norm!r}')
        w = base_width
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = _norm(norm, w)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [w, 2 * w, 4 * w, 8 * w]
        self.layer1 = nn.Sequential(BasicBlock(w, w, 1, norm), BasicBlock(w, w, 1, norm))
        self.layer2 = nn.Sequential(BasicBlock(w, widths[1], 2, norm),
                                    BasicBlock(widths[1], widths[1], 1, norm))
        self.layer3 = nn.Sequential(BasicBlock(widths[1], widths[2], 2, norm),
                                    BasicBlock(widths[2], widths[2], 1, norm))
        self.layer4 = nn.Sequential(BasicBlock(widths[2], widths[3], 2, norm),
                                    BasicBlock(widths[3], widths[3], 1, norm))
        self.out_channels = widths[3]
        self.classify = head == 'classifier'
        self.fc = nn.Linear(widths[3], num_classes) if self.classify else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        if self.classify:
            x = self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
        return x


class SpatialSoftmax(nn.Module):
    """robomimic's SpatialSoftmax: [N, C, H, W] -> keypoints [N, 2K], (x, y) in [-1, 1]."""

    def __init__(self, in_channels: int, num_keypoints: int, height: int, width: int):
        super().__init__()
        self.keypoints = nn.Conv2d(in_channels, num_keypoints, kernel_size=1)
        pos_y, pos_x = torch.meshgrid(torch.linspace(-1.0, 1.0, height),
                                      torch.linspace(-1.0, 1.0, width), indexing='ij')
        self.register_buffer('pos', torch.stack([pos_x.reshape(-1), pos_y.reshape(-1)], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.keypoints(x)
        n, k = x.shape[0], x.shape[1]
        attention = torch.softmax(x.reshape(n * k, -1), dim=-1)
        return (attention @ self.pos).reshape(n, 2 * k)


def feature_map_size(size: int) -> int:
    """Spatial size after ResNet-18's stride-32 trunk (conv, maxpool and three stride-2 stages)."""
    for _ in range(5):
        size = (size - 1) // 2 + 1
    return size


class VisionEncoder(nn.Module):
    """Chi's obs encoder for one camera: [N, 3, h, w] (normalised) -> features [N, feature_dim]."""

    def __init__(self, config: VisionConfig, height: int, width: int):
        super().__init__()
        rows, cols = feature_map_size(height), feature_map_size(width)
        if min(rows, cols) < 2:
            raise PolicyError(f'vision encoder: a {height}x{width} input leaves a {rows}x{cols} '
                              f'feature map, where spatial softmax sees no position; give the '
                              f'encoder at least {MIN_INPUT}x{MIN_INPUT} pixels (height/width '
                              f'or crop)')
        self.backbone = ResNet18(config.base_width, norm='group')
        self.pool = SpatialSoftmax(self.backbone.out_channels, config.num_keypoints, rows, cols)
        self.out = nn.Linear(2 * config.num_keypoints, config.feature_dim)
        self.feature_dim = config.feature_dim
        if config.weights:
            load_backbone_weights(self.backbone, config.weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.pool(self.backbone(x)))


def load_backbone_weights(backbone: ResNet18, path: str) -> List[str]:
    """Load a local torchvision-style ResNet state dict into ``backbone`` by name.

    Convolution weights (and GroupNorm/BatchNorm affine weights) whose names and shapes match are
    copied; the rest (fc, running statistics) is left out. Returns the names copied. A missing or
    unreadable file, or one sharing no weight with the backbone, is a PolicyError naming it.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise PolicyError(f'vision.weights: {file}: file not found')
    try:
        state = torch.load(file, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle and zip errors of many kinds
        raise PolicyError(f'vision.weights: {file}: not a readable state dict: {exc}') from None
    state = state.get('state_dict', state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise PolicyError(f'vision.weights: {file}: expected a state dict')
    own = backbone.state_dict()
    taken: Dict[str, torch.Tensor] = {}
    for name, value in state.items():
        if name in own and isinstance(value, torch.Tensor) and value.shape == own[name].shape:
            taken[name] = value
    if not taken:
        raise PolicyError(f'vision.weights: {file}: no weight matches the ResNet-18 backbone '
                          f'(base_width {backbone.conv1.out_channels}) by name and shape')
    backbone.load_state_dict(taken, strict=False)
    return sorted(taken)
