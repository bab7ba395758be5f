"""Cross-sectional metrics, computed per day with tensor ops on the tensors' device."""

from __future__ import annotations

import torch


def average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks 1..n of a 1-D tensor, ties given their average rank (like ``pandas.rank()``)."""
    n = x.numel()
    order = torch.argsort(x, stable=True)
    sx = x[order]
    new_group = torch.ones(n, dtype=torch.bool, device=x.device)
    if n > 1:
        new_group[1:] = sx[1:] != sx[:-1]
    group = torch.cumsum(new_group.long(), 0) - 1
    pos = torch.arange(1, n + 1, dtype=torch.float64, device=x.device)
    n_groups = int(group[-1]) + 1 if n else 0
    sums = torch.zeros(n_groups, dtype=torch.float64, device=x.device).index_add_(0, group, pos)
    counts = torch.zeros(n_groups, dtype=torch.float64, device=x.device).index_add_(
        0, group, torch.ones_like(pos)
    )
    ranks = torch.empty(n, dtype=torch.float64, device=x.device)
    ranks[order] = (sums / counts)[group]
    return ranks


def _pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = a.double() - a.double().mean()
    b = b.double() - b.double().mean()
    den = a.norm() * b.norm()
    return torch.where(den > 0, (a * b).sum() / den.clamp_min(1e-300), torch.zeros_like(den))


def ic(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of ``pred [N]`` and ``target [N]`` (NaN targets dropped); 0 if degenerate."""
    keep = torch.isfinite(target)
    return _pearson(pred[keep], target[keep])


def rank_ic(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Spearman correlation (Pearson of average ranks) of ``pred [N]`` and ``target [N]``."""
    keep = torch.isfinite(target)
    return _pearson(average_ranks(pred[keep]), average_ranks(target[keep]))


def long_short_return(pred: torch.Tensor, target: torch.Tensor, frac: float = 0.2) -> torch.Tensor:
    """Mean target of the top ``frac`` by prediction minus that of the bottom ``frac``."""
    keep = torch.isfinite(target)
    p, t = pred[keep], target[keep].double()
    m = max(1, int(frac * p.numel()))
    order = torch.argsort(p, stable=True)
    return t[order[-m:]].mean() - t[order[:m]].mean()


def hit_rate(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Share of stocks whose prediction and target fall on the same side of their day's median."""
    keep = torch.isfinite(target)
    p, t = pred[keep].double(), target[keep].double()
    return ((p - p.median()).sign() == (t - t.median()).sign()).double().mean()


def day_metrics(pred_median: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-horizon metrics of one day: ``[Hz, 4]`` = (IC, RankIC, long-short return, hit rate).

    ``pred_median [N, Hz]``, ``target [N, Hz]``. A horizon with fewer than 3
    known targets gives NaN (the day is left out of that horizon's average).
    """
    rows = []
    for h in range(target.shape[1]):
        p, t = pred_median[:, h], target[:, h]
        if int(torch.isfinite(t).sum()) < 3:
            rows.append(torch.full((4,), float("nan"), dtype=torch.float64, device=t.device))
            continue
        rows.append(torch.stack([ic(p, t), rank_ic(p, t), long_short_return(p, t), hit_rate(p, t)]))
    return torch.stack(rows)


def summarise(
    sums: torch.Tensor, sq_ls: torch.Tensor, counts: torch.Tensor, horizons: list[int]
) -> dict[str, float]:
    """Turn per-horizon sums over days into the reported metrics.

    ``sums [Hz, 4]`` of (IC, RankIC, long-short return, hit), ``sq_ls [Hz]`` sum of
    squared long-short returns, ``counts [Hz]`` days. Sharpe is annualised with
    ``sqrt(252 / h)`` (overlapping h-day returns make it optimistic for h > 1).
    """
    out: dict[str, float] = {}
    for j, h in enumerate(horizons):
        c = float(counts[j])
        if c == 0:
            vals = [float("nan")] * 4
            sharpe = float("nan")
        else:
            vals = (sums[j] / c).tolist()
            var = float(sq_ls[j]) / c - vals[2] ** 2
            sd = max(var, 0.0) ** 0.5 * (c / max(c - 1.0, 1.0)) ** 0.5
            sharpe = vals[2] / sd * (252.0 / h) ** 0.5 if sd > 0 else 0.0
        out[f"ic_{h}d"] = vals[0]
        out[f"rank_ic_{h}d"] = vals[1]
        out[f"ls_return_{h}d"] = vals[2]
        out[f"sharpe_{h}d"] = sharpe
        out[f"hit_rate_{h}d"] = vals[3]
    finite = [
        out[f"rank_ic_{h}d"] for h in horizons if out[f"rank_ic_{h}d"] == out[f"rank_ic_{h}d"]
    ]
    # mean over the horizons that have validation targets (the longest may have none
    # in a very short panel)
    out["rank_ic_mean"] = sum(finite) / len(finite) if finite else float("nan")
    return out
