"""Build strataml/conformance_suite/cases from the golden negative cases
(tests/test_rules_golden.py) and the clause cases below: `python tests/conformance_gen.py`. Each
case is stored as the edits that turn base/ (the tests' golden positive workspace) into it, with
the findings StrataML's doctor reports; tests/test_conformance.py checks that the stored cases
are what this builds."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import POSITIVE, edit_yaml  # noqa: E402
from strataml.conformance import FORMAT, SUITE  # noqa: E402
from strataml.doctor import engine  # noqa: E402

SALES = "datasets/sales/1/dataset.yaml"
SALES_SPEC = "experiments/sales-forecast.yaml"
FLOWERS = "datasets/flowers/1"

# Golden cases a plain folder cannot carry: a path longer than PATH_MAX needs building step by step.
NOT_PORTABLE = {"TFC0001-E010"}


def windows(**given: tuple[str, str]) -> Callable[[Path], None]:
    return lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d["split"]["windows"].update(
        {k: {"start": a, "end": b} for k, (a, b) in given.items()}))


RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3"
MODEL = "models/sales-model/1"
FLOWERS_CSV = "datasets/flowers/1/flowers.csv"


def pointer(ws: Path, text: Callable[[str, int], str]) -> None:
    """The flowers CSV checked out as a Git LFS pointer (no repository: verified by the pointer)."""
    import hashlib

    data = (ws / FLOWERS_CSV).read_bytes()
    (ws / FLOWERS_CSV).write_text(text(hashlib.sha256(data).hexdigest(), len(data)), newline="")


def symlinked_config(ws: Path) -> None:
    (ws / "elsewhere.yaml").write_bytes((ws / "strataml.yaml").read_bytes())
    (ws / "strataml.yaml").unlink()
    (ws / "strataml.yaml").symlink_to("elsewhere.yaml")


def renamed(ws: Path, old: str, new: str) -> None:
    (ws / old).rename(ws / new)


# One case per clause the golden set does not reach (issue: every rule, every clause).
CLAUSES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "TFC0001-E001-symlink": ("strataml.yaml that is a symlink is not read", symlinked_config),
    "TFC0001-E003-run-id": ("a run id outside the grammar", lambda ws: renamed(ws, RUN, "runs/-bad-run")),
    "TFC0001-E005-experiment-name": ("an experiment's name differs from its file name",
                                     lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d.update(name="sales-other"))),
    "TFC0001-E102-control-character": ("a control character in metadata text",
                                       lambda ws: (ws / SALES_SPEC).write_bytes((ws / SALES_SPEC).read_bytes() + b"tags: {a: \"x\x07y\"}\n")),
    "TFC0003-E003-no-end": ("a finished run without ended_at", lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: d.pop("ended_at"))),
    "TFC0004-E003-other-model": ("a gate receipt naming another model",
                                 lambda ws: _edit_gate(ws, lambda g: g.update(model="model:other@1"))),
    "TFC0006-E004-absolute": ("an absolute recorded path", lambda ws: _recorded_path(ws, "/etc/passwd")),
    "TFC0006-E004-backslash": ("a recorded path with a backslash", lambda ws: _recorded_path(ws, "data\\flowers.csv")),
    "TFC0006-E004-dot": ("a recorded path with a . segment", lambda ws: _recorded_path(ws, "./flowers.csv")),
    "TFC0006-E005-dangling": ("a symlink that points nowhere", lambda ws: (ws / FLOWERS / "gone.csv").symlink_to("no-such-file")),
    "TFC0006-I010-pointer": ("a recorded file present as a canonical Git LFS pointer is verified by it",
                             lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {n}\n")),
    "TFC0006-W010-crlf-pointer": ("a pointer with CRLF line ends decodes but is not canonical",
                                  lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\r\noid sha256:{oid}\r\nsize {n}\r\n")),
    "TFC0006-E011-pointer-size-first": ("a pointer git-lfs rejects (size before oid)",
                                        lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\nsize {n}\noid sha256:{oid}\n")),
    "TFC0006-E010-pointer-mismatch": ("a pointer to other content than recorded",
                                      lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\noid sha256:{'0' * 64}\nsize {n}\n")),
    "TFC0008-E004-paths": ("two recorded paths that fold alike", lambda ws: _second_path(ws, "Flowers.csv")),
    "TFC0004-E002-receipt-missing": ("a model whose gate receipt is gone", lambda ws: (ws / MODEL / "gate.json").unlink()),
    "TFC0004-E002-receipt-folder": ("a model whose gate receipt is a folder",
                                    lambda ws: ((ws / MODEL / "gate.json").unlink(), (ws / MODEL / "gate.json").mkdir(),
                                                (ws / MODEL / "gate.json/x").write_text("x"))),
    "TFC0008-E008-no-time-range": ("a time split over a dataset without a time range",
                                   lambda ws: edit_yaml(ws / SALES, lambda d: d.pop("time_range"))),
    "TFC0006-W001-symlink-inside": ("an unrecorded symlink inside its record folder is an unrecorded file",
                                    lambda ws: (ws / FLOWERS / "alias.csv").symlink_to("flowers.csv")),
    "TFC0006-E006-symlink-to-folder": ("a symlink to a folder inside a record folder is not a regular file",
                                       lambda ws: ((ws / FLOWERS / "sub").mkdir(), (ws / FLOWERS / "sub/x.txt").write_text("x"),
                                                   (ws / FLOWERS / "here").symlink_to("sub"))),
    "TFC0002-E003-no-columns": ("a time range in a dataset that lists no columns",
                                lambda ws: edit_yaml(ws / SALES, lambda d: d.pop("columns"))),
    "TFC0002-E003-inverted": ("a time range that ends before it starts",
                              lambda ws: edit_yaml(ws / SALES, lambda d: d["time_range"].update(start="2024-02-01"))),
    "TFC0008-E006-date-only-end": ("a train window ending on a date overlaps a window starting later that day",
                                   windows(train=("2024-01-01", "2024-01-09"), val=("2024-01-09T12:00:00Z", "2024-01-10"))),
    "TFC0008-E007-end-of-last-day": ("a window may end any time on the data's last day, not after",
                                     windows(test=("2024-01-11", "2024-01-13T00:00:00Z"))),
    "TFC0001-E002-experiment-signature": ("experiment specs are not signed",
                                          lambda ws: (ws / f"{SALES_SPEC}.asc").write_text("-----BEGIN PGP SIGNATURE-----\n")),
    "TFC0001-W002-newer-minor": ("a newer minor version: known fields still judged",
                                 lambda ws: edit_yaml(ws / SALES, lambda d: d.update(schema="strataml/dataset/v1.4", later={"a": 1}, rows="many"))),
    "TFC0001-E007-newer-major": ("a newer major version is an error",
                                 lambda ws: edit_yaml(ws / SALES, lambda d: d.update(schema="strataml/dataset/v2"))),
    "x-fields-accepted": ("an x- field at the top of a record is accepted, anywhere else it is not",
                          lambda ws: (edit_yaml(ws / SALES, lambda d: d.update({"x-team": {"owner": "forecasting"}})),
                                      edit_yaml(ws / SALES_SPEC, lambda d: d["model"].update({"x-note": "nested"})))),
    "TFC0003-E004-gate-metric": ("a gate on a metric the sklearn plugin never writes",
                                 lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d.update(gates=["test_f1 >= 0.5", "test_accuracy >= 0.5"]))),
}


def _edit_gate(ws: Path, change: Callable[[dict], None]) -> None:
    import models_helpers

    models_helpers.edit_gate(ws, 1, change)


def _recorded_path(ws: Path, path: str) -> None:
    from test_rules_golden import redigest

    edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d["files"][0].update(path=path))
    redigest(ws, FLOWERS)


def _second_path(ws: Path, path: str) -> None:
    from test_rules_golden import redigest

    (ws / FLOWERS / path).write_bytes((ws / FLOWERS_CSV).read_bytes())
    edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d["files"].append({**d["files"][0], "path": path}))
    redigest(ws, FLOWERS)


def edits(base: Path, case: Path) -> list[dict[str, object]]:
    """What turns `base` into `case`, as the suite's data edits (paths in code point order)."""
    def tree(root: Path) -> dict[str, os.stat_result]:
        out = {}
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = Path(folder) / name
                out[str(path.relative_to(root))] = path.lstat()
        return out

    before, after = tree(base), tree(case)
    # A path that changed kind (a file now a folder) goes first, as if removed, then comes anew.
    retyped = {r for r in set(before) & set(after) if stat.S_IFMT(before[r].st_mode) != stat.S_IFMT(after[r].st_mode)}
    out: list[dict[str, object]] = []
    for rel in sorted((set(before) - set(after)) | retyped, reverse=True):  # children before their folder
        out.append({"op": "delete", "path": rel})
    for rel in retyped:
        del before[rel]
    for rel in sorted(after):
        st, path = after[rel], case / rel
        if stat.S_ISLNK(st.st_mode):
            out.append({"op": "symlink", "path": rel, "to": os.readlink(path)})
        elif stat.S_ISFIFO(st.st_mode):
            out.append({"op": "fifo", "path": rel})
        elif stat.S_ISDIR(st.st_mode):
            if rel not in before and not any(path.iterdir()):
                out.append({"op": "mkdir", "path": rel})
        elif rel not in before or path.read_bytes() != (base / rel).read_bytes():
            out.append({"op": "write", "path": rel, **_content(path.read_bytes())})
    return out


