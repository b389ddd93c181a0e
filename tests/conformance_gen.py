"""Build strataml/conformance_suite/cases from the golden negative cases
(tests/test_rules_golden.py) and the clause cases below: `python tests/conformance_gen.py`. Each
case is stored as the edits that turn base/ (the tests' golden positive workspace) into it (and,
for the rules that read git, the commits before), with the findings StrataML's doctor reports on
the case as the suite's runner builds it; tests/test_conformance.py checks that the stored cases
are what this builds. Signatures are made with the throw-away keys in tests/data/conformance-keys
at a fixed time, so they come out alike on every run (this needs gpg)."""

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

import models_helpers  # noqa: E402
from conformance_clauses import Spec, layout_specs  # noqa: E402
from conformance_clauses import signature_specs as clause_signature_specs  # noqa: E402
from conftest import POSITIVE, edit_yaml  # noqa: E402

from strataml import conformance  # noqa: E402
from strataml.conformance import FORMAT, SUITE  # noqa: E402
from strataml.doctor import engine  # noqa: E402

SALES = "datasets/sales/1/dataset.yaml"
SALES_SPEC = "experiments/sales-forecast.yaml"
FLOWERS = "datasets/flowers/1"

# Golden cases a suite cannot carry: a folder the checker cannot read depends on who runs it (root
# reads everything), a path longer than PATH_MAX needs building step by step, and `Models/` beside
# `models/` is one folder where the file system folds case.
NOT_PORTABLE = {"TFC0001-E010", "TFC0001-E011"}


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


def unreadable_metrics(ws: Path) -> None:
    """The model's run's metrics/metrics.json replaced by text that is no JSON, pinned anew: no
    file vouches for the metrics the version rests on (TFC0004-E005)."""
    import hashlib

    data = b"test_accuracy = 0.75\n"
    (ws / RUN / "metrics/metrics.json").write_bytes(data)
    edit_yaml(ws / RUN / "run.yaml", lambda d: [
        a.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data)) for a in d["artifacts"]
        if a["path"] == "metrics/metrics.json"])


def renamed(ws: Path, old: str, new: str) -> None:
    (ws / old).rename(ws / new)


