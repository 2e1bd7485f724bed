"""Guided DDIM: inpaint a new action chunk so that it agrees with the chunk being executed.

Why: while a chunk is computed (latency ``d``) the robot keeps executing the chunk in force, so
the first ``d / dt`` actions of the new chunk can never run, and the rest of the overlap should
continue what is running rather than jump to another mode (round the pillar the other way).
Real-Time Chunking (Black et al. 2025) solves this for flow-matching policies with training-free
guidance; this is the same idea for our ε-prediction DDIM sampler.

Inputs, in the policy's action units: ``target`` [B, Tp, Da] (the old chunk's actions at the new
chunk's grid times) and ``weight`` [B, Tp] in [0, 1]: 1 for the actions that will execute before
the new chunk arrives (frozen), 1 or a decaying weight over the rest of the overlap, 0 after it.
The node builds both (control/guided_handover.py); ``weight`` all 0 gives the plain sampler's
numbers exactly.

Derivation (DDIM, eta = 0). With ā = alphas_cumprod[t], the step predicts
``x̂0 = (x_t - sqrt(1 - ā) ε) / sqrt(ā)`` and moves to
``x_prev = sqrt(ā_prev) x̂0 + sqrt(1 - ā_prev) ε``. Guidance as in ΠGDM / RTC treats the prefix
as an observation ``y = target`` of the clean chunk with likelihood
``p(y | x_t) = N(y; x̂0(x_t), r_t² W⁻¹)`` and adds its score to the model's:
``ε' = ε - sqrt(1 - ā) ∇_{x_t} log p(y | x_t)`` (because ``ε = -sqrt(1 - ā) ∇ log p(x_t)``), with
``∇_{x_t} log p = (∂x̂0/∂x_t)ᵀ W (y - x̂0) / r_t²``.
Two choices make it closed-form and free (no backward pass through the U-Net, which RTC's
vector-Jacobian product would cost on every step, tripling CPU latency):

1. the Jacobian ``∂x̂0/∂x_t ≈ I / sqrt(ā)`` (ε held locally constant in x_t, the DPS/ΠGDM
   "denoiser is locally linear" shortcut), and
2. ``r_t² = (1 - ā) / ā``, the variance of x̂0 about x0 under the forward process (ΠGDM's
   choice in variance-exploding units).

Then ``ε' = ε - sqrt(ā / (1 - ā)) W (y - x̂0)`` and the recomputed prediction is
``x̂0' = (x_t - sqrt(1 - ā) ε') / sqrt(ā) = x̂0 + W (y - x̂0)``: a soft inpainting of the clean
prediction, weighted by W, with ε adjusted consistently so that the re-noised ``x_prev`` carries
the agreement into the next step, where the U-Net (a temporal convolution) makes the free part of
the chunk continue from it. At the last step (ā_prev = 1) the frozen actions come out equal to
the target. The clip of x̂0 (clip_sample) is applied after the blend, as the plain step applies
it. 'sample' prediction works the same way (x̂0 is the model output; ε from x_t and x̂0).

What guidance cannot do with 1-3 steps (a distilled student): the network sees the guided sample
only once or twice, so the free part of the chunk follows the prefix less; the frozen part still
comes out equal to the target.
"""
import torch


def guided_step(model_output: torch.Tensor, sample: torch.Tensor, target: torch.Tensor,
                weight: torch.Tensor, sqrt_a_t: float, sqrt_b_t: float, sqrt_a_prev: float,
                sqrt_b_prev: float, epsilon: bool, clip_sample: bool,
                clip_sample_range: float) -> torch.Tensor:
    """One DDIM step (see ddim.DDIMSampler.step) with the prediction pulled toward ``target``.

    ``target`` [B, Tp, Da] normalised actions; ``weight`` [B, Tp, 1] (or broadcastable) in [0, 1].
    """
    if epsilon:
        pred_x0 = (sample - sqrt_b_t * model_output) / sqrt_a_t
        pred_eps = model_output
    else:
        pred_x0 = model_output
        pred_eps = (sample - sqrt_a_t * model_output) / sqrt_b_t
    delta = weight * (target - pred_x0)
    pred_x0 = pred_x0 + delta
    pred_eps = pred_eps - (sqrt_a_t / sqrt_b_t) * delta
    if clip_sample:
        pred_x0 = pred_x0.clamp(-clip_sample_range, clip_sample_range)
    return sqrt_a_prev * pred_x0 + sqrt_b_prev * pred_eps


def check_guide(target: torch.Tensor, weight: torch.Tensor, batch: int, horizon: int,
                action_dim: int) -> torch.Tensor:
    """Check the shapes of ``target`` [B, Tp, Da] and ``weight`` [B, Tp]; ``weight`` clamped to
    [0, 1] as [B, Tp, 1]. Errors name the input and both shapes (TorchScript: ValueError)."""
    if list(target.shape) != [batch, horizon, action_dim]:
        raise ValueError('prefix: expected shape [' + str(batch) + ', ' + str(horizon) + ', '
                         + str(action_dim) + '], got ' + str(list(target.shape)))
    if list(weight.shape) != [batch, horizon]:
        raise ValueError('prefix_weight: expected shape [' + str(batch) + ', ' + str(horizon)
                         + '], got ' + str(list(weight.shape)))
    return weight.clamp(0.0, 1.0).unsqueeze(-1)
