"""Panel loading, per-date normalisation, sample days and walk-forward splits.

The panel (one row per ``(code, date)``) is read with Polars and scattered into
one contiguous ``[D, N, F]`` float32 array with a ``[D, N]`` validity mask.
A sample is (day t, stock i) with a full window ``t-T+1..t``; a batch is one or
more days, and a day's windows are an index slice of the array (see
:meth:`DeviceData.windows`), never a per-sample file read.

Normalisation is per date, across every stock of that date in the whole panel,
before any split (it uses no information from other dates, so it cannot leak
across the train/validation boundary). No statistic spans dates, so nothing
needs fitting on the training days; the one whole-panel choice, which flag
columns exist (``missing_flags='auto'``), looks only at where features are
missing, never at values or targets.

Missing values: a feature cell that is null, NaN or inf (with
``data.nonfinite='mask'``) is missing; it is filled with 0 (the cross-sectional
mean after normalisation) and flagged in a ``<feature>__missing`` column.
A missing target is left out of the loss and metrics. A stock-day without a
row is invalid, and so is every window that contains it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import torch

from trainer.config import Config, DataConfig
from trainer.errors import DataError

KEY_COLUMNS = ("code", "date", "sector")


def target_column(h: int) -> str:
    return f"ret_{h}d"


@dataclass
class Panel:
    """A panel as dense arrays. D dates, N stocks, F features (flags included), Hz horizons."""

    features: np.ndarray
    """[D, N, F] float32, normalised per date, missing filled with 0."""
    valid: np.ndarray
    """[D, N] bool, the stock has a row on that date."""
    targets: np.ndarray
    """[D, N, Hz] float32 forward returns, NaN where unknown."""
    past_returns: np.ndarray
    """[D, N] float32 return realised over day t (``ret_1d`` of t-1), NaN where unknown."""
    sectors: np.ndarray
    """[N] int64 sector id per stock."""
    codes: list[str]
    dates: list
    feature_names: list[str]
    horizons: list[int]


# ---------------------------------------------------------------------------
# Reading and checking


def read_panel(source: str | Path | pl.DataFrame) -> pl.DataFrame:
    if isinstance(source, pl.DataFrame):
        return source
    path = Path(source)
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist.")
    if path.is_dir():
        raise DataError(f"data path {str(path)!r} is a directory, not a Parquet file.")
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - polars raises many exception types for bad files
        raise DataError(
            f"could not read {str(path)!r} as Parquet ({type(exc).__name__})."
        ) from None


def _check_schema(df: pl.DataFrame, cfg: DataConfig) -> list[str]:
    if df.height == 0:
        raise DataError("the panel has no rows.")
    targets = [target_column(h) for h in cfg.horizons]
    missing = [c for c in (*KEY_COLUMNS, *targets) if c not in df.columns]
    if missing:
        raise DataError(f"the panel lacks required column(s) {', '.join(missing)}.")
    if df.schema["date"] not in (pl.Date, pl.Datetime) and not isinstance(
        df.schema["date"], pl.Datetime
    ):
        raise DataError(f"column 'date' must be a Date or Datetime, got {df.schema['date']}.")
    if df.schema["code"] not in (pl.String, pl.Categorical) and not df.schema["code"].is_integer():
        raise DataError(f"column 'code' must be a string, got {df.schema['code']}.")
    for c in targets:
        if not df.schema[c].is_numeric():
            raise DataError(f"target column '{c}' must be numeric, got {df.schema[c]}.")
    reserved = {*KEY_COLUMNS, *(c for c in df.columns if c.startswith("ret_") and c.endswith("d"))}
    if cfg.features:
        absent = [c for c in cfg.features if c not in df.columns]
        if absent:
            raise DataError(f"the panel lacks feature column(s) {', '.join(absent)}.")
        feats = list(cfg.features)
    else:
        feats = [c for c in df.columns if c not in reserved]
    for c in feats:
        if not df.schema[c].is_numeric():
            raise DataError(f"feature column '{c}' must be numeric, got {df.schema[c]}.")
    if not feats:
        raise DataError("the panel has no numeric feature columns.")
    return feats


def load_panel(source: str | Path | pl.DataFrame, cfg: DataConfig) -> Panel:
    """Read and check a panel, then build the dense normalised arrays.

    Raises:
        DataError: missing file or column, wrong dtype, duplicate (code, date) rows,
            non-finite features with ``nonfinite='error'``, a date with no usable
            row, or too few dates for window + embargo + horizon.
    """
    df = read_panel(source)
    feats = _check_schema(df, cfg)
    targets = [target_column(h) for h in cfg.horizons]
    df = df.select(
        pl.col("code").cast(pl.String),
        pl.col("date").cast(pl.Date),
        pl.col("sector").cast(pl.String),
        *[pl.col(c).cast(pl.Float64) for c in (*feats, *targets)],
    )
    if df["code"].null_count() or df["date"].null_count():
        raise DataError("columns 'code' and 'date' must not contain nulls.")
    dup = df.height - df.select(pl.struct("code", "date").n_unique()).item()
    if dup:
        first = df.filter(pl.struct("code", "date").is_duplicated()).row(0, named=True)
        raise DataError(
            f"the panel has {dup} duplicate (code, date) rows, e.g. "
            f"({first['code']}, {first['date']})."
        )
    if cfg.nonfinite == "error":
        bad = df.select(
            pl.sum_horizontal(*[(~pl.col(c).is_finite()).fill_null(False) for c in feats]).sum()
        ).item()
        if bad:
            raise DataError(
                f"the panel has {bad} NaN or infinite feature values (data.nonfinite=error)."
            )

    codes = df["code"].unique().sort()
    dates = df["date"].unique().sort()
    n, d = codes.len(), dates.len()
    need = cfg.window + cfg.embargo + max(cfg.horizons) + 2
    if d < need:
        raise DataError(
            f"the panel has {d} dates but window {cfg.window} + embargo {cfg.embargo} "
            f"+ longest horizon {max(cfg.horizons)} need at least {need}."
        )
    code_idx = pl.DataFrame({"code": codes, "_ci": np.arange(n, dtype=np.int64)})
    date_idx = pl.DataFrame({"date": dates, "_di": np.arange(d, dtype=np.int64)})
    df = df.join(code_idx, on="code").join(date_idx, on="date")
    ci = df["_ci"].to_numpy()
    di = df["_di"].to_numpy()

    raw = np.full((d, n, len(feats)), np.nan, dtype=np.float32)
    values = df.select(feats).to_numpy().astype(np.float32)  # nulls arrive as NaN
    values[~np.isfinite(values)] = np.nan
    raw[di, ci] = values
    valid = np.zeros((d, n), dtype=bool)
    valid[di, ci] = True

    usable = np.isfinite(raw).any(axis=2) & valid
    empty_days = np.flatnonzero(~usable.any(axis=1))
    if empty_days.size:
        raise DataError(
            f"date {dates[int(empty_days[0])]} has no row with any finite feature "
            f"({empty_days.size} such dates)."
        )

    tgt = np.full((d, n, len(targets)), np.nan, dtype=np.float32)
    tv = df.select(targets).to_numpy().astype(np.float32)
    tv[~np.isfinite(tv)] = np.nan
    tgt[di, ci] = tv
    past = np.full((d, n), np.nan, dtype=np.float32)
    if 1 in cfg.horizons:
        past[1:] = tgt[:-1, :, cfg.horizons.index(1)]
    else:  # the 1-day return is needed only for the graph; fall back to the first feature
        past[:] = raw[:, :, 0]

    sec_df = df.group_by("_ci").agg(pl.col("sector").last()).sort("_ci")
    sec_names = sec_df["sector"].fill_null("unknown")
    uniq = sorted(set(sec_names.to_list()))
    lookup = {s: i for i, s in enumerate(uniq)}
    sectors = np.array([lookup[s] for s in sec_names.to_list()], dtype=np.int64)

    features, names = normalise_per_date(raw, valid, cfg.norm, cfg.clip, cfg.missing_flags, feats)
    return Panel(
        features=features,
        valid=valid,
        targets=tgt,
        past_returns=past,
        sectors=sectors,
        codes=codes.to_list(),
        dates=dates.to_list(),
        feature_names=names,
        horizons=list(cfg.horizons),
    )


def normalise_per_date(
    raw: np.ndarray,
    valid: np.ndarray,
    method: str = "zscore",
    clip: float = 5.0,
    missing_flags: str = "auto",
    names: list[str] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Cross-sectional normalisation of ``raw [D, N, F]`` per date and feature.

    ``zscore``: (x - mean) / std over the date's stocks; ``robust``:
    (x - median) / (1.4826 * MAD). Results are clipped to [-clip, clip];
    missing cells become 0 and, per ``missing_flags``, get a 0/1 flag column.
    Returns the ``[D, N, F']`` float32 array and the column names.
    """
    names = list(names) if names is not None else [f"f{j}" for j in range(raw.shape[2])]
    x = np.where(valid[:, :, None], raw, np.nan).astype(np.float64)
    missing = ~np.isfinite(x)
    x[missing] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "zscore":
            centre = np.nanmean(x, axis=1, keepdims=True)
            scale = np.nanstd(x, axis=1, keepdims=True)
        else:
            centre = np.nanmedian(x, axis=1, keepdims=True)
            scale = 1.4826 * np.nanmedian(np.abs(x - centre), axis=1, keepdims=True)
    scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
    z = np.clip((x - centre) / scale, -clip, clip)
    z = np.where(missing, 0.0, z)
    out = [z]
    if missing_flags != "none":
        flag_cols = np.arange(raw.shape[2])
        if missing_flags == "auto":
            flag_cols = np.flatnonzero((missing & valid[:, :, None]).any(axis=(0, 1)))
        if flag_cols.size:
            out.append(missing[:, :, flag_cols].astype(np.float64) * valid[:, :, None])
            names = names + [f"{names[j]}__missing" for j in flag_cols]
    return np.ascontiguousarray(np.concatenate(out, axis=2), dtype=np.float32), names


