"""Exact comparison of two results, for equivalence checks.

``difference(a, b)`` returns None when ``a`` and ``b`` are the same value of
the same type (NaN equals NaN at the same place; ``1`` differs from ``1.0``;
dict order counts; dtypes count), else a short description of the first
difference. Only the standard library is imported eagerly: numpy, pandas and
torch are recognised by module name, so this runs in any target interpreter.
"""

from __future__ import annotations

import math
from typing import Any


def _module_of(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def _float_difference(a: float, b: float) -> str | None:
    if math.isnan(a) and math.isnan(b):
        return None
    if a == b and math.copysign(1.0, a) == math.copysign(1.0, b):
        return None
    return f"{a!r} != {b!r}"


def difference(a: Any, b: Any, where: str = "result") -> str | None:
    if type(a) is not type(b):
        return f"{where}: type {type(a).__name__} != {type(b).__name__} ({a!r} vs {b!r})"
    if a is b:
        return None
    if isinstance(a, float):
        found = _float_difference(a, b)
        return f"{where}: {found}" if found else None
    if isinstance(a, (str, bytes, int, bool, type(None))):
        return None if a == b else f"{where}: {a!r} != {b!r}"
    if isinstance(a, BaseException):
        return None if str(a) == str(b) else f"{where}: {a!r} != {b!r}"
    if isinstance(a, dict):
        if list(a) != list(b):
            for key_a, key_b in zip(a, b):
                found = difference(key_a, key_b, f"{where} key")
                if found:
                    return found
            return f"{where}: keys {list(a)[:8]!r} != {list(b)[:8]!r}"
        for key in a:
            found = difference(a[key], b[key], f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{where}: length {len(a)} != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b)):
            found = difference(x, y, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(a, (set, frozenset)):
        return None if a == b else f"{where}: {a!r} != {b!r}"
    module = _module_of(a)
    if module == "numpy":
        return _numpy_difference(a, b, where)
    if module == "pandas":
        return _pandas_difference(a, b, where)
    if module == "torch":
        return _torch_difference(a, b, where)
    if module == "polars":
        return _polars_difference(a, b, where)
    try:
        same = bool(a == b)
    except Exception:  # noqa: BLE001 - any comparison failure means "cannot tell equal"
        same = repr(a) == repr(b)
    return None if same else f"{where}: {a!r} != {b!r}"


def _numpy_difference(a: Any, b: Any, where: str) -> str | None:
    import numpy as np

    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"{where}: array {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        if a.dtype == object:
            for index, (x, y) in enumerate(zip(a.ravel().tolist(), b.ravel().tolist())):
                found = difference(x, y, f"{where}.flat[{index}]")
                if found:
                    return found
            return None
        equal_nan = a.dtype.kind in "fc"
        return None if np.array_equal(a, b, equal_nan=equal_nan) else f"{where}: arrays differ"
    if isinstance(a, np.generic):
        if a.dtype != b.dtype:
            return f"{where}: dtype {a.dtype} != {b.dtype}"
        return difference(a.item(), b.item(), where)
    return None if repr(a) == repr(b) else f"{where}: {a!r} != {b!r}"


def _pandas_difference(a: Any, b: Any, where: str) -> str | None:
    import pandas as pd

    checks = {
        pd.DataFrame: pd.testing.assert_frame_equal,
        pd.Series: pd.testing.assert_series_equal,
        pd.Index: pd.testing.assert_index_equal,
    }
    for kind, assert_equal in checks.items():
        if isinstance(a, kind):
            try:
                assert_equal(a, b, check_exact=True)
            except AssertionError as exc:
                return f"{where}: {str(exc).splitlines()[0]}"
            return None
    if a is pd.NA or a is pd.NaT:
        return None if a is b else f"{where}: {a!r} != {b!r}"
    try:
        same = bool(a == b) or (pd.isna(a) and pd.isna(b))
    except (TypeError, ValueError):
        same = repr(a) == repr(b)
    return None if same else f"{where}: {a!r} != {b!r}"


def _torch_difference(a: Any, b: Any, where: str) -> str | None:
    import torch

    if isinstance(a, torch.Tensor):
        if a.dtype != b.dtype or a.shape != b.shape or a.device != b.device:
            return f"{where}: tensor {a.dtype}{tuple(a.shape)}@{a.device} != {b.dtype}{tuple(b.shape)}@{b.device}"
        if a.requires_grad != b.requires_grad:
            return f"{where}: requires_grad {a.requires_grad} != {b.requires_grad}"
        same = torch.equal(a, b) or (
            a.is_floating_point()
            and torch.equal(torch.isnan(a), torch.isnan(b))
            and torch.equal(torch.nan_to_num(a.detach()), torch.nan_to_num(b.detach()))
        )
        return None if same else f"{where}: tensors differ"
    return None if repr(a) == repr(b) else f"{where}: {a!r} != {b!r}"


def _polars_difference(a: Any, b: Any, where: str) -> str | None:
    import polars as pl
    from polars.testing import assert_frame_equal, assert_series_equal

    for kind, assert_equal in ((pl.DataFrame, assert_frame_equal), (pl.Series, assert_series_equal)):
        if isinstance(a, kind):
            try:
                assert_equal(a, b, check_exact=True)
            except AssertionError as exc:
                return f"{where}: {str(exc).splitlines()[0]}"
            return None
    return None if repr(a) == repr(b) else f"{where}: {a!r} != {b!r}"
