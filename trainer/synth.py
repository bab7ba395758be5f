"""Synthetic market with a known, learnable signal (see ``shared/trainer.md``).

N stocks in S sectors (``sector(i) = i mod S``), D days. Latent signals of unit
variance: a per-stock AR(1) ``z`` (rho 0.9) and a per-sector AR(1) ``h``
(rho 0.8). The return realised over day t+1 is, times 0.01::

    r[t+1] = beta_i * m + 0.8 * f_sector + eps + 0.3 * z[t] + 0.3 * h_sector[t]

with ``beta_i ~ 1 + 0.2 N(0,1)``, market shock ``m``, sector shock ``f`` and
idiosyncratic ``eps`` all standard normal. Features observed at the close of t:

* ``sig_stock``  = z[t] + N(0,1)
* ``sig_sector`` = h_sector[t] + 4 N(0,1) (only pooling across a sector cleans it)
* ``past_ret_{w}d`` for w in (1, 5, 10, 20): realised return over the last w days
  (missing for the first w days, which exercises fill-and-flag)
* ``volume_z``: a return-independent nuisance column, and ``noise_00..`` pure noise

Targets ``ret_{h}d`` are forward h-day returns from the close of t (null at the
end of the panel where the future is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from trainer.errors import ConfigError

PAST_WINDOWS = (1, 5, 10, 20)
TARGET_HORIZONS = (1, 5, 10, 20)


@dataclass
class SynthConfig:
    """Size and seed of the synthetic market."""

    n_stocks: int = 256
    """Number of stocks N."""
    n_sectors: int = 8
    """Number of sectors S; stock i belongs to sector ``i mod S``."""
    n_days: int = 600
    """Number of trading days D."""
    seed: int = 0
    """Seed of the generator; the same seed gives the same panel."""
    n_noise: int = 10
    """Number of pure-noise feature columns."""
    missing_rate: float = 0.0
    """Fraction of feature cells set to null at random (besides the natural gaps)."""

    def __post_init__(self) -> None:
        if self.n_stocks < 2:
            raise ConfigError(f"synth.n_stocks must be at least 2, got {self.n_stocks}.")
        if not 1 <= self.n_sectors <= self.n_stocks:
            raise ConfigError(
                f"synth.n_sectors must be between 1 and n_stocks, got {self.n_sectors}."
            )
        if self.n_days < 2:
            raise ConfigError(f"synth.n_days must be at least 2, got {self.n_days}.")
        if self.n_noise < 0:
            raise ConfigError(f"synth.n_noise must be >= 0, got {self.n_noise}.")
        if not 0.0 <= self.missing_rate < 1.0:
            raise ConfigError(f"synth.missing_rate must be in [0, 1), got {self.missing_rate}.")


def _ar1(rng: np.random.Generator, n_days: int, n: int, rho: float) -> np.ndarray:
    """Stationary unit-variance AR(1) paths, shape [n_days, n]."""
    out = np.empty((n_days, n))
    out[0] = rng.standard_normal(n)
    innov = rng.standard_normal((n_days, n)) * np.sqrt(1.0 - rho * rho)
    for t in range(1, n_days):
        out[t] = rho * out[t - 1] + innov[t]
    return out


def simulate(cfg: SynthConfig) -> dict[str, np.ndarray]:
    """Latent paths and arrays of the market, all shaped [D, N] (or [N])."""
    rng = np.random.default_rng(cfg.seed)
    d, n, s = cfg.n_days, cfg.n_stocks, cfg.n_sectors
    sector = np.arange(n) % s
    z = _ar1(rng, d, n, 0.9)
    h = _ar1(rng, d, s, 0.8)
    beta = 1.0 + 0.2 * rng.standard_normal(n)
    m = rng.standard_normal(d)
    f = rng.standard_normal((d, s))
    eps = rng.standard_normal((d, n))
    # r[t] is the return realised over day t (close t-1 -> close t); r[0] = 0.
    r = np.zeros((d, n))
    r[1:] = 0.01 * (
        beta[None, :] * m[1:, None]
        + 0.8 * f[1:][:, sector]
        + eps[1:]
        + 0.3 * z[:-1]
        + 0.3 * h[:-1][:, sector]
    )
    return {"z": z, "h": h[:, sector], "r": r, "sector": sector}


def generate_panel(cfg: SynthConfig) -> pl.DataFrame:
    """Return the synthetic panel in the documented schema, one row per (code, date)."""
    lat = simulate(cfg)
    rng = np.random.default_rng(cfg.seed + 1_000_003)
    d, n = cfg.n_days, cfg.n_stocks
    z, h, r, sector = lat["z"], lat["h"], lat["r"], lat["sector"]
    cols: dict[str, np.ndarray] = {
        "sig_stock": z + rng.standard_normal((d, n)),
        "sig_sector": h + 4.0 * rng.standard_normal((d, n)),
    }
    cum = np.vstack([np.zeros((1, n)), np.cumsum(r, axis=0)])  # cum[t+1] = sum r[0..t]
    for w in PAST_WINDOWS:
        past = np.full((d, n), np.nan)
        past[w:] = cum[w + 1 :] - cum[1:-w]  # sum r[t-w+1..t]
        cols[f"past_ret_{w}d"] = past
    cols["volume_z"] = _ar1(rng, d, n, 0.5)
    for j in range(cfg.n_noise):
        cols[f"noise_{j:02d}"] = rng.standard_normal((d, n))
    if cfg.missing_rate > 0:
        for name in list(cols):
            holes = rng.random((d, n)) < cfg.missing_rate
            cols[name] = np.where(holes, np.nan, cols[name])
    for hz in TARGET_HORIZONS:
        fwd = np.full((d, n), np.nan)
        fwd[: d - hz] = cum[hz + 1 :] - cum[1 : d - hz + 1]  # sum r[t+1..t+h]
        cols[f"ret_{hz}d"] = fwd

    codes = np.array([f"S{i:04d}" for i in range(n)])
    dates = np.datetime64("2020-01-01") + np.arange(d).astype("timedelta64[D]")
    frame = {
        "code": np.tile(codes, d),
        "date": np.repeat(dates, n),
        "sector": np.tile(np.array([f"sector_{k:02d}" for k in sector]), d),
    }
    for name, arr in cols.items():
        frame[name] = arr.reshape(-1).astype(np.float32)
    df = pl.DataFrame(frame).with_columns(
        pl.col("date").cast(pl.Date),
        pl.col("sector").cast(pl.Categorical),
    )
    # NaN is how the arrays spell "missing"; the panel spells it null.
    return df.with_columns(pl.col(pl.Float32).fill_nan(None))


def write_panel(cfg: SynthConfig, path: str | Path) -> Path:
    """Generate the panel and write it as Parquet to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    generate_panel(cfg).write_parquet(tmp)
    tmp.replace(path)
    return path
