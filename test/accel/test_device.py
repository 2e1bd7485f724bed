import pytest
import torch

from dil_ros.accel.device import resolve_device
from dil_ros.accel.errors import AccelError
from dil_ros.errors import DilRosError


def test_cpu_and_auto():
    assert resolve_device('cpu')[0] == torch.device('cpu')
    device, message = resolve_device('auto')
    assert device.type == ('cuda' if torch.cuda.is_available() else 'cpu')
    assert 'auto' in message


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the fallback without CUDA')
@pytest.mark.parametrize('requested', ['cuda', 'cuda:0', 'CUDA:1'])
def test_cuda_falls_back_to_cpu_with_a_message(requested):
    device, message = resolve_device(requested)
    assert device == torch.device('cpu')
    assert 'falling back to cpu' in message and requested.lower() in message


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_index_past_the_visible_gpus_is_an_error():
    assert resolve_device('cuda:0')[0] == torch.device('cuda', 0)
    with pytest.raises(AccelError, match='only'):
        resolve_device(f'cuda:{torch.cuda.device_count()}')


@pytest.mark.parametrize('bad', ['gpu', 'cuda:x', 'cuda:-1', ''])
def test_malformed_request_names_the_value(bad):
    with pytest.raises(DilRosError, match="expected 'auto', 'cpu'"):
        resolve_device(bad)
