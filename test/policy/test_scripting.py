"""scripting.script: a stale id in TorchScript's builtin table does not break scripting."""
import torch
from torch.jit import _builtins

from dil_ros.policy.scripting import forget_stale_builtins, script


def test_an_attribute_at_a_stale_builtin_address_still_scripts():
    """torch leaves a freed operator's id in the table; a Conv2d list attribute born at that
    address made torch.jit.script fail ("builtin cannot be used as a value")."""
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    table = _builtins._get_builtin_table()
    table[id(conv[0]._reversed_padding_repeated_twice)] = 'aten::stale'
    try:
        torch.jit.script(conv)
        raise AssertionError('plain torch.jit.script was expected to trip on the stale id')
    except RuntimeError as exc:
        assert 'builtin cannot be used as a value' in str(exc)
    table[id(conv[0]._reversed_padding_repeated_twice)] = 'aten::stale'
    scripted = script(conv)
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(scripted(x), conv(x))


def test_real_builtins_are_kept():
    table = _builtins._get_builtin_table()
    assert forget_stale_builtins(torch.nn.Linear(2, 2)) == 0
    assert table[id(torch.cat)] == 'aten::cat'
