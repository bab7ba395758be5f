"""KZ404: a DataLoader with worker processes but without pinned memory or
persistent workers."""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameProvider

from rules.framework import Invalid, Rule, Valid
from rules.precheck import TreeFacts
from rules.torch import _common as c

DATALOADERS = {
    "torch.utils.data.DataLoader",
    "torch.utils.data.dataloader.DataLoader",
    "torch_geometric.loader.DataLoader",
    "torch_geometric.loader.dataloader.DataLoader",
}


class DataloaderWithoutPinnedMemory(Rule):
    """## What it does
    Flags a `DataLoader` that uses worker processes (`num_workers` greater
    than zero, or not a literal) but sets neither `pin_memory` nor
    `persistent_workers`, or only one of them.

    ## Why is this bad?
    Without `pin_memory=True`, batches live in pageable host memory; copying
    them to a GPU goes through an extra staging copy and cannot overlap with
    compute (`non_blocking=True` has no effect). Without
    `persistent_workers=True`, every epoch shuts the worker processes down
    and starts new ones, which re-imports modules and re-creates the dataset
    in each worker: a stall at the start of every epoch.

    ## Example
    ```python
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=256, shuffle=True, num_workers=4)
    ```

    ## Use instead
    ```python
    from torch.utils.data import DataLoader

    loader = DataLoader(
        dataset,
        batch_size=256,
        shuffle=True,
        num_workers=4,
        pin_memory=True,
        persistent_workers=True,
    )
    ```

    ## Fix safety
    Display-only. Pinned memory only helps when batches go to a GPU, and
    page-locked memory is a limited resource on the host; persistent workers
    keep their memory between epochs and keep a dataset's state (for example
    an epoch counter or a cache) from being reset. Whether either is right
    depends on the machine and the dataset, so the finding names the missing
    arguments and leaves the choice to the author. A loader that sets either
    argument explicitly, even to `False`, is taken as a decision made.
    """

    code = "KZ404"
    name = "dataloader-without-pinned-memory"
    message = "DataLoader with worker processes does not set {missing}: {advice}"
    ADVICE: ClassVar[dict[str, str]] = {
        "pin_memory": "pin_memory=True makes copies to a GPU faster and lets them overlap compute",
        "persistent_workers": "persistent_workers=True keeps the workers alive between epochs",
    }
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)
    TRIGGERS = ("DataLoader",)

    @classmethod
    def precheck(cls, facts: TreeFacts) -> bool:
        return "DataLoader" in facts.call_names

    VALID = (
        Valid(
            """
            from torch.utils.data import DataLoader
            a = DataLoader(ds, batch_size=32)
            b = DataLoader(ds, num_workers=0)
            c = DataLoader(ds, num_workers=4, pin_memory=True, persistent_workers=True)
            d = DataLoader(ds, num_workers=4, pin_memory=False, persistent_workers=False)
            e = DataLoader(ds, num_workers=n, **loader_options)
            """
        ),
        Valid(
            """
            from mylib import DataLoader
            loader = DataLoader(ds, num_workers=4)
            """
        ),
    )

    INVALID = (
        Invalid(
            """
            from torch.utils.data import DataLoader
            loader = DataLoader(ds, batch_size=256, shuffle=True, num_workers=4)
            """
        ),
        Invalid(
            """
            import torch
            loader = torch.utils.data.DataLoader(ds, num_workers=cfg.workers, pin_memory=True)
            """
        ),
        Invalid(
            """
            from torch_geometric.loader import DataLoader
            loader = DataLoader(graphs, batch_size=8, num_workers=2, persistent_workers=True)
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not c.qualified_names(self, node.func) & DATALOADERS:
            return
        if any(arg.star == "**" for arg in node.args):
            return  # the missing arguments may come in through **kwargs
        keywords = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
        # Only the keyword form: positions differ between torch's and
        # PyTorch Geometric's loaders, and nobody passes six positionals.
        workers = keywords.get("num_workers")
        if workers is None:
            return
        literal = c.int_literal(workers)
        if literal is not None and literal <= 0:
            return
        missing = [name for name in ("pin_memory", "persistent_workers") if name not in keywords]
        if not missing:
            return
        self.report(
            node,
            self.message.format(
                missing=" or ".join(f"{m}=" for m in missing),
                advice="; ".join(self.ADVICE[m] for m in missing),
            ),
        )