# One case per clause the golden set does not reach (issue: every rule, every clause).
CLAUSES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "TFC0001-E001-symlink": ("strataml.yaml that is a symlink is not read", symlinked_config),
    "TFC0001-E003-run-id": ("a run id outside the grammar", lambda ws: renamed(ws, RUN, "runs/-bad-run")),
    "TFC0001-E003-register-model": ("a spec registering a model under a name outside the grammar",
                                    lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d.update(register={"model": "my model"}))),
    "TFC0001-E005-experiment-name": ("an experiment's name differs from its file name",
                                     lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d.update(name="sales-other"))),
    "TFC0001-E102-control-character": ("a control character in metadata text",
                                       lambda ws: (ws / SALES_SPEC).write_bytes((ws / SALES_SPEC).read_bytes() + b"tags: {a: \"x\x07y\"}\n")),
    "TFC0003-E001-time-split-dropped": ("a run whose params say split.kind: time without its split",
                                         lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: d.pop("split"))),
    "TFC0003-E001-time-split-window-left-out": (
        "a run whose params list a test window its split leaves out (the leakage rules read split)",
        lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: (
            d["params"].update({"split.windows.test.start": "2024-01-11", "split.windows.test.end": "2024-01-12"}),
            d["split"]["windows"].pop("test")))),
    "TFC0003-E001-imported-naming-an-experiment": (
        "a run keyed mlflow-import that names an experiment is that experiment's: its time split is required",
        lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: (d.pop("split"), d["plugin"].update(key="mlflow-import")))),
    "TFC0003-E003-no-end": ("a finished run without ended_at", lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: d.pop("ended_at"))),
    "TFC0004-E003-other-model": ("a gate receipt naming another model",
                                 lambda ws: _edit_gate(ws, lambda g: g.update(model="model:other@1"))),
    "TFC0004-E003-not-the-runs-metric": (
        "a receipt consistent with itself whose observed value is not the producing run's metric",
        lambda ws: _edit_gate(ws, lambda g: g["criteria"][0].update(expression="test_accuracy >= 0.95", observed=0.96)),
    ),
    "TFC0006-E004-absolute": ("an absolute recorded path", lambda ws: _recorded_path(ws, "/etc/passwd")),
    "TFC0006-E004-backslash": ("a recorded path with a backslash", lambda ws: _recorded_path(ws, "data\\flowers.csv")),
    "TFC0006-E004-dot": ("a recorded path with a . segment", lambda ws: _recorded_path(ws, "./flowers.csv")),
    "TFC0006-E004-git": ("a recorded file named as git's own files are (.gitattributes)",
                         lambda ws: _second_path(ws, ".gitattributes")),
    "TFC0006-E005-dangling": ("a symlink that points nowhere", lambda ws: (ws / FLOWERS / "gone.csv").symlink_to("no-such-file")),
    "TFC0006-I010-pointer": ("a recorded file present as a canonical Git LFS pointer is verified by it",
                             lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {n}\n")),
    "TFC0006-W010-crlf-pointer": ("a pointer with CRLF line ends decodes but is not canonical",
                                  lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\r\noid sha256:{oid}\r\nsize {n}\r\n")),
    "TFC0006-E011-pointer-size-first": ("a pointer git-lfs rejects (size before oid)",
                                        lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\nsize {n}\noid sha256:{oid}\n")),
    "TFC0006-E010-pointer-mismatch": ("a pointer to other content than recorded",
                                      lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\noid sha256:{'0' * 64}\nsize {n}\n")),
    "TFC0006-E010-pointer-extension": ("a pointer naming a git-lfs extension: its oid is the stored object's",
                                       lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\next-0-foo sha256:{'ab' * 32}\noid sha256:{oid}\nsize {n}\n")),
    "TFC0008-E004-paths": ("two recorded paths that fold alike", lambda ws: _second_path(ws, "Flowers.csv")),
    "TFC0008-E004-name-versions": ("two versions of one dataset named in two cases: one folder on macOS and Windows",
                                   lambda ws: _other_case_version(ws)),
    "TFC0008-E008-no-dataset": ("a run with a time split that pins no dataset (nor names one in its params): its windows held to nothing",
                                lambda ws: (edit_yaml(ws / RUN / "run.yaml", lambda d: (
                                    d.update(inputs=[]), d["split"]["windows"]["test"].update(end="2031-12-31"))),
                                    edit_yaml(ws / MODEL / "model.yaml", lambda d: d.update(inputs=[])))),
    "TFC0008-E010-mlflow-import": ("a run `strataml import mlflow` wrote is not held to the dataset its params name",
                                   lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: (
                                       d["params"].update({"data.dataset": "dataset:flowers@1"}),
                                       d.pop("experiment"),  # (the importer writes none: a run naming one is its)
                                       d.update(plugin={"key": "mlflow-import", "version": "0.1.0"})))),
    "TFC0004-E004-run-running": ("a version registered from a run still running",
                                 lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: (d.update(status="running"), d.pop("ended_at")))),
    "TFC0004-E002-receipt-missing": ("a model whose gate receipt is gone", lambda ws: (ws / MODEL / "gate.json").unlink()),
    "TFC0004-E002-receipt-folder": ("a model whose gate receipt is a folder",
                                    lambda ws: ((ws / MODEL / "gate.json").unlink(), (ws / MODEL / "gate.json").mkdir(),
                                                (ws / MODEL / "gate.json/x").write_text("x"))),
    "TFC0008-E008-no-time-range": ("a time split over a dataset without a time range (nor a time column)",
                                   lambda ws: edit_yaml(ws / SALES, lambda d: (d.pop("time_range"), [
                                       c.pop("role") for c in d["columns"] if c.get("role") == "time"]))),
    "TFC0005-E004-at-once": ("a second version in production before the first is archived, a line later",
                             lambda ws: (models_helpers.add_version(ws, 2), models_helpers.write_ledger(ws, [
                                 *[(models_helpers.ref(1), s) for s in ("candidate", "staging", "production")],
                                 *[(models_helpers.ref(2), s) for s in ("candidate", "staging", "production")],
                                 (models_helpers.ref(1), "archived")]))),
    "TFC0002-E003-time-column-without-range": ("a time column (role: time) and no time range",
                                               lambda ws: edit_yaml(ws / SALES, lambda d: d.update(time_range=None))),
    "TFC0004-E004-run-broken": ("a version whose producing run's run.yaml does not load",
                                (lambda ws: (ws / RUN / "run.yaml").write_text("schema: [\n"))),
    "TFC0004-E005-metric-file-unreadable": ("a version whose run's pinned metrics file holds no JSON", unreadable_metrics),
    "TFC0004-E005-evaluation": ("a version whose evaluation.metrics are not its run's",
                                lambda ws: edit_yaml(ws / MODEL / "model.yaml", lambda d: d["evaluation"]["metrics"].update(test_accuracy=0.99))),
    "TFC0004-E004-inputs": ("a model version whose inputs are not what its run read",
                            lambda ws: edit_yaml(ws / MODEL / "model.yaml", lambda d: d.update(inputs=[]))),
    "TFC0008-E009-through-a-run": ("a run that read the model version it produced",
                                   lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: d["inputs"].append(
                                       {"ref": "model:sales-model@1", "digest": "sha256:" + "0" * 64}))),
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
    "TFC0001-E007-not-text": ("a schema that is not text names no schema: an error, not a record left unjudged",
                              lambda ws: edit_yaml(ws / SALES, lambda d: d.update(schema=1))),
    "x-fields-accepted": ("an x- field at the top of a record is accepted, anywhere else it is not",
                          lambda ws: (edit_yaml(ws / SALES, lambda d: d.update({"x-team": {"owner": "forecasting"}})),
                                      edit_yaml(ws / SALES_SPEC, lambda d: d["model"].update({"x-note": "nested"})))),
    "TFC0004-E001-time-does-not-exist": ("a time that fits the grammar but does not exist (a leap second)",
                                         lambda ws: edit_yaml(ws / MODEL / "model.yaml", lambda d: d.update(created_at="2024-12-31T23:59:60Z"))),
    "TFC0002-E001-no-such-date": ("a date that fits the grammar but does not exist",
                                  lambda ws: edit_yaml(ws / SALES, lambda d: d["time_range"].update(end="2023-02-29"))),
    "TFC0003-E005-file-and-features": ("a data.file and a feature the dataset version does not record, and the target as a feature",
                                       lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d["data"].update(
                                           file="sales.cs", features=["store", "Promo", "units"]))),
    "TFC0003-E005-no-columns": ("a dataset version that records no columns: target and features are not judged",
                                lambda ws: (edit_yaml(ws / SALES_SPEC, lambda d: d["data"].update(target="anything",
                                                                                                   features=["x"])),
                                            edit_yaml(ws / SALES, lambda d: d.pop("columns")))),
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


def _other_case_version(ws: Path) -> None:
    shutil.copytree(ws / FLOWERS, ws / "datasets/Flowers/2")
    edit_yaml(ws / "datasets/Flowers/2/dataset.yaml", lambda d: d.update(ref="dataset:Flowers@2"))


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

    # The locks commands take (`keys add` holds one) are no edit of a case: gone, with a
    # .strataml/ they alone made.
    locks = case / ".strataml" / "locks"
    if locks.is_dir() and not locks.is_symlink():
        shutil.rmtree(locks)
        if not any((case / ".strataml").iterdir()):
            (case / ".strataml").rmdir()
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
    """A file's bytes as a write edit: text, or base64; a large file made of runs of one short
    unit (the cases of the size limits) as head + unit x times + the rest, stated alike."""
    if len(data) > 65536:
        for unit in range(1, 5):
            for start in range(0, min(len(data), 4096)):
                piece = data[start : start + unit]
                if data[start : start + unit * 1000] != piece * 1000:
                    continue
                times = 1000
                while data[start + unit * times : start + unit * (times + 1)] == piece:
                    times += 1
                tail = data[start + unit * times :]  # may hold a run of its own: `then` is a content too
                return {**_content(data[:start]), "repeat": {**_content(piece), "times": times}, "then": _content(tail)}
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def built() -> dict[str, dict[str, object]]:
    """Every case as its JSON document, by name (the base workspace is the fixture's)."""
    from test_rules_golden import CASES

    base = POSITIVE
    todo: dict[str, Spec] = {
        code: Spec(f"the golden negative case of {code}", change) for code, change in CASES.items() if code not in NOT_PORTABLE
    }
    todo.update({name: Spec(why, change) for name, (why, change) in CLAUSES.items()})
    todo["base"] = Spec("the base workspace: no finding", lambda ws: None)
    out = {}
    with tempfile.TemporaryDirectory() as scratch:
        keys_home = Path(scratch) / "keys"
        keys_home.mkdir()
        keys = stored_keys(keys_home)
        todo.update(git_specs())
        todo.update(signature_specs(keys))
        todo.update(layout_specs())
        todo.update(clause_signature_specs(keys))  # type: ignore[arg-type]
        try:
            for name, spec in sorted(todo.items()):
                out[name] = _one(name, spec, base, Path(scratch) / name)
        finally:
            import gpgkeys

            gpgkeys.stop_agents([p for p in keys_home.iterdir() if p.is_dir()])
    return out


def _one(name: str, spec: Spec, base: Path, scratch: Path) -> dict[str, object]:
    """The case's document: its edits (commit by commit), then the findings the doctor reports
    on the case built by the suite's own runner from those edits."""
    ws, before = scratch / "work", scratch / "before"
    shutil.copytree(base, ws, symlinks=True)
    shutil.copytree(base, before, symlinks=True)
    steps = []
    for step in spec.commits or ():
        step(ws)
        steps.append(edits(before, ws))
        shutil.rmtree(before)
        shutil.copytree(ws, before, symlinks=True)
    spec.change(ws)
    doc: dict[str, object] = {"format": FORMAT if spec.commits is not None or spec.require_content else 1, "why": spec.why}
    if spec.commits is not None:
        doc["git"] = {"commits": steps, **({"since": spec.since} if spec.since is not None else {})}
    if spec.require_content:
        doc["options"] = {"require_content": True}
    doc["edits"] = edits(before, ws)
    case = conformance.Case(name, spec.why, doc["edits"], [],  # type: ignore[arg-type]
                            None if spec.commits is None else tuple(steps), spec.since, spec.require_content)
    ids = conformance.build(case, base, scratch / "case")
    options = engine.Options(require_content=spec.require_content,
                             since=ids[spec.since] if spec.since is not None else None)
    report = engine.doctor(scratch / "case", options=options)
    doc["expected"] = [{"code": f.code, "path": f.path, "severity": f.severity} for f in report.findings]
    return doc


# --- cases that need a repository: history (with --since), LFS routing, tracking ---------------

DATASET = "datasets/flowers/1"
SPEC_RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3"


def _delete(rel: str) -> Callable[[Path], None]:
    return lambda ws: shutil.rmtree(ws / rel) if (ws / rel).is_dir() else (ws / rel).unlink()


def forged_run(ws: Path) -> None:
    """A new run, a day after SPEC_RUN, whose run.yaml states a test_accuracy its pinned
    metrics/metrics.json does not hold (0.99 over 0.75)."""
    new = SPEC_RUN.replace("20260101T000000Z", "20260102T000000Z").replace("a1b2c3", "f0f0f0")
    shutil.copytree(ws / SPEC_RUN, ws / new)
    edit_yaml(ws / new / "run.yaml", lambda d: (
        d.update(ref=f"run:{new.split('/')[1]}", created_at="2026-01-02T00:00:00Z", started_at="2026-01-02T00:00:01Z",
                 ended_at="2026-01-02T00:00:09Z"),
        d["metrics"].update(test_accuracy=0.99)))


def unpinned_run(ws: Path) -> None:
    """A new run, a day after SPEC_RUN, that pins no file its metrics were written into: its
    metrics/metrics.json removed from the folder and from artifacts."""
    new = SPEC_RUN.replace("20260101T000000Z", "20260102T000000Z").replace("a1b2c3", "0a0a0a")
    shutil.copytree(ws / SPEC_RUN, ws / new)
    shutil.rmtree(ws / new / "metrics")
    edit_yaml(ws / new / "run.yaml", lambda d: (
        d.update(ref=f"run:{new.split('/')[1]}", created_at="2026-01-02T00:00:00Z", started_at="2026-01-02T00:00:01Z",
                 ended_at="2026-01-02T00:00:09Z"),
        d.update(artifacts=[a for a in d["artifacts"] if not a["path"].startswith("metrics/")])))


def _restore(rel: str) -> Callable[[Path], None]:
    return lambda ws: shutil.copytree(POSITIVE / rel, ws / rel, symlinks=True)


def git_specs() -> dict[str, Spec]:
    import models_helpers

    def history(why: str, *steps: Callable[[Path], None], since: int = 0) -> Spec:
        return Spec(why, lambda ws: None, tuple(steps), since)

    def rewritten_ledger(ws: Path) -> None:
        models_helpers.write_ledger(ws, [(models_helpers.ref(1), "rejected")])

    def pin_alice(ws: Path) -> None:  # a key file and its pin, as a commit adds them (no gpg needed)
        (ws / "tfc/keys").mkdir(parents=True, exist_ok=True)
        (ws / "tfc/keys/keys.yaml").write_text("schema: strataml/keys/v1\nkeys: []\n")

    def candidate(ws: Path) -> None:
        models_helpers.reach(ws, "candidate")

    def gate(expression: str) -> Callable[[Path], None]:
        return lambda ws: edit_yaml(ws / "experiments/sales-forecast.yaml", lambda d: d.update(gates=[expression]))

    def other_version(ws: Path) -> None:
        """sales-model@2, registered by hand from a run of flowers-logreg with SPEC_RUN's numbers."""
        other = SPEC_RUN.replace("20260101T000000Z-sales-forecast-a1b2c3", "20260102T000000Z-flowers-logreg-0b0b0b")
        shutil.copytree(ws / SPEC_RUN, ws / other)
        edit_yaml(ws / other / "run.yaml", lambda d: d.update(
            ref=f"run:{other.split('/')[1]}", experiment="experiment:flowers-logreg", created_at="2026-01-02T00:00:00Z",
            started_at="2026-01-02T00:00:01Z", ended_at="2026-01-02T00:00:09Z"))
        models_helpers.add_version(ws, 2)
        models_helpers.edit_gate(ws, 2, lambda g: g.update(run=f"run:{other.split('/')[1]}"))
        edit_yaml(ws / "models/sales-model/2/model.yaml", lambda d: d.update(
            produced_by=f"run:{other.split('/')[1]}", created_at="2026-01-02T00:00:10Z"))  # (after its run ended)

    def unregister(ws: Path, name: str) -> None:
        edit_yaml(ws / f"experiments/{name}.yaml", lambda d: d.pop("register", None))

    def register(ws: Path, name: str, expression: str) -> None:
        edit_yaml(ws / f"experiments/{name}.yaml", lambda d: d.update(gates=[expression], register={"model": "sales-model"}))

    return {
        "TFC0002-E010-changed": history("a committed dataset version changes",
                                        lambda ws: edit_yaml(ws / DATASET / "dataset.yaml", lambda d: d.update(description="better words"))),
        "TFC0002-E010-removed": history("a committed dataset version disappears", _delete(DATASET)),
        "TFC0003-E010-changed": history("a finished run changes",
                                        lambda ws: edit_yaml(ws / SPEC_RUN / "run.yaml", lambda d: d["tags"].update(purpose="rewritten"))),
        "TFC0003-E010-removed": history("a finished run disappears", _delete(SPEC_RUN)),
        "TFC0003-E011": history("a new run states a metric its own pinned metrics file does not hold", forged_run),
        "TFC0003-W001": history("a new run states metrics but pins no file they were written into", unpinned_run),
        "TFC0004-E010-changed": history("a registered model version changes",
                                        lambda ws: edit_yaml(ws / MODEL / "model.yaml", lambda d: d.update(description="v1 again"))),
        "TFC0004-E010-removed": history("a registered model version disappears", _delete(MODEL)),
        "TFC0005-E006-rewritten": history("the ledger rewritten into another valid chain: only the base can tell",
                                          candidate, rewritten_ledger, since=1),
        "TFC0005-E006-removed": history("the ledger disappears", candidate, lambda ws: (ws / models_helpers.LEDGER).unlink(), since=1),
        "TFC0005-E010": history("a promotion fails a gate the base's spec holds, the gate lowered in the same change",
                                lambda ws: (gate("test_accuracy >= 0.9")(ws), candidate(ws)),
                                lambda ws: (gate("test_accuracy >= 0.5")(ws), models_helpers.reach(ws, "staging")), since=1),
        "TFC0005-E010-now": history("a promotion fails a gate the change itself raises in the spec",
                                    candidate, lambda ws: (gate("test_accuracy >= 0.9")(ws), models_helpers.reach(ws, "staging")),
                                    since=1),
        "TFC0005-E010-registering": history(
            "a promotion of a version whose experiment registers nothing, held to the experiment that registers the model",
            lambda ws: (unregister(ws, "sales-forecast"), register(ws, "flowers-logreg", "test_accuracy >= 0.9"), candidate(ws)),
            lambda ws: models_helpers.reach(ws, "staging"), since=1),
        "TFC0005-E010-served": history(
            "a model registered by hand: a version of another experiment, held to the gates of the one whose version "
            "the base promoted",
            lambda ws: (unregister(ws, "sales-forecast"), gate("test_accuracy >= 0.9")(ws), models_helpers.reach(ws, "staging")),
            lambda ws: (other_version(ws), models_helpers.write_ledger(ws, [(models_helpers.ref(1), "candidate"),
                                                                            (models_helpers.ref(1), "staging"),
                                                                            (models_helpers.ref(2), "candidate"),
                                                                            (models_helpers.ref(2), "staging")])),
            since=1),
        "TFC0001-W001": history("the doctor's policy changes in the same change",
                                lambda ws: edit_yaml(ws / "strataml.yaml", lambda d: d["doctor"].update(ignore=["TFC0002-W001"]))),
        "TFC0006-W013": history("a .gitattributes changes", lambda ws: (ws / ".gitattributes").write_text("*.bin binary\n")),
        "TFC0001-W006": history("a checker's local state committed",
                                lambda ws: (ws / ".strataml").mkdir() or (ws / ".strataml/index.json").write_text("{}\n")),
        "TFC0006-W015": history("a .lfsconfig appears: the LFS server every clone would use",
                                lambda ws: (ws / ".lfsconfig").write_text("[lfs]\n\turl = https://lfs.example.net/x\n")),
        "TFC0007-W001-policy": history("the signing policy changes",
                                       lambda ws: edit_yaml(ws / "strataml.yaml", lambda d: d.update(
                                           signing={"require": [{"records": "models", "state": "production", "scope": "production"}]}))),
        "TFC0007-W001-keys": history("the trusted keys change", pin_alice),
        "TFC0006-E013": Spec("a file .gitattributes routes through Git LFS, committed as its content", lambda ws: None,
                             (lambda ws: (ws / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n"),)),
        "TFC0006-E013-own": Spec("StrataML's own file (record metadata) routed through Git LFS", lambda ws: None,
                                 (lambda ws: (ws / ".gitattributes").write_text("dataset.yaml filter=lfs diff=lfs merge=lfs -text\n"),)),
        "TFC0006-W011": Spec("a recorded file above the threshold, not routed through Git LFS", lambda ws: None,
                             (lambda ws: edit_yaml(ws / "strataml.yaml", lambda d: d["lfs"].update(threshold_bytes=100)),)),
        "TFC0006-W012-new": Spec("record metadata git does not track: new and not added", _restore(DATASET),
                                 (_delete(DATASET),)),
        "TFC0006-W012-ignored": Spec("record metadata git does not track: ignored", _restore(DATASET),
                                     (lambda ws: (_delete(DATASET)(ws), (ws / ".gitignore").write_text("datasets/flowers/\n")),)),
        "TFC0006-W014": Spec("a file tracked metadata records, present but not tracked by git",
                             lambda ws: shutil.copyfile(POSITIVE / FLOWERS_CSV, ws / FLOWERS_CSV), (_delete(FLOWERS_CSV),)),
        "TFC0006-E012": Spec("with --require-content, a recorded file present only as its Git LFS pointer",
                             lambda ws: pointer(ws, lambda oid, n: f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {n}\n"),
                             require_content=True),
    }


# --- signatures (TFC-0007): the stored throw-away keys ------------------------------------------

def stored_keys(base: Path) -> dict[str, object]:
    import gpgkeys

    keys = {name: gpgkeys.stored_key(base, name) for name in ("Alice", "Bob", "Mallory", "Sub", "Old", "Rev")}
    keys["Rev-revoked"] = gpgkeys.stored_key(base, "Rev", revoked=True)
    return keys


def signature_specs(keys: dict[str, object]) -> dict[str, Spec]:
    from test_signatures import SIGNATURE_CASES, pin, pin_raw, sign

    def revoked(ws: Path) -> None:
        pin_raw(ws, keys["Rev-revoked"], "models")  # type: ignore[arg-type]
        sign(ws, keys["Rev"])  # type: ignore[arg-type]

    def linked(what: str) -> Callable[[Path], None]:
        def change(ws: Path) -> None:
            pin(ws, keys["Alice"], "models")  # type: ignore[arg-type]
            real = ws / "tfc" / f"real-{what.replace('/', '-')}"
            (ws / "tfc/keys" / what).rename(real)
            (ws / "tfc/keys" / what).symlink_to(os.path.relpath(real, (ws / "tfc/keys" / what).parent))
        return change

    out = {
        code: Spec(f"the golden negative case of {code}", lambda ws, c=case: c(ws, keys))
        for code, case in SIGNATURE_CASES.items() if code != "TFC0007-E010"  # that one links out of the workspace
    }
    out["TFC0007-E005-revoked"] = Spec("a signature by a pinned key that has since been revoked", revoked)
    out["TFC0007-E010-keys-yaml-link"] = Spec("keys.yaml that is a symlink is not trusted", linked("keys.yaml"))
    out["TFC0007-E010-key-file-link"] = Spec("a pinned key file that is a symlink is not trusted",
                                             linked(f"{keys['Alice'].fingerprint}.asc"))  # type: ignore[attr-defined]
    out["TFC0007-signed"] = Spec("a model signed by a pinned key in scope, as the policy asks: no finding",
                                 lambda ws: (SIGNATURE_CASES["TFC0007-E001"](ws, keys), sign(ws, keys["Alice"])))  # type: ignore[arg-type]
    return out


def write(suite: Path = SUITE) -> None:
    """(Re)write cases/; base/ is the tests' golden positive workspace itself (conftest.POSITIVE)."""
    shutil.rmtree(suite / "cases", ignore_errors=True)
    (suite / "cases").mkdir()
    # ASCII only: a case about a byte-order mark or a zero-width space holds it as \ufeff or
    # \u200b, which a review sees, not as a character that prints as nothing.
    for name, doc in built().items():
        (suite / "cases" / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    write()
    print(f"wrote {SUITE}")