# ---------------------------------------------------------------------------
# Samples and splits


def window_valid(valid: np.ndarray, window: int) -> np.ndarray:
    """``[D, N]`` bool: the stock has rows on all of the ``window`` days ending at t."""
    c = np.concatenate([np.zeros((1, valid.shape[1]), np.int64), np.cumsum(valid, 0)], 0)
    out = np.zeros_like(valid)
    out[window - 1 :] = (c[window:] - c[:-window]) == window
    return out


def sample_days(panel: Panel, cfg: DataConfig) -> np.ndarray:
    """Date indices that have at least ``min_stocks`` full windows with a known target."""
    wv = window_valid(panel.valid, cfg.window)
    has_target = np.isfinite(panel.targets).any(axis=2)
    counts = (wv & has_target).sum(axis=1)
    days = np.flatnonzero(counts >= cfg.min_stocks)
    if days.size == 0:
        raise DataError(
            f"no date has {cfg.min_stocks} stocks with a full {cfg.window}-day window and a target."
        )
    return days


@dataclass
class Split:
    train_days: np.ndarray
    val_days: np.ndarray


def walk_forward_splits(
    days: np.ndarray, train_frac: float, embargo: int, n_folds: int = 1
) -> list[Split]:
    """Expanding-window walk-forward splits over date indices ``days`` (sorted).

    The days after the first ``train_frac`` are cut into ``n_folds`` validation
    blocks. Fold k trains on every day at least ``embargo + 1`` dates before the
    first validation date of block k, so a train target ``(t, t+h]`` with
    ``h <= embargo`` ends before any validation target starts.
    """
    days = np.asarray(days)
    n_first = round(train_frac * days.size)
    rest = days[n_first:]
    if n_first < 1 or rest.size < n_folds:
        raise DataError(
            f"{days.size} sample days are too few for a split with train_frac={train_frac}."
        )
    blocks = np.array_split(rest, n_folds)
    splits = []
    for block in blocks:
        val_days = block[block >= days[n_first - 1] + embargo + 1] if block is blocks[0] else block
        train_days = days[days <= val_days[0] - embargo - 1] if val_days.size else days[:0]
        if train_days.size == 0 or val_days.size == 0:
            raise DataError(
                f"too few days for window + embargo: {days.size} sample days leave an empty "
                f"train or validation set with embargo {embargo}."
            )
        splits.append(Split(train_days=train_days, val_days=val_days))
    return splits


