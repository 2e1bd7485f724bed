"""The 1-D temporal U-Net of Chi et al. (diffusion_policy/model/diffusion/conditional_unet1d.py).

A reimplementation in plain torch that compiles under ``torch.jit.script``. Same layers, same
parameter names and order as upstream, so a state dict carries over; local conditioning is left
out (low-dim policies condition globally on the flattened To observations).

Shapes: ``sample`` [B, T, Da] -> [B, T, Da]; the U-Net works on [B, C, T] internally, halving T at
each level but the last, so T must be divisible by 2 ** (len(down_dims) - 1).

``forward`` is upstream's computation (training uses it). Sampling uses ``film_table`` +
``forward_table``: the same numbers with every block's FiLM terms computed once per chunk for all
DDIM steps, and the convolutions as GEMMs (``conv1d_gemm``); tests hold the two within 1e-5.
"""

import math
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn
import torch.nn.functional as F


def conv1d_gemm(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                stride: int = 1, padding: int = 0) -> torch.Tensor:
    """``F.conv1d`` as one matrix product over unfolded windows: [B, C, T] -> [B, Cout, T'].

    The same sums as the convolution (float32 rounding aside). At batch 1 on a CPU this is about
    twice as fast as PyTorch's convolution, which takes its generic im2col path for these shapes.
    ``addmm`` is called directly: ``matmul``'s broadcasting may copy a weight that requires grad.
    """
    batch, channels, k = x.shape[0], x.shape[1], weight.shape[2]
    if padding > 0:
        x = F.pad(x, (padding, padding))
    windows = x.unfold(2, k, stride)  # [B, C, T', k]
    steps = windows.shape[2]
    cols = windows.permute(1, 3, 0, 2).reshape(channels * k, batch * steps)
    w = weight.reshape(weight.shape[0], channels * k)
    if bias is None:
        out = torch.mm(w, cols)
    else:
        out = torch.addmm(bias.unsqueeze(1), w, cols)
    return out.view(weight.shape[0], batch, steps).transpose(0, 1)


