"""Data preparation: the synthetic panel as pandas, stock metadata maps, arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainer.synth import SynthConfig, generate_panel

FEATURES = [
    "sig_stock", "sig_sector", "past_ret_1d", "past_ret_5d", "past_ret_10d",
    "past_ret_20d", "volume_z",
]
TARGETS = ["ret_1d", "ret_5d", "ret_10d", "ret_20d"]


def load_market(n_stocks: int = 48, n_days: int = 120, seed: int = 0) -> pd.DataFrame:
    """The synthetic market as a pandas frame, one row per (code, date)."""
    panel = generate_panel(SynthConfig(n_stocks=n_stocks, n_days=n_days, seed=seed, n_noise=2))
    return pd.DataFrame({name: panel[name].to_numpy() for name in panel.columns})


def stock_table(market: pd.DataFrame) -> pd.DataFrame:
    """One row per stock: its code, sector and listing number."""
    table = market[["code", "sector"]].drop_duplicates("code").reset_index(drop=True)
    table["listing"] = np.arange(1301, 1301 + len(table))
    table["weight"] = 1.0 / len(table)
    return table


def code_to_sector(stocks: pd.DataFrame) -> dict[str, str]:
    """Sector name of every stock code."""
    return {str(r["code"]): str(r["sector"]) for _, r in stocks[["code", "sector"]].iterrows()}


def listing_to_code(stocks: pd.DataFrame) -> dict[str, str]:
    """Stock code of every listing number, as the exchange files spell it."""
    return {str(r["listing"]): str(r["code"]) for _, r in stocks[["listing", "weight", "code"]].iterrows()}


def sector_members(stocks: pd.DataFrame) -> dict[str, list[str]]:
    """Stock codes of every sector, in listing order."""
    members: dict[str, list[str]] = {}
    for _, row in stocks.iterrows():
        members.setdefault(row["sector"], []).append(row["code"])
    return members


def sector_ids(stocks: pd.DataFrame) -> np.ndarray:
    """A dense integer id per stock's sector, in the table's order."""
    names = sorted(set(code_to_sector(stocks).values()))
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[s] for s in stocks["sector"].astype(str)], dtype=np.int64)


def to_arrays(market: pd.DataFrame, stocks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features ``[D, N, F]``, targets ``[D, N, H]`` and daily returns ``[D, N]``.

    Missing features become 0 (the features are z-scored per day first);
    missing targets stay NaN and are skipped by the loss and the metrics.
    """
    codes = stocks["code"].tolist()
    market = market.sort_values(["date", "code"])
    n_days = market["date"].nunique()
    n = len(codes)
    features = market[FEATURES].to_numpy(dtype=np.float32).reshape(n_days, n, len(FEATURES))
    present = np.isfinite(features)
    count = np.maximum(present.sum(axis=1, keepdims=True), 1)
    mean = np.where(present, features, 0.0).sum(axis=1, keepdims=True) / count
    centred = np.where(present, features - mean, 0.0)
    std = np.sqrt((centred**2).sum(axis=1, keepdims=True) / count) + 1e-6
    features = (centred / std).astype(np.float32)
    targets = market[TARGETS].to_numpy(dtype=np.float32).reshape(n_days, n, len(TARGETS)).copy()
    returns = np.nan_to_num(market["past_ret_1d"].to_numpy(dtype=np.float32)).reshape(n_days, n).copy()
    return features, targets, returns
