"""What a workspace holds, written in other ecosystems' formats: one module per format, each
built on that ecosystem's own package (an extra, imported only when its export runs)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from strataml.errors import Refusal, StrataError
from strataml.installed import extra_hint

if TYPE_CHECKING:
    from strataml.read.query import Graph


def need(module: str, extra: str, command: str, package: str) -> Any:
    """The format's package, imported now, or an error naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise StrataError(
            f"`strataml export {command}` needs the {extra} extra ({package} is not installed)",
            extra_hint(extra),
        ) from None


def refuse_unsound(graph: Graph, node: dict[str, Any], command: str) -> None:
    """Refuse (exit 2) to describe a record the doctor finds errors in, naming them: a card or a
    dataset description of what fails its contracts (an emptied model.yaml gave a card with no
    metrics and no gate) reads as evidence. As `sign` and `promote` refuse it."""
    from strataml.doctor.engine import brief
    from strataml.doctor.finding import Finding
    from strataml.read.query import errors_of

    if not errors_of(node):
        return
    found = [graph.index["findings"][i] for i in graph.findings_by_node.get(node["id"], ())]
    bad = [Finding.from_dict(f) for f in found if f.get("severity") == "error"]
    raise Refusal(
        f"{node['id']} has doctor errors, so `strataml export {command}` would describe what its contracts "
        f"reject: {brief(bad)}",
        "fix them first (`strataml doctor` lists them)",
    )
