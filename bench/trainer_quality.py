"""Validation RankIC of the trainer on the synthetic market, with and without the
GAT, beside a ridge-regression baseline on the same 20-day windows.

    python bench/trainer_quality.py                 # default preset: 256 stocks, 8 sectors, 600 days
    python bench/trainer_quality.py --set train.epochs=4

The ridge baseline fits, per horizon, the day-z-scored target on the flattened
normalised window of the stock's own features (``own``), and on those plus the
sector mean of the noisy sector feature over the window (``+sector``). Same
train days, same embargo, same validation days as the trainer.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see trainer/__main__.py

import torch

from trainer.config import load_config
from trainer.data import load_for_config, make_split, window_valid
from trainer.train import Runtime, Trainer


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = a.argsort().argsort().astype(float)
    rb = b.argsort().argsort().astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def ridge_baseline(panel, split, window: int, alpha: float, with_sector: bool) -> dict[int, float]:
    feats = panel.features
    wv = window_valid(panel.valid, window)
    j = panel.feature_names.index("sig_sector") if with_sector else None
    n_sec = int(panel.sectors.max()) + 1
    onehot = np.eye(n_sec)[panel.sectors]  # [N, S]

    def design(t: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.flatnonzero(wv[t])
        x = feats[t - window + 1 : t + 1, idx].transpose(1, 0, 2).reshape(idx.size, -1)
        if with_sector:
            s = feats[t - window + 1 : t + 1, idx, j]  # [T, n]
            oh = onehot[idx]
            sec_mean = (s @ oh) / oh.sum(0).clip(1)  # [T, S]
            x = np.concatenate([x, (sec_mean @ oh.T).T], axis=1)
        return x, idx

    out = {}
    for k, h in enumerate(panel.horizons):
        xs, ys = [], []
        for t in split.train_days:
            x, idx = design(int(t))
            y = panel.targets[t, idx, k]
            keep = np.isfinite(y)
            if keep.sum() < 3:
                continue
            y = (y[keep] - y[keep].mean()) / (y[keep].std() + 1e-12)
            xs.append(x[keep])
            ys.append(y)
        x_tr, y_tr = np.concatenate(xs), np.concatenate(ys)
        w = np.linalg.solve(x_tr.T @ x_tr + alpha * np.eye(x_tr.shape[1]), x_tr.T @ y_tr)
        ics = []
        for t in split.val_days:
            x, idx = design(int(t))
            y = panel.targets[t, idx, k]
            keep = np.isfinite(y)
            if keep.sum() >= 3:
                ics.append(_spearman(x[keep] @ w, y[keep]))
        out[h] = float(np.mean(ics)) if ics else float("nan")
    return out


def train_model(cfg, panel, split) -> tuple[dict, float]:
    t0 = time.perf_counter()
    trainer = Trainer(
        cfg,
        panel,
        split,
        None,
        Runtime(device=torch.device("cuda" if torch.cuda.is_available() else "cpu")),
    )
    result = trainer.fit()
    return result, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--alpha", type=float, default=100.0, help="ridge penalty")
    p.add_argument("--skip-model", action="store_true", help="only the ridge baseline")
    p.add_argument("--skip-ridge", action="store_true", help="only the trained models")
    p.add_argument(
        "--models", default="nogat,gat", help="which runs: nogat, gat or both (comma separated)"
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    cfg = load_config(args.preset, args.set)
    panel = load_for_config(cfg)
    split = make_split(panel, cfg.data)
    rows: dict[str, dict[int, float]] = {}
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    if not args.skip_ridge:
        rows["ridge own"] = ridge_baseline(panel, split, cfg.data.window, args.alpha, False)
        rows["ridge +sector mean"] = ridge_baseline(panel, split, cfg.data.window, args.alpha, True)
        times["ridge"] = time.perf_counter() - t0
    if not args.skip_model:
        wanted = set(args.models.split(","))
        runs = [("model no GAT", False, "nogat"), ("model GAT", True, "gat")]
        for name, gat, key in runs:
            if key not in wanted:
                continue
            run_cfg = load_config(args.preset, [*args.set, f"model.use_gat={str(gat).lower()}"])
            result, secs = train_model(run_cfg, panel, split)
            rows[name] = {h: result[f"val_rank_ic_{h}d"] for h in cfg.data.horizons}
            times[name] = secs
            rows[name + " (best epoch)"] = {0: result["best_epoch"]}

    print(
        f"\nmean daily validation RankIC, {len(panel.codes)} stocks, {len(panel.dates)} days, "
        f"train {split.train_days.size} / val {split.val_days.size} days"
    )
    names = [n for n in rows if "best epoch" not in n]
    print("| horizon | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for h in cfg.data.horizons:
        print(f"| {h}d | " + " | ".join(f"{rows[n][h]:.3f}" for n in names) + " |")
    print("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    if args.json:
        print(
            json.dumps(
                {
                    "rank_ic": {n: rows[n] for n in names},
                    "seconds": times,
                    "best_epoch": {
                        n: rows[n + " (best epoch)"][0] for n in names if n.startswith("model")
                    },
                }
            )
        )


if __name__ == "__main__":
    main()
