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


# One case per clause the golden set does not reach (issue: every rule, every clause).
CLAUSES: dict[str, tuple[str, Callable[[Path], None]]] = {
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
    out: list[dict[str, object]] = []
    for rel in sorted(set(before) - set(after), reverse=True):
        if not stat.S_ISDIR(before[rel].st_mode):
            out.append({"op": "delete", "path": rel})
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
