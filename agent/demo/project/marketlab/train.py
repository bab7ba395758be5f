"""Training and evaluation loops around the bundled ATFT-GAT-FAN model."""

from __future__ import annotations

import torch

from trainer.config import LossConfig, ModelConfig
from trainer.losses import combined_loss
from trainer.metrics import rank_ic
from trainer.model import ATFTGATFAN

QUANTILES = [0.1, 0.5, 0.9]


def make_model(n_features: int, hidden: int = 16, seed: int = 0) -> ATFTGATFAN:
    torch.manual_seed(seed)
    cfg = ModelConfig(
        hidden=hidden, vsn_hidden=4, heads=2, dropout=0.0, gat_heads=[2, 2],
        fan_windows=[5, 10], san_slice=10, san_stride=5, quantiles=QUANTILES,
    )
    return ATFTGATFAN(cfg, n_features=n_features, n_horizons=4)


def train_epoch(model, dataset, optimizer, loss_cfg: LossConfig | None = None) -> float:
    """One pass over ``dataset``; returns the mean training loss."""
    loss_cfg = loss_cfg or LossConfig()
    model.train()
    total = 0.0
    for i in range(len(dataset)):
        x, y, edge_index, edge_attr = dataset[i]
        pred = model(x, edge_index, edge_attr)
        loss = combined_loss(pred, y, QUANTILES, loss_cfg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / max(len(dataset), 1)


@torch.no_grad()
def predict(model, dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Median next-day predictions and targets of every day, stacked ``[days * N]``."""
    model.eval()
    mid = QUANTILES.index(0.5)
    preds = torch.empty(0)
    targets = torch.empty(0)
    for i in range(len(dataset)):
        x, y, edge_index, edge_attr = dataset[i]
        out = model(x, edge_index, edge_attr)[:, 0, mid]
        preds = torch.cat([preds, out])
        targets = torch.cat([targets, y[:, 0]])
    return preds, targets


def mean_rank_ic(preds: torch.Tensor, targets: torch.Tensor, n_stocks: int) -> float:
    """Average over days of the cross-sectional rank correlation."""
    days = preds.numel() // n_stocks
    values = [
        rank_ic(preds[d * n_stocks : (d + 1) * n_stocks], targets[d * n_stocks : (d + 1) * n_stocks])
        for d in range(days)
    ]
    return float(torch.stack(values).mean()) if values else 0.0


@torch.no_grad()
def latest_scores(model, dataset, codes: list[str]) -> dict[str, float]:
    """Median next-day prediction of every stock on the dataset's last day, by code."""
    model.eval()
    mid = QUANTILES.index(0.5)
    x, _, edge_index, edge_attr = dataset[len(dataset) - 1]
    pred = model(x, edge_index, edge_attr)[:, 0, mid].cpu()
    scores = {}
    for i, code in enumerate(codes):
        scores[code] = pred[i].item()
    return scores
