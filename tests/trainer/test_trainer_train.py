import json

import numpy as np
import polars as pl
import pytest
import torch

from trainer.__main__ import main
from trainer.config import load_config
from trainer.smoke import run_smoke
from trainer.train import evaluate_checkpoint, fit, load_checkpoint, lr_lambda


def test_tiny_fit_end_to_end(tmp_path, tiny_panel_path):
    cfg = load_config("tiny", [])
    lines = []
    result = fit(cfg, data=tiny_panel_path, out_dir=tmp_path, log=lines.append)
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "best.pt").is_file()
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporary files
    log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    for h in (1, 5, 10, 20):
        assert -1.0 <= result[f"val_rank_ic_{h}d"] <= 1.0
    assert np.isfinite(result["train_loss"]) and result["samples_per_s"] > 0
    assert lines[0].startswith("panel:") and lines[1].startswith("epoch 1/2")
    ck = load_checkpoint(tmp_path / "last.pt")
    for key in ("model", "optimizer", "scheduler", "step", "epoch", "best_metric", "rng", "config"):
        assert key in ck
    assert ck["epoch"] == 2 and ck["config"]["model"]["hidden"] == 16
    ev = evaluate_checkpoint(tmp_path / "best.pt", data=tiny_panel_path)
    assert ev["val_rank_ic_1d"] == pytest.approx(result["val_rank_ic_1d"], abs=1e-9)


def test_resume_continues_exactly(tmp_path, tiny_panel_df):
    # dropout on, so the restored RNG state matters too
    cfg = load_config("tiny", ["model.dropout=0.2"])
    full = fit(cfg, data=tiny_panel_df, out_dir=tmp_path / "full", log=lambda s: None)
    part = fit(
        cfg, data=tiny_panel_df, out_dir=tmp_path / "part", log=lambda s: None, stop_after_epoch=1
    )
    assert part["epochs_run"] == 1
    resumed = fit(
        cfg,
        data=tiny_panel_df,
        out_dir=tmp_path / "part",
        resume=tmp_path / "part" / "last.pt",
        log=lambda s: None,
    )
    for key, value in full.items():
        if key != "samples_per_s":
            assert resumed[key] == value, key
    a = load_checkpoint(tmp_path / "full" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "part" / "last.pt")["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_same_seed_same_result(tiny_panel_df):
    cfg = load_config("tiny", ["train.epochs=1"])
    r1 = fit(cfg, data=tiny_panel_df, log=lambda s: None)
    r2 = fit(cfg, data=tiny_panel_df, log=lambda s: None)
    r1.pop("samples_per_s"), r2.pop("samples_per_s")
    assert r1 == r2


def test_no_gat_ablation_trains(tiny_panel_df):
    cfg = load_config("tiny", ["model.use_gat=false", "train.epochs=1"])
    result = fit(cfg, data=tiny_panel_df, log=lambda s: None)
    assert np.isfinite(result["val_rank_ic_1d"])


def test_schedule_warmup_then_cosine():
    f = lr_lambda(total_steps=100, warmup=10, min_ratio=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(100) == pytest.approx(0.1)
    assert all(f(s) >= f(s + 1) for s in range(10, 100))


def test_run_smoke_with_tiny_preset(tmp_path, tiny_panel_path):
    result = run_smoke(data=tiny_panel_path, out=tmp_path, preset="tiny", log=lambda s: None)
    for key in (
        "val_rank_ic_1d",
        "val_ic_20d",
        "train_loss",
        "samples_per_s",
        "peak_rss_mb",
        "wall_s",
    ):
        assert key in result
    assert (tmp_path / "metrics.jsonl").is_file()


def test_cli_smoke_prints_json_last(tmp_path, capsys):
    rc = main(["smoke", "--preset", "tiny", "--out", str(tmp_path), "--set", "train.epochs=1"])
    assert rc == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    data = json.loads(last)
    assert {
        "val_rank_ic_1d",
        "val_ic_1d",
        "train_loss",
        "samples_per_s",
        "peak_rss_mb",
        "wall_s",
    } <= set(data)


def test_cli_synth_fit_evaluate(tmp_path, capsys):
    panel = tmp_path / "p.parquet"
    assert main(["synth", "--out", str(panel), "--preset", "tiny"]) == 0
    assert pl.read_parquet(panel).height == 24 * 130
    out = tmp_path / "run"
    assert (
        main(["fit", "--preset", "tiny", "--data", str(panel), "--out", str(out), "train.epochs=1"])
        == 0
    )
    fit_line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["evaluate", "--checkpoint", str(out / "best.pt"), "--data", str(panel)]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["val_rank_ic_1d"] == pytest.approx(fit_line["val_rank_ic_1d"], abs=1e-6)


def _bad(tmp_path, df: pl.DataFrame) -> str:
    p = tmp_path / "bad.parquet"
    df.write_parquet(p)
    return str(p)


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("missing_path", "does not exist"),
        ("missing_column", "lacks required column"),
        ("wrong_dtype", "must be numeric"),
        ("duplicates", "duplicate (code, date)"),
        ("too_few_days", "need at least"),
        ("empty_day", "no row with any finite feature"),
        ("unknown_key", "unknown config key 'model.hiddn'"),
        ("nan_error", "NaN or infinite"),
        ("bad_checkpoint", "does not exist"),
    ],
)
def test_cli_bad_input_is_one_sentence_without_traceback(
    case, fragment, tmp_path, tiny_panel_df, capsys
):
    df = tiny_panel_df
    args = ["fit", "--preset", "tiny", "--out", str(tmp_path / "run")]
    if case == "missing_path":
        args += ["--data", str(tmp_path / "nope.parquet")]
    elif case == "missing_column":
        args += ["--data", _bad(tmp_path, df.drop("ret_1d"))]
    elif case == "wrong_dtype":
        args += ["--data", _bad(tmp_path, df.with_columns(pl.col("noise_00").cast(pl.String)))]
    elif case == "duplicates":
        args += ["--data", _bad(tmp_path, pl.concat([df, df.tail(1)]))]
    elif case == "too_few_days":
        args += [
            "--data",
            _bad(tmp_path, df.filter(pl.col("date") < pl.col("date").min() + pl.duration(days=30))),
        ]
    elif case == "empty_day":
        day = df["date"].unique().sort()[40]
        cols = [c for c in df.columns if c.startswith(("sig", "past", "noise", "volume"))]
        bad = df.with_columns(
            [pl.when(pl.col("date") == day).then(None).otherwise(pl.col(c)).alias(c) for c in cols]
        )
        args += ["--data", _bad(tmp_path, bad)]
    elif case == "unknown_key":
        args += ["model.hiddn=3"]
    elif case == "nan_error":
        bad = df.with_columns(
            pl.when(pl.int_range(pl.len()) == 7)
            .then(float("nan"))
            .otherwise(pl.col("sig_stock"))
            .alias("sig_stock")
        )
        # polars keeps NaN (not null) here: that is the non-finite case
        args += ["--data", _bad(tmp_path, bad), "data.nonfinite=error"]
    elif case == "bad_checkpoint":
        args = ["evaluate", "--checkpoint", str(tmp_path / "missing.pt")]
    rc = main(args)
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith("error: ") and fragment in err and err.endswith(".")