def _content(data: bytes) -> dict[str, object]:
    """A file's bytes as a write edit: text, or base64; a large file made of one short unit
    repeated (the cases of the size limits) as head + unit x times + tail."""
    if len(data) > 65536:
        for unit in range(1, 5):
            for start in range(0, min(len(data), 4096)):
                piece = data[start : start + unit]
                if data[start : start + unit * 1000] != piece * 1000:
                    continue
                times = 1000
                while data[start + unit * times : start + unit * (times + 1)] == piece:
                    times += 1
                tail = data[start + unit * times :]
                if len(tail) < 4096:
                    return {**_content(data[:start]), "repeat": {**_content(piece), "times": times}, "then": _content(tail)}
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def built() -> dict[str, dict[str, object]]:
    """Every case as its JSON document, by name (the base workspace is the fixture's)."""
    from test_rules_golden import CASES

    base = POSITIVE
    todo: dict[str, tuple[str, Callable[[Path], None]]] = {
        code: (f"the golden negative case of {code}", change) for code, change in CASES.items() if code not in NOT_PORTABLE
    }
    todo.update(CLAUSES)
    todo["base"] = ("the base workspace: no finding", lambda ws: None)
    out = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, (why, change) in sorted(todo.items()):
            ws = Path(scratch) / name
            shutil.copytree(base, ws, symlinks=True)
            change(ws)
            report = engine.doctor(ws)
            out[name] = {
                "format": FORMAT,
                "why": why,
                "edits": edits(base, ws),
                "expected": [{"code": f.code, "path": f.path, "severity": f.severity} for f in report.findings],
            }
    return out


def write(suite: Path = SUITE) -> None:
    """(Re)write cases/; base/ is the tests' golden positive workspace itself (conftest.POSITIVE)."""
    shutil.rmtree(suite / "cases", ignore_errors=True)
    (suite / "cases").mkdir()
    for name, doc in built().items():
        (suite / "cases" / f"{name}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    write()
    print(f"wrote {SUITE}")