def make_split(panel: Panel, cfg: DataConfig) -> Split:
    days = sample_days(panel, cfg)
    split = walk_forward_splits(days, cfg.train_frac, cfg.embargo, cfg.n_folds)[cfg.fold]
    if cfg.max_val_days:
        split = Split(split.train_days, split.val_days[: cfg.max_val_days])
    return split


# ---------------------------------------------------------------------------
# Device-resident arrays


class DeviceData:
    """The panel's arrays as tensors on one device; windows are gathered there."""

    def __init__(self, panel: Panel, window: int, device: torch.device):
        self.window = window
        self.device = device
        self.features = torch.from_numpy(panel.features).to(device)  # [D, N, F]
        self.targets = torch.from_numpy(panel.targets).to(device)  # [D, N, Hz]
        self.past_returns = torch.from_numpy(panel.past_returns).to(device)  # [D, N]
        self.sectors = torch.from_numpy(panel.sectors).to(device)  # [N]
        wv = window_valid(panel.valid, window) & np.isfinite(panel.targets).any(axis=2)
        self.sample_mask = torch.from_numpy(wv).to(device)  # [D, N]

    def stocks(self, t: int) -> torch.Tensor:
        """Indices of the stocks with a full window and a target on date t."""
        return torch.nonzero(self.sample_mask[t]).squeeze(1)

    def windows(self, t: int, idx: torch.Tensor) -> torch.Tensor:
        """``[n, T, F]`` windows ending at date t for stocks ``idx`` (a slice plus a gather)."""
        return self.features[t - self.window + 1 : t + 1].index_select(1, idx).transpose(0, 1)

    def returns_history(self, t: int, idx: torch.Tensor, lookback: int) -> torch.Tensor:
        """``[n, L]`` realised daily returns of the last ``lookback`` dates up to t."""
        start = max(0, t - lookback + 1)
        return self.past_returns[start : t + 1].index_select(1, idx).transpose(0, 1)


def describe(panel: Panel, split: Split) -> str:
    return (
        f"panel: {len(panel.dates)} dates x {len(panel.codes)} stocks x "
        f"{len(panel.feature_names)} features; train {split.train_days.size} days, "
        f"validation {split.val_days.size} days"
    )


def load_for_config(cfg: Config, source: str | Path | pl.DataFrame | None = None) -> Panel:
    """Load ``source`` or ``cfg.data.path``; with neither, generate the synthetic market."""
    if source is None and cfg.data.path:
        source = cfg.data.path
    if source is None:
        from trainer.synth import generate_panel

        source = generate_panel(cfg.synth)
    return load_panel(source, cfg.data)
