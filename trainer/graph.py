"""Per-day correlation graph, built with tensor operations only."""

from __future__ import annotations

import torch


def correlation_matrix(returns: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between rows of ``returns [N, L]``; NaN entries are ignored
    (treated as the row's mean). A constant row correlates 0 with everything."""
    finite = torch.isfinite(returns)
    x = torch.where(finite, returns, torch.zeros((), dtype=returns.dtype, device=returns.device))
    count = finite.sum(1, keepdim=True).clamp_min(1)
    mean = x.sum(1, keepdim=True) / count
    dev = torch.where(finite, x - mean, torch.zeros((), dtype=x.dtype, device=x.device))
    norm = dev.norm(dim=1, keepdim=True)
    dev = dev / torch.where(norm > 1e-12, norm, torch.ones_like(norm))
    return dev @ dev.T


def build_correlation_graph(
    returns: torch.Tensor,
    sectors: torch.Tensor,
    k: int = 15,
    threshold: float = 0.3,
    min_k: int = 5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric top-k |rho| graph over N stocks.

    Each stock i selects its ``min(k, N-1)`` peers of largest ``|rho_ij|``
    (never itself); of these, the first ``min_k`` are always kept and the
    rest only if ``|rho_ij| >= threshold``. The selection is symmetrised
    (``i -> j`` present iff ``j -> i`` present), without duplicates.

    Args:
        returns: ``[N, L]`` past daily returns (NaN allowed).
        sectors: ``[N]`` long sector ids.
        k, threshold, min_k: see above.

    Returns:
        ``edge_index [2, E]`` (long, source then target) and
        ``edge_attr [E, 3]`` = ``[rho, same_sector, |rho|]`` (float32).
    """
    n = returns.shape[0]
    device = returns.device
    rho = correlation_matrix(returns.float())
    k_eff = min(k, n - 1)
    if k_eff <= 0:
        empty = torch.zeros((2, 0), dtype=torch.long, device=device)
        return empty, torch.zeros((0, 3), device=device)
    eye = torch.eye(n, dtype=torch.bool, device=device)
    score = rho.abs().masked_fill(eye, -1.0)
    top_val, top_idx = score.topk(k_eff, dim=1)  # sorted descending
    rank = torch.arange(k_eff, device=device).unsqueeze(0)
    keep = (rank < min_k) | (top_val >= threshold)
    adj = torch.zeros((n, n), dtype=torch.bool, device=device)
    adj.scatter_(1, top_idx, keep)
    adj = (adj | adj.T) & ~eye
    src, dst = adj.nonzero(as_tuple=True)
    r = rho[src, dst]
    same = (sectors[src] == sectors[dst]).to(r.dtype)
    edge_attr = torch.stack([r, same, r.abs()], dim=1)
    return torch.stack([src, dst]), edge_attr
