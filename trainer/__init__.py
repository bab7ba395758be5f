"""The bundled ATFT-GAT-FAN trainer (see ``shared/trainer.md`` for the design).

Command line: ``python -m trainer {synth,fit,evaluate,smoke}`` (or ``atft``);
``python -m trainer smoke`` prints one JSON line of metrics as its last line.

Public API (stable names)::

    trainer.synth.SynthConfig(n_stocks=256, n_sectors=8, n_days=600, seed=0, n_noise=10, missing_rate=0.0)
    trainer.synth.generate_panel(cfg: SynthConfig) -> polars.DataFrame
    trainer.synth.write_panel(cfg: SynthConfig, path) -> pathlib.Path

    trainer.config.Config(data, synth, graph, model, loss, train)      # dataclass tree
    trainer.config.ModelConfig, trainer.config.TrainConfig, DataConfig, GraphConfig, LossConfig
    trainer.config.load_config(preset_name_or_path="default", overrides: list[str] | None = None) -> Config

    trainer.data.load_panel(source: path | polars.DataFrame, cfg: DataConfig) -> Panel
    trainer.data.walk_forward_splits(days, train_frac, embargo, n_folds=1) -> list[Split]

    trainer.model.ATFTGATFAN(cfg: ModelConfig, n_features: int, n_horizons: int = 4)
        .forward(x [N, T, F], edge_index [2, E] | None = None, edge_attr [E, 3] | None = None)
            -> Tensor [N, n_horizons, n_quantiles]  (quantiles increasing along the last axis)

    trainer.graph.build_correlation_graph(returns [N, L], sectors [N] long, k=15, threshold=0.3, min_k=5)
        -> (edge_index [2, E] long, edge_attr [E, 3] = [rho, same_sector, |rho|])

    trainer.losses.quantile_loss(pred [..., Q], target [...], quantiles) -> Tensor
    trainer.losses.combined_loss(pred [N, Hz, Q], target [N, Hz], quantiles, cfg: LossConfig) -> Tensor
    trainer.metrics.rank_ic(pred [N], target [N]) -> Tensor     # Spearman, average ranks for ties
    trainer.metrics.ic(pred [N], target [N]) -> Tensor          # Pearson

    trainer.train.fit(cfg, data=None, out_dir=None, resume=None) -> dict
    trainer.train.evaluate_checkpoint(path, data=None) -> dict
    trainer.smoke.run_smoke(data=None, out=None, overrides=None, preset="smoke") -> dict

    trainer.errors.TrainerError (ConfigError, DataError): user-caused errors; the CLI
        prints their message as one sentence on stderr and exits with code 2.
"""

__all__ = ["config", "data", "graph", "losses", "metrics", "model", "smoke", "synth", "train"]
