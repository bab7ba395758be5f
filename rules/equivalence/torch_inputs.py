"""Hypothesis strategies for the torch rules' equivalence checks.

Runs in the target's interpreter: imports only the standard library,
hypothesis and torch. Each public function returns a strategy of
``{name: value}`` dicts that a rule's template reads as globals.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

DTYPES = (torch.float32, torch.int64, torch.bool)
_INT64 = (-(2**63), 2**63 - 1)


def _values(dtype: torch.dtype) -> st.SearchStrategy:
    if dtype == torch.bool:
        return st.booleans()
    if dtype.is_floating_point:
        return st.floats(width=32, allow_nan=True, allow_infinity=True)
    return st.one_of(st.integers(-1000, 1000), st.sampled_from(_INT64))


@st.composite
def tensor(draw, shape: tuple[int, ...], dtype: torch.dtype | None = None) -> torch.Tensor:
    """A tensor of ``shape`` with values drawn for ``dtype`` (random when None),
    awkward values included: NaN, infinities, -0.0, int64 extremes."""
    dtype = dtype or draw(st.sampled_from(DTYPES))
    count = 1
    for size in shape:
        count *= size
    values = draw(st.lists(_values(dtype), min_size=count, max_size=count))
    return torch.tensor(values, dtype=dtype).reshape(shape)


@st.composite
def _accumulation(draw, dim: int, min_rank: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    rank = draw(st.integers(min_rank, 3))
    base = [draw(st.integers(0, 3)) for _ in range(rank)]
    axis = dim % rank

    def shaped(size: int) -> tuple[int, ...]:
        shape = list(base)
        shape[axis] = size
        return tuple(shape)

    # torch.cat skips 1-D empty tensors whatever the rank of the others: the
    # classic `torch.empty(0)` start, and an empty part now and then.
    empty_1d = st.builds(lambda d: torch.empty(0, dtype=d), st.sampled_from(DTYPES))
    init = draw(st.one_of(empty_1d, st.integers(0, 2).flatmap(lambda n: tensor(shaped(n)))))
    part = st.integers(0, 3).flatmap(lambda n: tensor(shaped(n)))
    parts = draw(st.lists(st.one_of(part, part, part, empty_1d), min_size=0, max_size=4))
    return init, parts


def cat_accumulation_inputs() -> st.SearchStrategy:
    """Initial tensors and part lists for ``x = torch.cat([x, part])`` loops
    along dim 0, 1 and -1: mixed dtypes (float32, int64, bool), zero-size
    parts, 1-D empty initial tensors, and zero passes."""

    @st.composite
    def build(draw) -> dict:
        inputs = {}
        for index, (dim, min_rank) in enumerate(((0, 1), (1, 2), (-1, 1))):
            init, parts = draw(_accumulation(dim, min_rank))
            inputs[f"init{index}"] = init
            inputs[f"parts{index}"] = parts
        return inputs

    return build()


@st.composite
def _nested_data(draw) -> list:
    """A rectangular nested list (rank 0 to 3) of floats, ints or bools, with
    empty lists and int/float mixes (which torch.tensor infers as float)."""
    rank = draw(st.integers(1, 3))
    shape = [draw(st.integers(0, 3)) for _ in range(rank)]
    kind = draw(st.sampled_from(("float", "int", "bool", "mixed")))
    scalars = {
        "float": st.floats(width=32, allow_nan=True, allow_infinity=True),
        "int": st.integers(-(2**31), 2**31),
        "bool": st.booleans(),
        "mixed": st.one_of(st.integers(-100, 100), st.floats(-1e6, 1e6)),
    }[kind]

    def build(dims: list[int]):
        if not dims:
            return draw(scalars)
        return [build(dims[1:]) for _ in range(dims[0])]

    return build(shape)


def creation_inputs() -> st.SearchStrategy:
    """Arguments for tensor creation calls: nested data, shapes with zero
    sizes, dtypes, fill values of each Python number type, lengths."""
    return st.fixed_dictionaries(
        {
            "data": _nested_data(),
            "shape": st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple),
            "dtype": st.sampled_from(DTYPES),
            "fill": st.one_of(st.floats(width=32), st.integers(-1000, 1000), st.booleans()),
            "n": st.integers(0, 20),
        }
    )


def host_sync_inputs() -> st.SearchStrategy:
    """Per-batch 0-d tensors: float32 losses (finite, any magnitude a float32
    holds, -0.0 included) and int64 counts, zero to twelve batches."""
    loss = st.floats(width=32, allow_nan=False, allow_infinity=False).map(
        lambda v: torch.tensor(v, dtype=torch.float32)
    )
    count = st.integers(-1000, 1000).map(lambda v: torch.tensor(v, dtype=torch.int64))
    return st.fixed_dictionaries(
        {
            "losses": st.lists(loss, max_size=12),
            "counts": st.lists(count, max_size=12),
        }
    )


_ITEM_DTYPES = (
    torch.float32,
    torch.float64,
    torch.bfloat16,
    torch.int64,
    torch.uint8,
    torch.bool,
)


def _element_values(dtype: torch.dtype) -> st.SearchStrategy:
    if dtype == torch.uint8:
        return st.integers(0, 255)
    if dtype == torch.float64:
        return st.floats(allow_nan=True, allow_infinity=True)
    return _values(dtype)


@st.composite
def _item_tensor(draw) -> torch.Tensor:
    """A tensor read element by element: shapes [n], [n, 1], [n, 1, 1],
    [n, 2], [n, 0], [0, 3] and 0-d, every dtype above, and floating tensors
    that require grad."""
    n = draw(st.integers(0, 5))
    shape = draw(st.sampled_from(((n,), (n, 1), (n, 1, 1), (n, 2), (n, 0), (0, 3), ())))
    dtype = draw(st.sampled_from(_ITEM_DTYPES))
    count = 1
    for size in shape:
        count *= size
    values = draw(st.lists(_element_values(dtype), min_size=count, max_size=count))
    result = torch.tensor(values, dtype=dtype).reshape(shape)
    if dtype.is_floating_point and draw(st.booleans()):
        result.requires_grad_(True)
    return result


def item_per_element_inputs() -> st.SearchStrategy:
    """A tensor read one element per pass (see ``_item_tensor``); codes to
    enumerate, as many as or more or fewer than its rows; a range that can
    start below zero and end past the rows; and a flag that makes the first
    pass skip its read."""
    return st.fixed_dictionaries(
        {
            "pred": _item_tensor(),
            "codes": st.integers(0, 7).map(lambda n: [f"c{k}" for k in range(n)]),
            "start": st.integers(-7, 3),
            "stop": st.integers(-2, 7),
            "flag": st.booleans(),
        }
    )
