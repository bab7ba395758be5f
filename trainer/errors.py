"""Errors a user can cause. The CLI catches :class:`TrainerError` and prints its
message as one sentence on stderr with a non-zero exit code."""


class TrainerError(Exception):
    """Base class of every error caused by user input (config, data, paths)."""


class ConfigError(TrainerError):
    """An invalid configuration: unknown key, bad value, bad preset file."""


class DataError(TrainerError):
    """An unusable panel: missing file or column, wrong dtype, duplicates, too few days."""