class SinusoidalPosEmb(nn.Module):
    """Transformer-style sinusoidal embedding of the diffusion step: [B] -> [B, dim]."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half_dim = self.dim // 2
        scale = math.log(10000) / (half_dim - 1)
        emb = torch.exp(torch.arange(half_dim, device=x.device) * -scale)
        emb = x[:, None] * emb[None, :]
        return torch.cat((emb.sin(), emb.cos()), dim=-1)


class Downsample1d(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def forward_gemm(self, x: torch.Tensor) -> torch.Tensor:
        return conv1d_gemm(x, self.conv.weight, self.conv.bias, 2, 1)


class NoResample1d(nn.Identity):
    """The last down level's 'no downsampling' (upstream: nn.Identity), with ``forward_gemm``."""

    def forward_gemm(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Upsample1d(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.ConvTranspose1d(dim, dim, 4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Conv1dBlock(nn.Module):
    """Conv1d -> GroupNorm -> Mish."""

    def __init__(self, inp_channels: int, out_channels: int, kernel_size: int, n_groups: int = 8):
        super().__init__()
        self.padding = kernel_size // 2
        self.block = nn.Sequential(
            nn.Conv1d(inp_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(n_groups, out_channels),
            nn.Mish(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)

    def forward_gemm(self, x: torch.Tensor) -> torch.Tensor:
        x = conv1d_gemm(x, self.block[0].weight, self.block[0].bias, 1, self.padding)
        return F.mish(self.block[1](x))


class ConditionalResidualBlock1D(nn.Module):
    """Two Conv1dBlocks with FiLM conditioning in between and a residual connection.

    FiLM (https://arxiv.org/abs/1709.07871): the condition predicts a per-channel bias, or a
    per-channel scale and bias when ``cond_predict_scale``.
    """

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, kernel_size: int = 3,
                 n_groups: int = 8, cond_predict_scale: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList([
            Conv1dBlock(in_channels, out_channels, kernel_size, n_groups=n_groups),
            Conv1dBlock(out_channels, out_channels, kernel_size, n_groups=n_groups),
        ])
        cond_channels = out_channels * 2 if cond_predict_scale else out_channels
        self.cond_predict_scale = cond_predict_scale
        self.out_channels = out_channels
        # Upstream ends with einops' Rearrange('batch t -> batch t 1'); forward unsqueezes instead,
        # which keeps the parameter names (cond_encoder.1.weight/bias).
        self.cond_encoder = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, cond_channels))
        self.residual_conv = (nn.Conv1d(in_channels, out_channels, 1)
                              if in_channels != out_channels else nn.Identity())

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x [B, in_channels, T], cond [B, cond_dim] -> [B, out_channels, T]."""
        out = self.blocks[0](x)
        embed = self.cond_encoder(cond).unsqueeze(-1)
        if self.cond_predict_scale:
            embed = embed.reshape(embed.shape[0], 2, self.out_channels, 1)
            out = embed[:, 0] * out + embed[:, 1]
        else:
            out = out + embed
        out = self.blocks[1](out)
        return out + self.residual_conv(x)

    def film(self, step_features: torch.Tensor,
             global_cond: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """FiLM (scale, bias), each [S, B, C, 1], for S diffusion steps at once.

        The same numbers as ``cond_encoder(cat(step_features[s], global_cond))``: Mish acts
        elementwise, so the Linear splits into a step part (constant once frozen) and a
        condition part (once per chunk). Without ``cond_predict_scale`` scale is unused.
        """
        linear = self.cond_encoder[1]
        d = step_features.shape[-1]
        embed = F.linear(F.mish(step_features), linear.weight[:, :d], linear.bias)[:, None]
        if global_cond is not None:
            embed = embed + F.linear(F.mish(global_cond), linear.weight[:, d:])[None]
        embed = embed.unsqueeze(-1)
        if self.cond_predict_scale:
            embed = embed.reshape(embed.shape[0], embed.shape[1], 2, self.out_channels, 1)
            return embed[:, :, 0], embed[:, :, 1]
        return embed, embed  # scale unused

    def forward_film(self, x: torch.Tensor, scale: torch.Tensor,
                     bias: torch.Tensor) -> torch.Tensor:
        """``forward`` with precomputed FiLM terms (one step's slice of ``film``)."""
        out = self.blocks[0].forward_gemm(x)
        if self.cond_predict_scale:
            out = torch.addcmul(bias, scale, out)
        else:
            out = out + bias
        out = self.blocks[1].forward_gemm(out)
        return out + self.residual_conv(x)


class ConditionalUnet1D(nn.Module):
    def __init__(self, input_dim: int, global_cond_dim: Optional[int] = None,
                 diffusion_step_embed_dim: int = 256, down_dims: Sequence[int] = (256, 512, 1024),
                 kernel_size: int = 3, n_groups: int = 8, cond_predict_scale: bool = False):
        super().__init__()
        all_dims = [input_dim] + list(down_dims)
        start_dim = down_dims[0]
        dsed = diffusion_step_embed_dim
        self.diffusion_step_encoder = nn.Sequential(
            SinusoidalPosEmb(dsed),
            nn.Linear(dsed, dsed * 4),
            nn.Mish(),
            nn.Linear(dsed * 4, dsed),
        )
        cond_dim = dsed + (global_cond_dim or 0)
        self.has_global_cond = global_cond_dim is not None

        def block(dim_in: int, dim_out: int) -> ConditionalResidualBlock1D:
            return ConditionalResidualBlock1D(dim_in, dim_out, cond_dim=cond_dim,
                                              kernel_size=kernel_size, n_groups=n_groups,
                                              cond_predict_scale=cond_predict_scale)

        in_out = list(zip(all_dims[:-1], all_dims[1:]))
        mid_dim = all_dims[-1]
        self.mid_modules = nn.ModuleList([block(mid_dim, mid_dim), block(mid_dim, mid_dim)])

        self.down_modules = nn.ModuleList([])
        for ind, (dim_in, dim_out) in enumerate(in_out):
            is_last = ind >= len(in_out) - 1
            self.down_modules.append(nn.ModuleList([
                block(dim_in, dim_out),
                block(dim_out, dim_out),
                Downsample1d(dim_out) if not is_last else NoResample1d(),
            ]))

        # As upstream, every up level upsamples (len(in_out) - 1 levels, one per downsample).
        self.up_modules = nn.ModuleList([])
        for dim_in, dim_out in reversed(in_out[1:]):
            self.up_modules.append(nn.ModuleList([
                block(dim_out * 2, dim_in),
                block(dim_in, dim_in),
                Upsample1d(dim_in),
            ]))

        # Upstream leaves this block at GroupNorm's default of 8 groups; n_groups (8 by default)
        # is used here so that a smaller n_groups works for narrow test networks.
        self.final_conv = nn.Sequential(
            Conv1dBlock(start_dim, start_dim, kernel_size=kernel_size, n_groups=n_groups),
            nn.Conv1d(start_dim, input_dim, 1),
        )

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor,
                global_cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        """sample [B, T, input_dim], timestep [B] or [] (diffusion step), global_cond [B, G]."""
        x = sample.transpose(1, 2)
        timesteps = timestep
        if timesteps.dim() == 0:
            timesteps = timesteps[None]
        timesteps = timesteps.to(sample.device).expand(sample.shape[0])
        global_feature = self.diffusion_step_encoder(timesteps)
        if global_cond is not None:
            global_feature = torch.cat([global_feature, global_cond], dim=-1)

        h: List[torch.Tensor] = []
        for level in self.down_modules:
            x = level[0](x, global_feature)
            x = level[1](x, global_feature)
            h.append(x)
            x = level[2](x)
        for mid_module in self.mid_modules:
            x = mid_module(x, global_feature)
        for level in self.up_modules:
            x = torch.cat((x, h.pop()), dim=1)
            x = level[0](x, global_feature)
            x = level[1](x, global_feature)
            x = level[2](x)
        x = self.final_conv(x)
        return x.transpose(1, 2)

    @torch.jit.export
    def film_table(self, timesteps: torch.Tensor, global_cond: Optional[torch.Tensor]
                   ) -> List[List[List[torch.Tensor]]]:
        """Every residual block's FiLM terms for a fixed timestep sequence [S], as
        ``table[block][0 scale | 1 bias][step]`` (blocks in down, mid, up order)."""
        step_features = self.diffusion_step_encoder(timesteps)
        table: List[List[List[torch.Tensor]]] = []
        for level in self.down_modules:
            scale, bias = level[0].film(step_features, global_cond)
            table.append([list(scale.unbind(0)), list(bias.unbind(0))])
            scale, bias = level[1].film(step_features, global_cond)
            table.append([list(scale.unbind(0)), list(bias.unbind(0))])
        for mid_module in self.mid_modules:
            scale, bias = mid_module.film(step_features, global_cond)
            table.append([list(scale.unbind(0)), list(bias.unbind(0))])
        for level in self.up_modules:
            scale, bias = level[0].film(step_features, global_cond)
            table.append([list(scale.unbind(0)), list(bias.unbind(0))])
            scale, bias = level[1].film(step_features, global_cond)
            table.append([list(scale.unbind(0)), list(bias.unbind(0))])
        return table

    @torch.jit.export
    def forward_table(self, sample: torch.Tensor, table: List[List[List[torch.Tensor]]],
                      step: int) -> torch.Tensor:
        """``forward`` at the ``step``-th timestep of ``film_table`` (same result, fewer ops)."""
        x = sample.transpose(1, 2)
        h: List[torch.Tensor] = []
        b = 0
        for level in self.down_modules:
            x = level[0].forward_film(x, table[b][0][step], table[b][1][step])
            x = level[1].forward_film(x, table[b + 1][0][step], table[b + 1][1][step])
            b += 2
            h.append(x)
            x = level[2].forward_gemm(x)
        for mid_module in self.mid_modules:
            x = mid_module.forward_film(x, table[b][0][step], table[b][1][step])
            b += 1
        for level in self.up_modules:
            x = torch.cat((x, h.pop()), dim=1)
            x = level[0].forward_film(x, table[b][0][step], table[b][1][step])
            x = level[1].forward_film(x, table[b + 1][0][step], table[b + 1][1][step])
            b += 2
            x = level[2](x)
        x = self.final_conv[0].forward_gemm(x)
        x = conv1d_gemm(x, self.final_conv[1].weight, self.final_conv[1].bias)
        return x.transpose(1, 2)
