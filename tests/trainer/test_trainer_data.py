import itertools

import numpy as np
import pandas as pd
import polars as pl
import pytest

from trainer.config import DataConfig, load_config
from trainer.data import (
    load_panel,
    make_split,
    normalise_per_date,
    sample_days,
    walk_forward_splits,
    window_valid,
)
from trainer.errors import DataError
from trainer.synth import generate_panel, write_panel


def test_synthetic_panel_schema(small_synth, tmp_path):
    df = generate_panel(small_synth)
    assert df.height == small_synth.n_stocks * small_synth.n_days
    assert df.schema["code"] == pl.String and df.schema["date"] == pl.Date
    assert df.schema["sector"] == pl.Categorical
    for h in (1, 5, 10, 20):
        assert df.schema[f"ret_{h}d"] == pl.Float32
    assert df.select(pl.struct("code", "date").is_duplicated().any()).item() is False
    path = write_panel(small_synth, tmp_path / "p.parquet")
    assert pl.read_parquet(path).equals(df)
    # Same seed, same panel.
    assert generate_panel(small_synth).equals(df)


def test_synthetic_targets_are_forward_sums(small_synth):
    df = generate_panel(small_synth).sort("code", "date")
    one = df.filter(pl.col("code") == "S0001")
    r1 = one["ret_1d"].to_numpy()
    r5 = one["ret_5d"].to_numpy()
    np.testing.assert_allclose(
        r5[:-5], np.convolve(r1, np.ones(5), "valid")[:-1][: len(r5) - 5], atol=1e-6
    )
    # the past 1-day return at t is the 1-day forward return of t-1
    np.testing.assert_allclose(one["past_ret_1d"].to_numpy()[1:-1], r1[:-2], atol=1e-6)


@pytest.mark.parametrize("method", ["zscore", "robust"])
def test_per_date_normalisation_matches_pandas(method):
    rng = np.random.default_rng(0)
    d, n, f = 6, 15, 3
    raw = rng.standard_normal((d, n, f)).astype(np.float32) * 3 + 1
    raw[0, 2, 1] = np.nan
    raw[4, 7, 0] = np.inf
    valid = np.ones((d, n), bool)
    valid[3, 5] = False
    out, names = normalise_per_date(
        raw, valid, method, clip=50.0, missing_flags="auto", names=["a", "b", "c"]
    )
    assert names == ["a", "b", "c", "a__missing", "b__missing"]
    for t in range(d):
        for j in range(f):
            s = pd.Series(np.where(valid[t], raw[t, :, j], np.nan)).replace([np.inf], np.nan)
            if method == "zscore":
                ref = (s - s.mean()) / s.std(ddof=0)
            else:
                med = s.median()
                ref = (s - med) / (1.4826 * (s - med).abs().median())
            np.testing.assert_allclose(
                out[t, :, j], ref.fillna(0.0).to_numpy(), rtol=1e-5, atol=1e-5
            )
    assert out[0, 2, 4] == 1.0 and out[4, 7, 3] == 1.0 and out[:, :, 3].sum() == 1.0
    # stats are per date: each valid cross-section has mean 0 and std 1 (z-score)
    if method == "zscore":
        np.testing.assert_allclose(out[1, :, 0].mean(), 0.0, atol=1e-6)
        np.testing.assert_allclose(out[1, :, 0].std(), 1.0, atol=1e-5)


def test_normalisation_is_per_date_across_stocks_not_per_stock(tiny_panel_df):
    cfg = load_config("tiny", []).data
    panel = load_panel(tiny_panel_df, cfg)
    j = panel.feature_names.index("sig_stock")
    x = panel.features[:, :, j]
    np.testing.assert_allclose(x.mean(axis=1), 0.0, atol=1e-5)
    assert (x.std(axis=0) > 0.5).all()  # a single stock's series is not flattened to zero


def test_clip():
    raw = np.zeros((1, 50, 1), np.float32)
    raw[0, 0, 0] = 1000.0
    out, _ = normalise_per_date(raw, np.ones((1, 50), bool), "zscore", clip=3.0)
    assert out.max() == pytest.approx(3.0)


def test_window_valid():
    valid = np.ones((6, 2), bool)
    valid[2, 1] = False
    wv = window_valid(valid, 3)
    assert wv[:, 0].tolist() == [False, False, True, True, True, True]
    assert wv[:, 1].tolist() == [False, False, False, False, False, True]


