"""Which records a finding is about: the doctor's incremental runs and every reader count them alike."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strataml.controls import undecodable
from strataml.records import Record
from strataml.workspace import LEDGER, ledger_of


def _as_found(path: str) -> str:
    """A path as findings hold it: bytes of a file name that are not UTF-8 spelled `\\xNN`
    (engine.check writes them so), or a record whose folder name is not UTF-8 owns none of
    its findings and a listing shows it healthy."""
    return path if path.isascii() else undecodable(path)


class Owners:
    """Which records a finding's path is about: its record folder (or metadata file), and for
    a model's ledger every version of that model. One lookup per path segment, so counting
    findings on nodes costs findings x depth, not findings x records."""

    def __init__(self, records: Iterable[Record] | Iterable[dict[str, Any]]) -> None:
        self.by_path: dict[str, list[str]] = {}
        self.by_model: dict[str, list[str]] = {}
        for r in records:
            if isinstance(r, Record):
                ref, kind, path, name = str(r.ref), r.kind, r.folder or r.meta, r.ref.name
                meta: str | None = r.meta
            else:
                ref, kind, path = r["id"], r["kind"], r["path"]
                name, meta = ref.split(":", 1)[1].split("@", 1)[0], None
            self.by_path.setdefault(_as_found(path), []).append(ref)
            if meta and meta != path and not meta.startswith(path + "/"):
                self.by_path.setdefault(_as_found(meta), []).append(ref)
            if kind == "model":
                self.by_model.setdefault(_as_found(f"models/{name}/{LEDGER}"), []).append(ref)

    def of(self, path: str) -> list[str]:
        path = _as_found(path)
        found: list[str] = []
        ledger = ledger_of(path)
        if ledger is not None:
            found += self.by_model.get(ledger, ())
        prefix = path
        while prefix:
            found += self.by_path.get(prefix, ())
            prefix = prefix.rpartition("/")[0]
        return list(dict.fromkeys(found))
