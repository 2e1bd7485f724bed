"""The speed keys (dil_ros/training/speed.py) change how fast a step runs, not what it learns."""
import copy

import pytest
import torch
from torch import nn

from dil_ros.training.config import (ConfigError, EMAConfig, OptimConfig, TrainConfig,
                                     run_config_from_mapping)
from dil_ros.training.ema import EMAModel
from dil_ros.training.speed import amp_dtype, compiled, make_optimizer, needs_grad_scaler
from dil_ros.training.trainer import train


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(3, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.Mish(),
                         nn.Conv1d(8, 3, 1))


@pytest.mark.parametrize('impl', ['fused', 'foreach', 'auto'])
def test_optimizer_kernels_compute_the_same_adamw(impl):
    nets = {name: _net() for name in ('for-loop', impl)}
    opts = {name: make_optimizer(net.parameters(), OptimConfig(impl=name, lr=1e-2),
                                 torch.device('cpu')) for name, net in nets.items()}
    x = torch.randn(4, 3, 16, generator=torch.Generator().manual_seed(1))
    for _ in range(5):
        for name, net in nets.items():
            opts[name].zero_grad(set_to_none=True)
            net(x).square().mean().backward()
            opts[name].step()
    for a, b, start in zip(nets['for-loop'].parameters(), nets[impl].parameters(),
                           _net().parameters()):
        assert torch.allclose(a, b, atol=1e-6), impl
        assert not torch.allclose(a, start, atol=1e-3)          # it trained
    assert opts[impl].defaults['fused' if impl != 'foreach' else 'foreach']


def _ema_reference(ema_model: nn.Module, model: nn.Module, decay: float) -> None:
    """The per-tensor EMA update ema.py had before it used torch._foreach ops."""
    with torch.no_grad():
        for module, ema_module in zip(model.modules(), ema_model.modules()):
            copy_only = isinstance(module, nn.modules.batchnorm._BatchNorm)
            for p, e in zip(module.parameters(recurse=False),
                            ema_module.parameters(recurse=False)):
                if copy_only or not p.requires_grad:
                    e.copy_(p)
                else:
                    e.mul_(decay).add_(p, alpha=1 - decay)
            for b, e in zip(module.buffers(recurse=False), ema_module.buffers(recurse=False)):
                e.copy_(b)


def test_foreach_ema_equals_the_per_tensor_update_bit_for_bit():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    model[2].bias.requires_grad_(False)
    ema = EMAModel(model, EMAConfig())
    reference = copy.deepcopy(model).requires_grad_(False)
    for step in range(6):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        model(torch.randn(5, 4))                 # moves the BatchNorm running stats
        _ema_reference(reference, model, ema.get_decay(step))
        ema.step(model)
    for (name, a), b in zip(ema.averaged_model.state_dict().items(),
                            reference.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(ema.averaged_model[0].weight, model[0].weight)   # it averaged


def test_amp_dtype_and_grad_scaler_choice():
    cpu = torch.device('cpu')
    assert amp_dtype(cpu, TrainConfig(amp=True)) == torch.bfloat16
    assert amp_dtype(cpu, TrainConfig(amp=True, amp_dtype='fp16')) == torch.float16
    assert not needs_grad_scaler(cpu, TrainConfig(amp=True, amp_dtype='fp16'))
    cuda = torch.device('cuda')
    assert needs_grad_scaler(cuda, TrainConfig(amp=True, amp_dtype='fp16'))
    assert not needs_grad_scaler(cuda, TrainConfig(amp=True, amp_dtype='bf16'))
    assert not needs_grad_scaler(cuda, TrainConfig(amp=False, amp_dtype='fp16'))


@pytest.mark.parametrize('section,key,value', [('optim', 'impl', 'fast'),
                                               ('train', 'amp_dtype', 'fp8'),
                                               ('train', 'compile', 'yes'),
                                               ('train', 'compile_mode', 'fastest'),
                                               ('train', 'compile_mode', True)])
def test_bad_speed_keys_name_file_and_key(section, key, value):
    with pytest.raises(ConfigError, match=f'cfg.yaml: {section}.*{key}'):
        run_config_from_mapping({section: {key: value}}, 'cfg.yaml')


def test_bad_compile_mode_lists_the_choices():
    with pytest.raises(ConfigError, match="max-autotune-no-cudagraphs, got 'fastest'"):
        run_config_from_mapping({'train': {'compile_mode': 'fastest'}}, 'cfg.yaml')


def test_compile_mode_reaches_torch_compile(monkeypatch):
    from dil_ros.training import speed
    calls = []
    monkeypatch.setattr(speed.torch, 'compile', lambda model, **kw: calls.append(kw) or model)
    net = _net()
    assert compiled(net, TrainConfig()) is net and not calls          # compile off: untouched
    config = run_config_from_mapping({'train': {'compile': True, 'compile_mode':
                                                'max-autotune-no-cudagraphs'}}).train
    compiled(net, config)
    assert calls == [{'dynamic': False, 'mode': 'max-autotune-no-cudagraphs'}]


def _losses(result):
    return [h[1] for h in result.history]


def test_fused_optimizer_run_follows_the_for_loop_run(tmp_path, bimodal_dataset, contract_2d,
                                                      train_request):
    runs = {impl: train(train_request(bimodal_dataset, tmp_path / impl, contract_2d, steps=8,
                                      optim={'impl': impl}))
            for impl in ('for-loop', 'fused')}
    assert _losses(runs['fused']) == pytest.approx(_losses(runs['for-loop']), rel=1e-4)


def test_bf16_autocast_run_stays_near_fp32(tmp_path, bimodal_dataset, contract_2d,
                                           train_request):
    fp32 = train(train_request(bimodal_dataset, tmp_path / 'fp32', contract_2d, steps=8))
    bf16 = train(train_request(bimodal_dataset, tmp_path / 'bf16', contract_2d, steps=8,
                               amp=True))
    assert len(_losses(bf16)) == len(_losses(fp32)) == 4
    # bf16 keeps 8 bits of mantissa: the same trajectory within a few per cent.
    assert _losses(bf16) == pytest.approx(_losses(fp32), rel=0.05)


@pytest.mark.parametrize('backend', [
    'aot_eager',   # dynamo capture + AOTAutograd backward, no code generation: seconds
    pytest.param('inductor', marks=pytest.mark.slow)])   # C++ code generation: 29 min loaded
def test_compiled_loss_step_follows_the_eager_run(tmp_path, bimodal_dataset, contract_2d,
                                                  train_request, monkeypatch, backend):
    from dil_ros.training import speed
    real_compile = torch.compile
    monkeypatch.setattr(speed.torch, 'compile',
                        lambda model, **kw: real_compile(model, backend=backend, **kw))
    eager = train(train_request(bimodal_dataset, tmp_path / 'eager', contract_2d, steps=6))
    fast = train(train_request(bimodal_dataset, tmp_path / 'compiled', contract_2d, steps=6,
                               compile=True))
    assert fast.first_step_s is not None and fast.first_step_s > 0
    assert _losses(fast) == pytest.approx(_losses(eager), rel=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
@pytest.mark.parametrize('amp_dtype_name', ['bf16', 'fp16'])
def test_cuda_fused_autocast_compiled_run(tmp_path, bimodal_dataset, contract_2d, train_request,
                                          amp_dtype_name):
    result = train(train_request(bimodal_dataset, tmp_path / amp_dtype_name, contract_2d,
                                 steps=6, device='cuda', amp=True, amp_dtype=amp_dtype_name,
                                 compile=True))
    assert all(torch.isfinite(torch.tensor(_losses(result))))
