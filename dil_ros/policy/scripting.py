"""``script``: torch.jit.script, safe from a stale entry in TorchScript's builtin table.

TorchScript recognises builtin functions by ``id()`` (``torch.jit._builtins._builtin_table``), and
it looks every module attribute up in that table. torch re-creates an operator's function object
when an operator library is extended (``torch._ops._refresh_packet``; torch.export, inductor and
ONNX export do it, e.g. for ``quantized_decomposed`` ops) and leaves the old object's id in the
table. Once that object is freed, a new attribute of the policy may be born at the same address,
say a Conv2d's ``_reversed_padding_repeated_twice`` list, and scripting then fails with "builtin
cannot be used as a value", depending on what ran before in the process (seen in the test suite).

A live attribute that is not callable cannot be a builtin function, so its id in the table is
stale: ``script`` removes such ids before scripting.
"""
import torch
from torch import nn
from torch.jit import _builtins


def forget_stale_builtins(module: nn.Module) -> int:
    """Remove from TorchScript's builtin table the ids of ``module``'s (and its submodules')
    non-callable attributes; returns how many there were."""
    table = _builtins._get_builtin_table()
    stale = {id(value) for sub in module.modules() for value in vars(sub).values()
             if not callable(value) and id(value) in table}
    for key in stale:
        del table[key]
    return len(stale)


def script(module: nn.Module) -> torch.jit.ScriptModule:
    forget_stale_builtins(module)
    return torch.jit.script(module)
