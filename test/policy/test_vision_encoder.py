"""The hand-written ResNet-18 against torchvision's published one, and Chi's encoder head."""
import pytest
import torch

from dil_ros.policy.config import PolicyError
from dil_ros.policy.vision_encoder import (ResNet18, SpatialSoftmax, VisionConfig, VisionEncoder,
                                           feature_map_size, load_backbone_weights)

# torchvision.models.resnet18(): parameters per top-level module (published total 11,689,512).
TORCHVISION_RESNET18 = {'conv1': 9408, 'bn1': 128, 'layer1': 147968, 'layer2': 525568,
                        'layer3': 2099712, 'layer4': 8393728, 'fc': 513000}


def _params(module, prefix=''):
    return sum(p.numel() for n, p in module.named_parameters() if n.startswith(prefix))


def test_batchnorm_classifier_variant_is_torchvisions_resnet18():
    net = ResNet18(64, norm='batch', head='classifier')
    assert _params(net) == 11689512
    for name, count in TORCHVISION_RESNET18.items():
        assert _params(net, name + '.') == count, name
    # torchvision's buffer names too (running statistics), so its state dict loads by name.
    assert 'layer2.0.downsample.1.running_mean' in net.state_dict()


def test_stage_output_shapes_at_224():
    net = ResNet18(64, norm='batch', head='none').eval()
    x = torch.zeros(1, 3, 224, 224)
    shapes = []
    x = net.maxpool(net.bn1(net.conv1(x)))
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]
    assert net(torch.zeros(1, 3, 224, 224)).shape == (1, 512, 7, 7)
    assert ResNet18(64, head='classifier').eval()(torch.zeros(2, 3, 64, 64)).shape == (2, 1000)


def test_group_norm_uses_channels_over_16_groups_and_no_running_stats():
    net = ResNet18(64, norm='group')
    groups = {m.num_channels: m.num_groups for m in net.modules()
              if isinstance(m, torch.nn.GroupNorm)}
    assert groups == {64: 4, 128: 8, 256: 16, 512: 32}
    assert not any('running' in k for k in net.state_dict())
    assert ResNet18(16, norm='group')(torch.zeros(1, 3, 84, 84)).shape == (1, 128, 3, 3)


def test_feature_map_size_matches_the_trunk():
    for size in (64, 84, 96, 100, 224):
        out = ResNet18(16)(torch.zeros(1, 3, size, size))
        assert out.shape[-1] == feature_map_size(size)


def test_spatial_softmax_finds_a_peak():
    pool = SpatialSoftmax(1, 1, 5, 5)
    with torch.no_grad():
        pool.keypoints.weight.fill_(1.0)
        pool.keypoints.bias.zero_()
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 4, 1] = 50.0                     # row 4 (y = +1), column 1 (x = -0.5)
    assert torch.allclose(pool(x), torch.tensor([[-0.5, 1.0]]), atol=1e-4)


def test_encoder_shapes_and_script():
    config = VisionConfig(base_width=16, num_keypoints=8, feature_dim=12)
    enc = VisionEncoder(config, 84, 84)
    assert enc(torch.zeros(3, 3, 84, 84)).shape == (3, 12)
    assert torch.jit.script(enc)(torch.zeros(1, 3, 84, 84)).shape == (1, 12)


def test_chi_sized_encoder_parameter_count():
    # ResNet-18 trunk with GroupNorm (no fc) + 1x1 conv to 32 keypoints + Linear(64, 64).
    enc = VisionEncoder(VisionConfig(), 84, 84)
    assert _params(enc) == 11689512 - 513000 + (512 * 32 + 32) + (64 * 64 + 64)


def test_local_weights_load_by_name(tmp_path):
    source = ResNet18(16, norm='batch', head='classifier')
    path = tmp_path / 'resnet.pt'
    torch.save(source.state_dict(), path)
    enc = VisionEncoder(VisionConfig(base_width=16, weights=str(path)), 64, 64)
    assert torch.equal(enc.backbone.layer3[1].conv2.weight, source.layer3[1].conv2.weight)
    assert torch.equal(enc.backbone.bn1.weight, source.bn1.weight)
    with pytest.raises(PolicyError, match='no weight matches'):
        load_backbone_weights(ResNet18(32), str(path))
    with pytest.raises(PolicyError, match='missing.pt: file not found'):
        load_backbone_weights(ResNet18(16), str(tmp_path / 'missing.pt'))


def test_config_names_the_bad_key():
    with pytest.raises(PolicyError, match='train.yaml: vision: base_width: 24 is not a multiple'):
        VisionConfig.from_dict({'base_width': 24}, 'train.yaml: vision')
    with pytest.raises(PolicyError, match='vision: keypoints: unknown key'):
        VisionConfig.from_dict({'keypoints': 3}, 'vision')


def test_inputs_too_small_for_spatial_softmax_are_refused():
    assert feature_map_size(33) == 2 and feature_map_size(32) == 1
    VisionEncoder(VisionConfig(base_width=16), 33, 40)
    with pytest.raises(PolicyError, match='a 32x40 input leaves a 1x2 feature map'):
        VisionEncoder(VisionConfig(base_width=16), 32, 40)
