"""Training objective: pinball loss over quantiles plus per-day correlation terms."""

from __future__ import annotations

import math

import torch

from trainer.config import LossConfig


def quantile_loss(pred: torch.Tensor, target: torch.Tensor, quantiles) -> torch.Tensor:
    """Pinball loss averaged over quantiles and the finite targets.

    ``pred [N, Q]`` (or ``[N, Hz, Q]``), ``target [N]`` (or ``[N, Hz]``):
    ``mean(max(q * (y - p), (q - 1) * (y - p)))``.
    """
    q = torch.as_tensor(quantiles, dtype=pred.dtype, device=pred.device)
    keep = torch.isfinite(target)
    y = torch.where(keep, target, torch.zeros_like(target)).unsqueeze(-1)
    err = y - pred
    loss = torch.maximum(q * err, (q - 1) * err)
    w = keep.unsqueeze(-1).to(pred.dtype).expand_as(loss)
    return (loss * w).sum() / w.sum().clamp_min(1.0)


def pearson_corr(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    a = a - a.mean()
    b = b - b.mean()
    return (a * b).sum() / (a.norm() * b.norm() + eps)


def soft_rank(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """Differentiable ranks: ``r_i = 1/2 + sum_j sigmoid((x_i - x_j) / tau)`` (O(N^2) per day)."""
    return torch.sigmoid((x.unsqueeze(1) - x.unsqueeze(0)) / temperature).sum(1) + 0.5


def normalise_target(y: torch.Tensor, mode: str) -> torch.Tensor:
    """Per-day transform of one horizon's targets ``[N]`` (NaN kept as NaN)."""
    if mode == "none":
        return y
    keep = torch.isfinite(y)
    v = y[keep]
    out = torch.full_like(y, float("nan"))
    if v.numel() < 2:
        return out
    if mode == "zscore":
        out[keep] = (v - v.mean()) / v.std().clamp_min(1e-12)
    else:  # gauss-rank
        from trainer.metrics import average_ranks

        u = (average_ranks(v) - 0.5) / v.numel()
        out[keep] = (math.sqrt(2.0) * torch.special.erfinv(2 * u.to(v.dtype) - 1)).to(v.dtype)
    return out


def day_loss(
    pred: torch.Tensor, target: torch.Tensor, quantiles, cfg: LossConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss of one day. ``pred [N, Hz, Q]`` (float32), ``target [N, Hz]`` raw returns.

    Per horizon h with weight w_h::

        L_h = a * pinball + b * (1 - pearson(median, y)) + c * (1 - pearson(softrank(median), rank(y)))

    with ``y`` the per-day normalised target; returns ``(sum_h w_h L_h / sum_h w_h, pinball)``.
    """
    mid = list(quantiles).index(0.5)
    total = pred.new_zeros(())
    pin_total = pred.new_zeros(())
    wsum = 0.0
    for h, w in enumerate(cfg.horizon_weights):
        if w == 0:
            continue
        y = normalise_target(target[:, h], cfg.target_norm)
        keep = torch.isfinite(y)
        if int(keep.sum()) < 3:
            continue
        p = pred[keep, h]
        yk = y[keep]
        pin = quantile_loss(p, yk, quantiles)
        term = cfg.pinball_weight * pin
        med = p[:, mid]
        if cfg.corr_weight:
            term = term + cfg.corr_weight * (1 - pearson_corr(med, yk))
        if cfg.rank_weight:
            scale = med.detach().std().clamp_min(1e-6)
            sr = soft_rank(med / scale, cfg.rank_temperature)
            from trainer.metrics import average_ranks

            tr = average_ranks(yk).to(med.dtype)
            term = term + cfg.rank_weight * (1 - pearson_corr(sr, tr))
        total = total + w * term
        pin_total = pin_total + w * pin.detach()
        wsum += w
    if wsum == 0:
        return total, pin_total
    return total / wsum, pin_total / wsum


def combined_loss(
    pred: torch.Tensor, target: torch.Tensor, quantiles, cfg: LossConfig
) -> torch.Tensor:
    """Public alias of :func:`day_loss` returning only the total (one day's cross-section)."""
    return day_loss(pred, target, quantiles, cfg)[0]