@pytest.mark.parametrize("n_folds", [1, 3])
@pytest.mark.parametrize("embargo", [20, 25])
def test_walk_forward_has_no_target_overlap(n_folds, embargo):
    days = np.arange(19, 500)
    splits = walk_forward_splits(days, 0.6, embargo, n_folds)
    assert len(splits) == n_folds
    max_h = 20
    for s in splits:
        # the train target (t, t+h] ends before the first validation target (v, v+h] starts
        assert s.train_days.max() + max_h <= s.val_days.min()
        assert s.val_days.min() - s.train_days.max() > embargo
        assert np.intersect1d(s.train_days, s.val_days).size == 0
    if n_folds > 1:  # expanding window
        assert all(a.train_days.size < b.train_days.size for a, b in itertools.pairwise(splits))


def test_split_on_panel_respects_embargo(tiny_panel_df):
    cfg = load_config("tiny", []).data
    panel = load_panel(tiny_panel_df, cfg)
    split = make_split(panel, cfg)
    assert split.val_days.min() - split.train_days.max() >= cfg.embargo + 1
    assert split.train_days.min() >= cfg.window - 1


def _write(df: pl.DataFrame, tmp_path):
    p = tmp_path / "panel.parquet"
    df.write_parquet(p)
    return p


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_panel(tmp_path / "nope.parquet", DataConfig())


def test_not_parquet(tmp_path):
    p = tmp_path / "x.parquet"
    p.write_text("hello")
    with pytest.raises(DataError, match="Parquet"):
        load_panel(p, DataConfig())


def test_missing_column(tiny_panel_df):
    with pytest.raises(DataError, match="ret_5d"):
        load_panel(tiny_panel_df.drop("ret_5d"), DataConfig())


def test_wrong_dtype(tiny_panel_df):
    bad = tiny_panel_df.with_columns(pl.col("sig_stock").cast(pl.String))
    with pytest.raises(DataError, match="'sig_stock' must be numeric"):
        load_panel(bad, DataConfig())
    with pytest.raises(DataError, match="'date' must be"):
        load_panel(tiny_panel_df.with_columns(pl.col("date").cast(pl.String)), DataConfig())


def test_duplicate_rows(tiny_panel_df):
    bad = pl.concat([tiny_panel_df, tiny_panel_df.head(3)])
    with pytest.raises(DataError, match="3 duplicate"):
        load_panel(bad, DataConfig())


def test_nonfinite_features_masked_or_rejected(tiny_panel_df):
    cfg = load_config("tiny", []).data
    bad = tiny_panel_df.with_columns(
        pl.when(pl.int_range(pl.len()) == 500)
        .then(float("inf"))
        .otherwise(pl.col("sig_stock"))
        .alias("sig_stock")
    )
    panel = load_panel(bad, cfg)
    assert np.isfinite(panel.features).all()
    assert "sig_stock__missing" in panel.feature_names
    cfg.nonfinite = "error"
    with pytest.raises(DataError, match="NaN or infinite"):
        load_panel(bad, cfg)


def test_too_few_days(tiny_panel_df):
    short = tiny_panel_df.filter(pl.col("date") < pl.col("date").min() + pl.duration(days=40))
    with pytest.raises(DataError, match="need at least"):
        load_panel(short, DataConfig())


def test_empty_day(tiny_panel_df):
    feats = [
        c
        for c in tiny_panel_df.columns
        if c not in ("code", "date", "sector") and not c.startswith("ret_")
    ]
    day = tiny_panel_df["date"].unique().sort()[50]
    bad = tiny_panel_df.with_columns(
        [pl.when(pl.col("date") == day).then(None).otherwise(pl.col(c)).alias(c) for c in feats]
    )
    with pytest.raises(DataError, match="no row with any finite feature"):
        load_panel(bad, DataConfig())


def test_empty_panel(tiny_panel_df):
    with pytest.raises(DataError, match="no rows"):
        load_panel(tiny_panel_df.head(0), DataConfig())


def test_missing_stock_rows_invalidate_windows(tiny_panel_df):
    cfg = load_config("tiny", []).data
    day = tiny_panel_df["date"].unique().sort()[60]
    holed = tiny_panel_df.filter(~((pl.col("code") == "S0003") & (pl.col("date") == day)))
    panel = load_panel(holed, cfg)
    i = panel.codes.index("S0003")
    assert not panel.valid[60, i]
    wv = window_valid(panel.valid, cfg.window)
    assert not wv[60 : 60 + cfg.window, i].any() and wv[60 + cfg.window, i]
    assert sample_days(panel, cfg).size > 0
