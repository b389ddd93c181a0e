"""One golden negative workspace per enforced finding code: each must produce exactly that code."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

import models_helpers as ledgers
from conftest import edit_yaml, read_yaml
from strataml.contracts import registry
from strataml.doctor import engine
from strataml.hashing import dataset_digest
from strataml.refs import parse_ref

RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3"
MODEL = "models/sales-model/1"
FLOWERS = "datasets/flowers/1"
SALES_SPEC = "experiments/sales-forecast.yaml"
FLOWERS_SPEC = "experiments/flowers-logreg.yaml"


def redigest(ws: Path, folder: str) -> None:
    """Recompute a dataset's digest after its files list was edited on purpose."""
    def change(d: dict) -> None:
        d["digest"] = dataset_digest((f["path"], f["sha256"]) for f in d["files"])
    edit_yaml(ws / folder / "dataset.yaml", change)


def second_run(ws: Path) -> Path:
    """A copy of RUN under another id, from which no model version is made."""
    new = ws / RUN.replace("a1b2c3", "b2c3d4")
    shutil.copytree(ws / RUN, new)
    edit_yaml(new / "run.yaml", lambda d: d.update(ref=f"run:{new.name}"))
    return new


def swap_model_file(ws: Path) -> None:
    """Another model file in the bundle, re-pinned in model.yaml: clean but for its provenance."""
    import hashlib

    data = b"some other model entirely\n"
    (ws / "models/sales-model/1/model.bin").write_bytes(data)

    def change(d: dict) -> None:
        entry = next(a for a in d["artifacts"] if a["path"] == "model.bin")
        entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    edit_yaml(ws / "models/sales-model/1/model.yaml", change)


def set_windows(ws: Path, **windows: tuple[str, str]) -> None:
    edit_yaml(ws / SALES_SPEC, lambda d: d["split"]["windows"].update({k: {"start": a, "end": b} for k, (a, b) in windows.items()}))


def copy_dataset(ws: Path, src: str, dest: str, ref: str) -> None:
    shutil.copytree(ws / src, ws / dest)
    edit_yaml(ws / dest / "dataset.yaml", lambda d: d.update(ref=ref))


def raw(ws: Path, rel: str, data: bytes) -> None:
    (ws / rel).write_bytes(data)


def too_long(folder: Path) -> None:
    """Folders nested past PATH_MAX (4096): made one level at a time, relative to the last."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(18):  # 18 x 251 bytes
            os.mkdir("d" * 250, dir_fd=fd)
            inner = os.open("d" * 250, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)


SPEC = b"schema: strataml/experiment/v1\nname: flowers-logreg\nplugin: sklearn\ndata: {dataset: 'dataset:flowers@1'}\nmodel: {type: logistic_regression}\n"

CASES = {
    "TFC0001-E001": lambda ws: edit_yaml(ws / "strataml.yaml", lambda d: d.update(colour="blue")),
    "TFC0001-E002": lambda ws: raw(ws, "datasets/stray.csv", b"a,b\n"),
    "TFC0001-E003": lambda ws: copy_dataset(ws, FLOWERS, "datasets/flowers/2-", "dataset:flowers@2-"),
    "TFC0001-E004": lambda ws: ((ws / "runs/orphan").mkdir(), raw(ws, "runs/orphan/log.txt", b"x")),
    "TFC0001-E005": lambda ws: edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d.update(ref="dataset:flowers@2")),
    "TFC0001-W003": lambda ws: edit_yaml(
        ws / "strataml.yaml", lambda d: d.setdefault("doctor", {}).update(severity={"TFC0006-W009": "error"})
    ),
    "TFC0001-W002": lambda ws: edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d.update(schema="strataml/dataset/v1.1", checksum_kind="new")),
    "TFC0001-E007": lambda ws: edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d.update(schema="strataml/dataset/v9")),
    "TFC0001-E008": lambda ws: (ws / FLOWERS / "notes\x1b[2K").mkdir(),
    "TFC0001-W004": lambda ws: (ws / FLOWERS / "notes\u200b").mkdir(),
    "TFC0001-W005": lambda ws: edit_yaml(ws / "strataml.yaml", lambda d: d.setdefault("doctor", {}).update(rules="9.0.0")),
    "TFC0001-E009": lambda ws: (ws / FLOWERS / ".git").mkdir(),
    "TFC0001-E010": lambda ws: too_long(ws / FLOWERS),
    "TFC0001-E101": lambda ws: raw(ws, FLOWERS_SPEC, SPEC + b"# " + b"x" * (5 * 1024 * 1024) + b"\n"),
    "TFC0001-E102": lambda ws: raw(ws, FLOWERS_SPEC, SPEC + b"description: caf\xe9\n"),
    "TFC0001-E103": lambda ws: raw(ws, FLOWERS_SPEC, b"\xef\xbb\xbf" + SPEC + b"seed: 1\n"),
    "TFC0001-E104": lambda ws: raw(ws, FLOWERS_SPEC, SPEC + b"seed: 1\ntags:\n\tpurpose: x\n"),
    "TFC0001-E105": lambda ws: raw(ws, FLOWERS_SPEC, SPEC + b"seed: [1\n"),
    "TFC0001-E106": lambda ws: raw(ws, FLOWERS_SPEC, SPEC + b"seed: &s 1\ntags: {a: *s}\n"),
    "TFC0001-E107": lambda ws: raw(ws, FLOWERS_SPEC, SPEC + b"seed: 1\ntags: " + b"[" * 100 + b"]" * 100 + b"\n"),
    "TFC0001-E108": lambda ws: raw(ws, FLOWERS_SPEC, SPEC + b"seed: 1\nseed: 1\n"),
    "TFC0001-E109": lambda ws: raw(ws, FLOWERS_SPEC, SPEC + b"seed: !!python/object/apply:os.system ['true']\n"),
    "TFC0001-E110": lambda ws: raw(ws, FLOWERS_SPEC, SPEC + b"seed: 1\ntags: [" + b"0," * 250_000 + b"]\n"),
    "TFC0002-E001": lambda ws: edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d.update(rows="six")),
    "TFC0002-E002": lambda ws: edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d.update(digest="sha256:" + "ab" * 32)),
    "TFC0002-E003": lambda ws: edit_yaml(ws / FLOWERS / "dataset.yaml",
                                         lambda d: d.update(time_range={"column": "when", "start": "2024-01-01", "end": "2024-01-02"})),
    "TFC0002-W001": lambda ws: edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d.pop("license")),
    # (A run no model version is made from: a broken producing run is also its version's TFC0004-E004.)
    "TFC0003-E001": lambda ws: edit_yaml(second_run(ws) / "run.yaml", lambda d: d.update(status="done")),
    "TFC0003-E002": lambda ws: edit_yaml(ws / FLOWERS_SPEC, lambda d: d.update(seed="one")),
    "TFC0003-E003": lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: d.update(ended_at="2025-12-31T00:00:00Z")),
    "TFC0003-E004": lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d.update(gates=["test_f1 >= 0.5"])),
    "TFC0003-E005": lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d["data"].update(target="Units")),
    "TFC0003-E006": lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d["model"].update(type="random_forrest")),
    "TFC0003-I001": lambda ws: edit_yaml(ws / SALES_SPEC, lambda d: d.update(plugin="not-installed-here")),
    "TFC0004-E001": lambda ws: edit_yaml(ws / MODEL / "model.yaml", lambda d: d.pop("produced_by")),
    "TFC0004-E002": lambda ws: ledgers.edit_gate(ws, 1, lambda g: g.pop("criteria")),
    "TFC0004-E003": lambda ws: ledgers.edit_gate(ws, 1, lambda g: g.update(status="FAIL")),
    "TFC0004-E004": lambda ws: swap_model_file(ws),
    "TFC0004-E005": lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: d["metrics"].update(train_accuracy=0.99)),
    "TFC0006-E001": lambda ws: (ws / FLOWERS / "flowers.csv").unlink(),
    "TFC0006-E002": lambda ws: raw(ws, f"{FLOWERS}/flowers.csv", (ws / FLOWERS / "flowers.csv").read_bytes().replace(b"1.4", b"1.5", 1)),
    "TFC0006-E003": lambda ws: raw(ws, f"{FLOWERS}/flowers.csv", (ws / FLOWERS / "flowers.csv").read_bytes() + b"7.0,2.0,virginica\n"),
    "TFC0006-E004": lambda ws: (edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d["files"].append(
        {"path": "../../../etc/passwd", "sha256": "0" * 64, "size": 1})), redigest(ws, FLOWERS)),
    "TFC0006-E005": lambda ws: os.symlink("/etc/passwd", ws / FLOWERS / "passwd"),
    "TFC0006-E006": lambda ws: os.mkfifo(ws / FLOWERS / "pipe"),
    "TFC0006-W001": lambda ws: raw(ws, f"{FLOWERS}/notes.txt", b"remember the milk\n"),
    "TFC0008-E001": lambda ws: edit_yaml(ws / FLOWERS_SPEC, lambda d: d["data"].update(dataset="dataset:flowers@9")),
    "TFC0008-E002": lambda ws: edit_yaml(ws / MODEL / "model.yaml", lambda d: d.update(produced_by="dataset:flowers@1")),
    "TFC0008-E003": lambda ws: edit_yaml(ws / FLOWERS_SPEC, lambda d: d["data"].update(dataset="flowers")),
    "TFC0008-E004": lambda ws: copy_dataset(ws, FLOWERS, "datasets/Flowers/1", "dataset:Flowers@1"),
    "TFC0008-W001": lambda ws: copy_dataset(ws, FLOWERS, "datasets/flowers/01", "dataset:flowers@01"),
    "TFC0001-E011": lambda ws: ((ws / "Models/sales-model").mkdir(parents=True),
                                (ws / "Models/sales-model/lifecycle.jsonl").write_text("{}\n")),
    "TFC0008-E010": lambda ws: (
        edit_yaml(ws / RUN / "run.yaml", lambda d: (d["params"].update({"data.dataset": "dataset:sales@1"}), d.update(inputs=[]))),
        edit_yaml(ws / MODEL / "model.yaml", lambda d: d.update(inputs=[])),
    ),
    "TFC0008-E005": lambda ws: edit_yaml(ws / RUN / "run.yaml", lambda d: d["inputs"][0].update(digest="sha256:" + "cd" * 32)),
    "TFC0008-E006": lambda ws: set_windows(ws, train=("2024-01-01", "2024-01-11")),
    "TFC0005-E001": lambda ws: raw(ws, "models/sales-model/lifecycle.jsonl", b'{"seq": 1}\n'),
    "TFC0005-E002": lambda ws: (ledgers.reach(ws, "staging"), ledgers.tamper(ws, lambda t: t.replace('"reason":"test"', '"reason":"x"', 1))),
    "TFC0005-E003": lambda ws: ledgers.write_ledger(ws, [(ledgers.ref(1), "staging")]),
    "TFC0005-E004": lambda ws: (ledgers.add_version(ws, 2), ledgers.write_ledger(
        ws, [(ledgers.ref(v), s) for v in (1, 2) for s in ("candidate", "staging", "production")])),
    "TFC0005-E005": lambda ws: (ledgers.reach(ws, "staging"), ledgers.tamper(ws, lambda t: t[:-9])),
    "TFC0005-E008": lambda ws: ledgers.write_ledger(ws, [(ledgers.ref(1), "candidate"), (ledgers.ref(1), "staging")],
                                                    ["2026-11-22T10:00:00Z", "2026-11-22T09:59:59Z"]),
    "TFC0005-E009": lambda ws: ledgers.write_ledger(ws, [(ledgers.ref(1), "candidate"), (ledgers.ref(9), "candidate")]),
    "TFC0005-E007": lambda ws: (ledgers.fail_gate(ws), ledgers.write_ledger(ws, [(ledgers.ref(1), "candidate"), (ledgers.ref(1), "staging")])),
    "TFC0008-E009": lambda ws: (ledgers.add_version(ws, 2), edit_yaml(ws / MODEL / "model.yaml", lambda d: d.update(derived_from="model:sales-model@2")),
                                edit_yaml(ws / "models/sales-model/2/model.yaml", lambda d: d.update(derived_from="model:sales-model@1"))),
    "TFC0008-E007": lambda ws: set_windows(ws, test=("2024-01-11", "2024-02-01")),
    "TFC0008-E008": lambda ws: set_windows(ws, val=("2024-01-10", "2024-01-09")),
}


def codes(ws: Path) -> list[str]:
    return [f.code for f in engine.doctor(ws).findings]


def test_positive_workspace_is_clean(ws: Path) -> None:
    report = engine.doctor(ws, strict=True)
    assert report.findings == ()
    assert report.exit_code == 0
    assert report.stats["records"] == 6


def test_every_enforced_code_has_a_golden_negative() -> None:
    from test_git_rules import GIT_CASES
    from test_signatures import SIGNATURE_CASES

    enforced = {code for code, rule in registry().items() if rule.enforced}
    assert not set(CASES) & set(GIT_CASES) and not (set(CASES) | set(GIT_CASES)) & set(SIGNATURE_CASES)
    assert enforced == set(CASES) | set(GIT_CASES) | set(SIGNATURE_CASES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_golden_negative_produces_exactly_its_code(ws: Path, code: str) -> None:
    CASES[code](ws)
    found = codes(ws)
    assert found and set(found) == {code}, found


def _summary(ws: Path, metrics: dict) -> None:
    """The run records a summary/run_summary.json (as `strataml run` writes one) holding `metrics`."""
    import hashlib
    import json

    data = (json.dumps({"metrics": metrics, "status": "succeeded"}, indent=2, sort_keys=True) + "\n").encode()
    (ws / RUN / "summary").mkdir(exist_ok=True)
    (ws / RUN / "summary/run_summary.json").write_bytes(data)
    edit_yaml(ws / RUN / "run.yaml", lambda d: d["artifacts"].append(
        {"path": "summary/run_summary.json", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}))


def test_run_metrics_are_judged_against_the_summary_too_and_only_for_runs_behind_models(ws: Path) -> None:
    """The new user's case: run.yaml's test_accuracy edited before registration, so the gate
    receipt agrees with it (TFC0004-E003 is silent); the run's own files do not."""
    _summary(ws, {"train_accuracy": 0.9, "test_accuracy": 0.75})
    assert codes(ws) == []
    (ws / RUN / "metrics/metrics.json").unlink()
    edit_yaml(ws / RUN / "run.yaml", lambda d: d.update(artifacts=[a for a in d["artifacts"] if a["path"] != "metrics/metrics.json"]))
    ledgers.edit_gate(ws, 1, lambda g: g["criteria"][0].update(observed=0.99))
    edit_yaml(ws / RUN / "run.yaml", lambda d: d["metrics"].update(test_accuracy=0.99))
    findings = [f for f in engine.doctor(ws).findings]
    assert [(f.code, f.path) for f in findings] == [("TFC0004-E005", f"{MODEL}/model.yaml")], findings
    assert "test_accuracy 0.99 (file: 0.75)" in findings[0].message and "summary/run_summary.json" in findings[0].message
    # A metric removed from run.yaml that the summary holds disagrees too.
    edit_yaml(ws / RUN / "run.yaml", lambda d: (d["metrics"].pop("train_accuracy"), d["metrics"].update(test_accuracy=0.75)))
    ledgers.edit_gate(ws, 1, lambda g: g["criteria"][0].update(observed=0.75))
    assert [f.message for f in engine.doctor(ws).findings if f.code == "TFC0004-E005"] == [
        f"run:{RUN.split('/')[1]} (produced_by) states metrics its own summary/run_summary.json does not: "
        "train_accuracy missing (file: 0.9)"
    ]
    # No model names the run: its metrics decide nothing, and its files are not read.
    shutil.rmtree(ws / MODEL.rsplit("/", 1)[0])
    assert "TFC0004-E005" not in codes(ws)


def test_a_changed_metrics_file_is_the_integrity_rules_finding_not_a_disagreement(ws: Path) -> None:
    path = ws / RUN / "metrics/metrics.json"
    path.write_bytes(path.read_bytes().replace(b"0.75", b"0.76"))
    assert codes(ws) == ["TFC0006-E002"]


def test_model_register_refuses_a_run_whose_metrics_were_edited(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before the rule, `model register` made a PASS receipt from the edited value (0.99 against
    the file's 0.75), and the version could be promoted."""
    from conftest import invoke

    shutil.rmtree(ws / MODEL.rsplit("/", 1)[0])  # the run not registered yet
    edit_yaml(ws / RUN / "run.yaml", lambda d: d["metrics"].update(test_accuracy=0.99))
    code, _out, err = invoke(ws, "model", "register", f"run:{RUN.split('/')[1]}", "--name", "other", capsys=capsys)
    assert code == 2 and "TFC0004-E005" in err and "test_accuracy 0.99 (file: 0.75)" in err, err
    assert "restore it from Git" in err and not (ws / "models/other").exists()


def test_a_staging_folder_left_by_a_killed_command_says_to_delete_it(ws: Path) -> None:
    """Its hint said to create the metadata with `strataml dataset add`, for a folder no user made."""
    left = ws / FLOWERS.rsplit("/", 1)[0] / ".2.0123abcd.staging"
    left.mkdir()
    (left / "flowers.csv").write_text("a,b\n1,2\n")
    (finding,) = engine.doctor(ws).findings
    assert finding.code == "TFC0001-E004" and "left behind by one that was killed" in finding.message
    assert f"rm -rf {left.relative_to(ws).as_posix()}" in finding.hint and "dataset add" not in finding.hint


@pytest.mark.parametrize("staged", [False, True], ids=["files", "with-its-metadata"])
def test_a_staging_folder_a_command_still_builds_in_is_no_finding_until_it_is_killed(ws: Path, staged: bool) -> None:
    """While `strataml run` trained, every reader said its staging folder was left by a killed
    command, with a hint to `rm -rf` it. The command holds the folder's lock while it builds; a
    killed one holds none, and the same folder is then reported. `dataset add` writes the
    metadata there before it publishes: the folder was then read as a record (an invalid version,
    a ref that is not its place, untracked metadata) while the command still built it."""
    import signal
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from strataml.atomic import staging_dir; "
        f"print(staging_dir(Path(sys.argv[1]), {FLOWERS.rsplit('/', 1)[0] + '/2'!r}), flush=True); sys.stdin.read()"
    )
    builder = subprocess.Popen(
        [sys.executable, "-c", code, str(ws)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert builder.stdout is not None
        staging = Path(builder.stdout.readline().strip())
        (staging / "flowers.csv").write_text("a,b\n1,2\n")
        if staged:
            shutil.copy(ws / FLOWERS / "dataset.yaml", staging / "dataset.yaml")
        first = engine.doctor(ws)
        assert not first.findings and first.volatile  # (the lock is no part of the files: never kept)
        # Without git, whether git tracks the folder is not known: it is reported as any other.
        blind = engine.doctor(ws, options=engine.Options(use_git=False))
        assert [f.code for f in blind.findings] == ["TFC0001-E004"]
        builder.send_signal(signal.SIGKILL)
        builder.wait(timeout=30)
        (finding,) = engine.doctor(ws).findings
        assert finding.code == "TFC0001-E004" and finding.path == staging.relative_to(ws).as_posix()
        assert ("was never published" in finding.message) == staged, finding.message
    finally:
        builder.kill()
        builder.wait(timeout=30)


def test_a_committed_staging_folder_is_reported_whatever_holds_its_lock(ws: Path) -> None:
    """A folder a command builds in is never committed: a lock some process holds on a committed
    one (on a runner that keeps its checkout between jobs) must not hide it from the gate."""
    import fcntl
    import subprocess

    from test_git_rules import commit_all

    left = ws / FLOWERS.rsplit("/", 1)[0] / ".2.0123abcd.staging"
    left.mkdir()
    (left / "flowers.csv").write_text("a,b\n1,2\n")
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    commit_all(ws, "a staging folder committed")
    fd = os.open(left, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        codes = [(f.code, f.path) for f in engine.doctor(ws).findings]
        assert ("TFC0001-E004", left.relative_to(ws).as_posix()) in codes, codes
    finally:
        os.close(fd)


def test_a_staging_folder_is_let_go_once_published_or_discarded(tmp_path: Path) -> None:
    from strataml import atomic

    for end in ("publish", "discard"):
        root = tmp_path / end
        root.mkdir()
        staging = atomic.staging_dir(root, "runs/r1")
        rel = staging.relative_to(root).as_posix()
        assert atomic.building(root, rel)
        if end == "publish":
            atomic.publish_dir(root, staging, "runs/r1")
            assert not atomic.building(root, "runs/r1")  # (the lock went with the folder's descriptor)
        else:
            atomic.discard_staging(staging)
            assert not staging.exists()
        assert not atomic._BUILDING and not atomic.building(root, rel)


def test_a_plugins_metrics_file_may_hold_more_than_its_metrics(ws: Path) -> None:
    """Counts and tables beside the metrics (a plugin's own metrics/metrics.json) are not a
    disagreement; a metric both name still must agree."""
    import hashlib
    import json

    path = ws / RUN / "metrics/metrics.json"
    held = {**json.loads(path.read_text()), "n_test": 23, "per_class": {"a": 0.9}}
    path.write_text(json.dumps(held, indent=2, sort_keys=True) + "\n")
    data = path.read_bytes()

    def pin(d: dict) -> None:
        entry = next(a for a in d["artifacts"] if a["path"] == "metrics/metrics.json")
        entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    edit_yaml(ws / RUN / "run.yaml", pin)
    assert codes(ws) == []
    edit_yaml(ws / RUN / "run.yaml", lambda d: d["metrics"].update(train_accuracy=0.5))
    assert codes(ws) == ["TFC0004-E005"]


def refused_on_the_version(ws: Path, code: str, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    """sales-model@1 has exactly `code` (its message holding `said`), and promote refuses it."""
    from strataml.cli.main import run

    on_model = [f for f in engine.doctor(ws).findings if f.path == "models/sales-model/1/model.yaml"]
    assert [f.code for f in on_model] == [code], on_model
    assert said in on_model[0].message
    assert run(["-C", str(ws), "promote", "model:sales-model@1", "--to", "candidate"]) == 2
    assert code in capsys.readouterr().err


@pytest.mark.parametrize("broken", [b"bogus_field: 1\n", b"", b"{broken\n", b"- a list\n"], ids=["field", "empty", "yaml", "list"])
def test_a_swapped_model_file_stays_an_error_on_the_version_when_its_run_is_broken(
    ws: Path, broken: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    """Breaking the producing run's run.yaml switched TFC0004-E004 off: the version then had no
    finding, and promote and sign (which judge the version's own findings) let a swapped model
    through to production."""

    swap_model_file(ws)
    meta = ws / RUN / "run.yaml"
    meta.write_bytes(meta.read_bytes() + broken if broken.startswith(b"bogus") else broken)
    refused_on_the_version(ws, "TFC0004-E004", "so nothing shows that this bundle's files are the run's", capsys)


def test_a_run_of_a_later_minor_schema_is_not_broken_for_its_model_version(ws: Path) -> None:
    """A run written by a newer strataml (a later minor, a field it added) is TFC0001-W002 and
    nothing else: the version's rule judged the whole document, called the run broken
    (TFC0004-E004), and shared the cache's entry with the records rule, which then reported
    the new field too."""
    edit_yaml(ws / RUN / "run.yaml", lambda d: d.update(schema="strataml/run/v1.9", new_field=1))
    for _ in range(3):  # (without the cache, filling it, reading it)
        assert codes(ws) == ["TFC0001-W002"]
        assert [f.code for f in engine.doctor(ws, use_cache=True).findings] == ["TFC0001-W002"]


@pytest.mark.parametrize("kind", ["run", "model"])
def test_a_schema_that_is_not_text_is_reported_not_skipped(ws: Path, kind: str) -> None:
    """`schema: 1` was taken as a schema this strataml does not read: the records rule skipped the
    document, no rule judged its fields, and nothing said so (a model with a forged gate passed
    --strict)."""
    meta = ws / (RUN + "/run.yaml" if kind == "run" else "models/sales-model/1/model.yaml")
    edit_yaml(meta, lambda d: d.update(schema=1))
    found = [f for f in engine.doctor(ws).findings if f.path == str(meta.relative_to(ws))]
    assert [f.code for f in found] == ["TFC0001-E007"], found
    assert found[0].message.startswith("schema is int, not text") and found[0].hint == f"set schema: strataml/{kind}/v1"


@pytest.mark.parametrize("how", ["symlink", "padded", "a metric none holds"])
def test_a_version_whose_run_states_metrics_no_file_vouches_for_is_an_error(
    ws: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run's metric file made a symlink (its content, so its pin, unchanged) or padded past the
    loader's limit, or a metric its files do not hold: the check could not look, said nothing
    on the version, and promote moved a version resting on hand-edited numbers."""
    import hashlib


    metrics = ws / RUN / "metrics/metrics.json"
    if how == "symlink":
        metrics.rename(metrics.with_name("real.json"))
        metrics.symlink_to("real.json")
    elif how == "padded":
        data = metrics.read_bytes().rstrip() + b" " * (5 * 1024 * 1024) + b"\n"
        metrics.write_bytes(data)

        def pin(d: dict) -> None:
            entry = next(a for a in d["artifacts"] if a["path"] == "metrics/metrics.json")
            entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))

        edit_yaml(ws / RUN / "run.yaml", pin)
    else:
        edit_yaml(ws / RUN / "run.yaml", lambda d: d["metrics"].update(test_brand_new=0.99))
    refused_on_the_version(ws, "TFC0004-E005", "states metrics no file it wrote vouches for", capsys)


def test_a_version_whose_evaluation_is_not_its_runs_is_an_error(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """evaluation.metrics are what the card, compare and diff show: a version copied by hand with
    better numbers there, its receipt left as the run's, passed every check."""
    edit_yaml(ws / "models/sales-model/1/model.yaml", lambda d: d["evaluation"]["metrics"].update(test_accuracy=0.99))
    refused_on_the_version(ws, "TFC0004-E005", "evaluation.metrics are not what run:", capsys)


def test_a_whole_number_float_size_is_a_size(ws: Path) -> None:
    """`size: 11000000.0` passes the schema's integer (as JSON Schema has it), and was read as no
    size: every check of it was skipped, the large-file-not-in-LFS one among them."""
    edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d["files"][0].update(size=float(d["files"][0]["size"]) + 1))
    assert codes(ws) == ["TFC0006-E003"]


def test_a_full_run_validates_each_document_once(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model version's rules ask whether its run is valid before the records rule does: without
    the run's answer held, every run behind a model was validated twice (3,333 of ws-10k's)."""
    from strataml import schemas

    seen: list[int] = []
    validate = schemas.validate
    monkeypatch.setattr(schemas, "validate", lambda kind, data: (seen.append((kind, id(data))), validate(kind, data))[1])
    swap_model_file(ws)  # (the version's rule then asks of its run)
    assert "TFC0004-E004" in codes(ws)
    seen.clear()  # A run of a later minor: judged without the fields it adds, once all the same.
    edit_yaml(ws / RUN / "run.yaml", lambda d: d.update(schema="strataml/run/v1.9", new_field=1))
    assert "TFC0004-E004" in codes(ws)
    records = [s for s in seen if s[0] != "workspace"]  # (the config: the policy reads it before the rules)
    assert records and len(records) == len(set(records)), sorted(records)


def test_a_policy_naming_no_rule_is_told_where_and_a_known_one_is_not(ws: Path) -> None:
    """doctor.severity and doctor.ignore took any code the schema's pattern let through, and a
    misspelt one changed nothing, silently (the command line's --ignore refuses it)."""
    edit_yaml(
        ws / "strataml.yaml",
        lambda d: d.setdefault("doctor", {}).update(
            severity={"TFC0006-W001": "error", "TFC0006-W009": "error"}, ignore=["TFC0002", "TFC0060"]
        ),
    )
    report = engine.doctor(ws)
    found = [f for f in report.findings if f.code == "TFC0001-W003"]
    lines = (ws / "strataml.yaml").read_text().splitlines()
    assert [(f.message.split(",")[0], "TFC0006-W009" in lines[f.line - 1] or "TFC0060" in lines[f.line - 1])
            for f in found] == [("doctor.severity names 'TFC0006-W009'", True), ("doctor.ignore names 'TFC0060'", True)]
    assert "TFC0006-W001" in found[0].hint.split("?")[0] and "did you mean" not in found[1].hint, found[0].hint


def test_a_rules_pin_newer_than_the_checker_is_said_and_the_one_it_runs_is_not(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doctor.rules past the running strataml passed in silence: a CI job on an older install
    enforced fewer rules than the team pinned."""
    from strataml import __version__

    for pin, expected in (("9.0.0", ["TFC0001-W005"]), (__version__, []), ("0.1.0", [])):
        edit_yaml(ws / "strataml.yaml", lambda d, pin=pin: d.setdefault("doctor", {}).update(rules=pin))
        found = [f for f in engine.doctor(ws).findings if f.code.startswith("TFC0001")]
        assert [f.code for f in found] == expected, found
    edit_yaml(ws / "strataml.yaml", lambda d: d["doctor"].update(rules="9.0.0"))
    newer = next(f for f in engine.doctor(ws).findings if f.code == "TFC0001-W005")
    # A pre-release comes before its release: 0.3.0rc1 does not enforce all of a 0.3.0 pin.
    from strataml.doctor.rules import layout

    assert layout._release("0.3.0rc1") == layout._release("0.3.0.dev1") == ((0, 3, 0), True)
    assert layout._release("0.3.0+ours") == layout._release("0.3.0.post1") == ((0, 3, 0), False)
    monkeypatch.setattr(layout, "_TOOL", ((9, 0, 0), True))
    assert "TFC0001-W005" in [f.code for f in engine.doctor(ws).findings]
    monkeypatch.setattr(layout, "_TOOL", ((9, 0, 0), False))
    assert "TFC0001-W005" not in [f.code for f in engine.doctor(ws).findings]
    assert "9.0.0" in (ws / "strataml.yaml").read_text().splitlines()[newer.line - 1]
    assert f"(doctor: {{rules: {__version__}}})" in newer.hint and "newer than this strataml" in newer.message


@pytest.mark.parametrize("broken", [b"rows: [12\n", b"- a list\n", b"just text\n"])
def test_a_dataset_that_does_not_load_is_said_so_by_what_depends_on_it(ws: Path, broken: bytes) -> None:
    """A dataset.yaml that did not load (YAML broken, or not a mapping): its file was reported as
    not recorded (TFC0006-W001), the time-split spec and run on it as having no time_range
    (TFC0008-E008, hinting to recreate a version that exists), and a document that is not a
    mapping as lacking a licence (TFC0002-W001). The first two stay (a file added beside a broken
    record must be seen), worded as what is known; the licence warning goes."""
    meta = ws / "datasets/sales/1/dataset.yaml"
    text = meta.read_bytes()
    meta.write_bytes(text.replace(b"rows: 12\n", broken, 1) if broken.startswith(b"rows") else broken)
    report = engine.doctor(ws)
    said = {(f.code, f.path): f.message for f in report.findings}
    error = "TFC0001-E105" if broken.startswith(b"rows") else "TFC0002-E001"
    assert set(said) == {
        (error, "datasets/sales/1/dataset.yaml"),
        ("TFC0006-W001", "datasets/sales/1/sales.csv"),  # still seen (a file added beside it must be)
        ("TFC0008-E008", SALES_SPEC),  # still an error: the windows cannot be checked
        ("TFC0008-E008", f"{RUN}/run.yaml"),
    }
    assert "did not load, so nothing shows that it records it" in said["TFC0006-W001", "datasets/sales/1/sales.csv"]
    assert "did not load" in said["TFC0008-E008", SALES_SPEC] and "no time_range" not in said["TFC0008-E008", SALES_SPEC]


def test_an_unexpected_key_is_told_at_its_own_line(ws: Path) -> None:
    """It was told at its mapping's line: `document:` at line 1-2 for a top-level `epochs:` at the end."""
    spec = ws / SALES_SPEC
    text = spec.read_text()
    spec.write_text(text.replace("  dataset:", "  datset_note: x\n  dataset:", 1) + "epochs: 3\n")
    lines = spec.read_text().splitlines()
    found = [f for f in engine.doctor(ws).findings if "Additional properties" in f.message]
    assert sorted((f.message.split(":")[0], lines[f.line - 1].split(":")[0].strip()) for f in found) == [
        ("data", "datset_note"),
        ("document", "epochs"),
    ]


def test_a_version_spelled_like_another_is_said_under_since_and_alike_spellings_only(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`datasets/flowers/01/` added beside the published `1/` passed the gate: `dataset add`
    refused it, a hand-made folder did not (refs and "the latest version" take them for one)."""
    from conftest import invoke
    from test_git_rules import commit_all, git

    (ws / ".gitignore").write_text(".strataml/\n")
    git(ws, "init", "-q")
    base = commit_all(ws, "workspace")
    for version, alike in (("2", None), ("1.0", None), ("01", "1"), ("1-0", "1.0"), ("1.0.0", None), ("1.00", "1.0")):
        copy_dataset(ws, FLOWERS, f"datasets/flowers/{version}", f"dataset:flowers@{version}")
        commit_all(ws, f"flowers {version}")
        code, out, _ = invoke(ws, "doctor", "--strict", "--since", base, "--format", "json", capsys=capsys)
        said = [f for f in json.loads(out)["findings"] if f["code"] == "TFC0008-W001"]
        assert (code, bool(said)) == ((2, True) if alike else (0, False)), out
        if alike:
            # (on what the change brings: 1 was there at the base, 1.0 came with the change)
            assert {f["path"] for f in said} == {f"datasets/flowers/{version}"} | (
                {f"datasets/flowers/{alike}"} if alike != "1" else set()
            )
            mine = next(f for f in said if f["path"] == f"datasets/flowers/{version}")
            assert f"dataset:flowers@{alike} spelled" in mine["message"] and "number of its own" in mine["hint"], mine
            shutil.rmtree(ws / f"datasets/flowers/{version}")
            commit_all(ws, f"flowers {version} gone")
    # A pair the base holds already is not the change's: a new version beside it passes.
    copy_dataset(ws, FLOWERS, "datasets/flowers/01", "dataset:flowers@01")
    older = commit_all(ws, "a pair made before the rule")
    copy_dataset(ws, FLOWERS, "datasets/flowers/7", "dataset:flowers@7")
    commit_all(ws, "flowers 7")
    code, out, _ = invoke(ws, "doctor", "--strict", "--since", older, "--format", "json", capsys=capsys)
    assert code == 0 and not json.loads(out)["findings"], out
    shutil.rmtree(ws / "datasets/flowers/01")
    # Models too, and each kind and name on its own: model:m@01 is not dataset:m@1's.
    ledgers.add_version(ws, 2)
    twice = ws / "models/sales-model/02"
    shutil.copytree(ws / "models/sales-model/2", twice)
    edit_yaml(twice / "model.yaml", lambda d: d.update(ref="model:sales-model@02"))
    found = [f for f in engine.doctor(ws).findings if f.code == "TFC0008-W001"]
    assert sorted(f.path for f in found) == ["models/sales-model/02", "models/sales-model/2"], found


def test_two_spellings_of_a_name_say_which_folders_are_one(ws: Path) -> None:
    """dataset:Flowers@2 beside dataset:flowers@1 "collided" with no word of where: the name's
    two folders are one on macOS and Windows."""
    copy_dataset(ws, FLOWERS, "datasets/Flowers/2", "dataset:Flowers@2")
    said = [f.hint for f in engine.doctor(ws).findings if f.code == "TFC0008-E004"]
    assert len(said) == 2 and all(h.endswith("same folder (datasets/Flowers/ and datasets/flowers/ are one)") for h in said), said
    shutil.rmtree(ws / "datasets/Flowers")
    other = RUN.replace("sales", "Sales")  # (two runs: one ref folded, said as before)
    shutil.copytree(ws / RUN, ws / other)
    edit_yaml(ws / other / "run.yaml", lambda d: d.update(ref="run:" + other.split("/")[1]))
    said = [f.hint for f in engine.doctor(ws).findings if f.code == "TFC0008-E004"]
    assert said and all(h.endswith("they would be the same folder") for h in said), said


def test_a_run_that_read_the_model_version_it_produced_is_a_lineage_loop(ws: Path) -> None:
    """Only models and datasets were followed, but a run names the models it read: a run whose
    inputs hold the version it produced (produced_by that run) closed a loop nobody reported."""
    edit_yaml(ws / RUN / "run.yaml", lambda d: d["inputs"].append({"ref": "model:sales-model@1", "digest": "sha256:" + "0" * 64}))
    loops = [f for f in engine.doctor(ws).findings if f.code == "TFC0008-E009"]
    assert len(loops) == 1 and "model:sales-model@1" in loops[0].message and "run:" in loops[0].message, loops


@pytest.mark.parametrize("drop", ["windows", "column"])
def test_a_run_s_time_split_records_its_windows_and_column(ws: Path, drop: str) -> None:
    """TFC-0003 §2: a time split MUST carry the windows actually used, so the leakage rules can
    check them; a run without them passed, and none of TFC0008-E006..E008 ran on it."""
    edit_yaml(ws / RUN / "run.yaml", lambda d: d["split"].pop(drop))
    found = [f for f in engine.doctor(ws).findings if f.path == f"{RUN}/run.yaml"]
    assert [f.code for f in found] == ["TFC0003-E001"] and repr(drop) in found[0].message, found


@pytest.mark.parametrize(("version", "said"), [("v" * 33, "at most 32"), ("x" * 65, "at most 64")])
def test_a_name_that_is_too_long_is_told_its_own_limit(ws: Path, version: str, said: str) -> None:
    """A 33-character version was refused saying names may have 64 characters."""
    if said == "at most 32":
        copy_dataset(ws, FLOWERS, f"datasets/flowers/{version}", f"dataset:flowers@{version}")
    else:
        copy_dataset(ws, FLOWERS, f"datasets/{version}/1", f"dataset:{version}@1")
    bad = [f for f in engine.doctor(ws).findings if f.code == "TFC0001-E003"]
    assert len(bad) == 1 and said in bad[0].message, bad


@pytest.mark.parametrize("columns", [True, False])
def test_the_target_among_the_features_is_found_whether_or_not_columns_are_recorded(ws: Path, columns: bool) -> None:
    """The check returned before it when the dataset version records no columns (a compressed
    file, say): the spec passed and trained on its own label."""
    if not columns:
        edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d.pop("columns"))
    edit_yaml(ws / "experiments/flowers-logreg.yaml", lambda d: d["data"].update(features=["species"]))
    found = [f for f in engine.doctor(ws).findings if f.code == "TFC0003-E005"]
    assert len(found) == 1 and "is the target" in found[0].message, found


@pytest.mark.parametrize("constant", [float("nan"), float("inf")])
def test_nan_or_infinity_in_a_json_file_is_a_syntax_error(ws: Path, constant: float) -> None:
    """Python's json reads NaN and Infinity, which are not JSON: a gate receipt holding one passed,
    where another checker (and the JSON spec) refuses the file."""
    ledgers.edit_gate(ws, 1, lambda g: g["criteria"][0].update(value=constant))
    found = [f for f in engine.doctor(ws).findings if f.code == "TFC0001-E105"]
    assert [f.path for f in found] == [f"{MODEL}/gate.json"] and "is not a JSON value" in found[0].message, found


@pytest.mark.parametrize("inputs", [[], [{"ref": "dataset:flowers@1", "digest": "sha256:" + "0" * 64}]])
def test_a_version_s_inputs_are_what_its_run_read(ws: Path, inputs: list) -> None:
    """TFC-0004 §2: a version's inputs pin what its run read. A version that named another dataset
    (or none) passed, and lineage then showed it trained on what it was not."""
    edit_yaml(ws / MODEL / "model.yaml", lambda d: d.update(inputs=inputs))
    found = [f for f in engine.doctor(ws).findings if f.code == "TFC0004-E004"]
    assert len(found) == 1 and "are not what run:" in found[0].message and "dataset:sales@1" in found[0].message, found


def test_time_stamped_data_records_its_time_range(ws: Path) -> None:
    """TFC-0002 §2: time_range MUST be present for time-stamped data. A version with a time column
    and `time_range: null` passed, and the leakage rules had nothing to check windows against."""
    edit_yaml(ws / "datasets/sales/1/dataset.yaml", lambda d: d.update(time_range=None))
    found = [f for f in engine.doctor(ws).findings if f.code == "TFC0002-E003"]
    assert len(found) == 1 and "holds time (role: time)" in found[0].message, found


def test_two_versions_in_production_at_once_are_found_though_one_left_later(ws: Path) -> None:
    """TFC-0005: at most one version is in production. Only the end of the replay was judged, so a
    ledger that put a second version in production and archived the first a line later passed."""
    ledgers.add_version(ws, 2)
    ledgers.write_ledger(ws, [*[(ledgers.ref(1), s) for s in ("candidate", "staging", "production")],
                              *[(ledgers.ref(2), s) for s in ("candidate", "staging", "production")],
                              (ledgers.ref(1), "archived")])
    found = [f for f in engine.doctor(ws).findings if f.code == "TFC0005-E004"]
    assert len(found) == 1 and found[0].line == 6 and "at once" in found[0].message, found


def test_a_plugin_s_metrics_file_holding_nan_is_read_as_before(ws: Path) -> None:
    """Records are JSON; a plugin's metrics file is the plugin's: an older run's summary with a NaN
    its metrics had is read as it was, not an error on a run that cannot change."""
    metrics = ws / RUN / "metrics/metrics.json"
    data = json.loads(metrics.read_text())
    data["test_ece"] = float("nan")  # (a measure its run.yaml does not state: no disagreement)
    metrics.write_text(json.dumps(data))
    from strataml.hashing import sha256_file

    sha, size = sha256_file(metrics)
    edit_yaml(ws / RUN / "run.yaml", lambda d: [a.update(sha256=sha, size=size) for a in d["artifacts"]
                                                 if a["path"] == "metrics/metrics.json"])
    assert "NaN" in metrics.read_text()
    assert [(f.code, f.path) for f in engine.doctor(ws).findings] == []


def test_a_number_past_what_a_double_holds_is_a_syntax_error(ws: Path) -> None:
    """1e999 was read as infinity without a word."""
    gate = ws / MODEL / "gate.json"
    gate.write_text(gate.read_text().replace('"passed": true', '"passed": true, "x-big": 1e999', 1))
    found = [f for f in engine.doctor(ws).findings if f.code == "TFC0001-E105"]
    assert [f.path for f in found] == [f"{MODEL}/gate.json"] and "past what a double holds" in found[0].message


def test_a_metric_an_older_run_recorded_as_nan_is_not_recorded_in_a_receipt() -> None:
    from strataml.gates import evaluate

    receipt = evaluate(["test_accuracy >= 0.5"], {"test_accuracy": float("nan")})
    assert receipt["criteria"][0]["observed"] is None and receipt["status"] == "FAIL"
    assert json.dumps(receipt, allow_nan=False)


@pytest.mark.parametrize(
    ("made", "said"),
    [
        ("STRATAML.yaml", "STRATAML.yaml"),
        (".GitAttributes", ".GitAttributes"),
        ("Experiments/evil.yaml", "Experiments"),
        ("TFC/keys/keys.yaml", "TFC"),
        ("tfc/Keys/keys.yaml", "tfc/Keys"),
        ("tfc/keys/KEYS.yaml", "tfc/keys/KEYS.yaml"),
        # Windows' upcase makes the dotless i an I; HFS+ leaves U+200C-U+200F and U+FEFF out of a name.
        ("exper\u0131ments/evil.yaml", "exper\u0131ments"),
        (".g\u0131tattributes", ".g\u0131tattributes"),
        (".git\u200cattributes", ".git\u200cattributes"),
        ("tfc/\ufeffkeys/keys.yaml", "tfc/\ufeffkeys"),
    ],
)
def test_a_name_the_layout_fixes_spelled_in_another_case_is_an_error(ws: Path, made: str, said: str) -> None:
    """Checked on a case-sensitive system, `Models/` beside `models/` was never read, while every
    macOS or Windows checkout merges the two (a ledger, pinned keys, a spec no gate judged)."""
    (ws / made).parent.mkdir(parents=True, exist_ok=True)
    (ws / made).write_text("x: 1\n")
    found = [(f.code, f.path, f.message) for f in engine.doctor(ws).findings]
    assert [(code, path) for code, path, _ in found].count(("TFC0001-E011", said)) == 1, found
    if said.isascii() or "\u0131" in said:
        assert not any("prints as nothing" in m for c, _, m in found if c == "TFC0001-E011"), found
    else:  # (two names that read alike: the message says what sets them apart)
        assert any("prints as nothing" in m and "\\u" in m for c, _, m in found if c == "TFC0001-E011"), found


@pytest.mark.parametrize("recorded", ["nothex", "B" * 64, "ab" * 31])
def test_a_recorded_sha256_that_is_none_is_content_not_verified(ws: Path, recorded: str) -> None:
    """Found by a new user: `sha256: nothex` was "content changed" (against a value that is no
    hash, at the list item's line) and a digest mismatch too, three errors for one typo. The
    content's own error stays (a review: with the schema's finding lowered by a policy, changed
    content passed unverified)."""
    edit_yaml(ws / FLOWERS / "dataset.yaml", lambda d: d["files"][0].update(sha256=recorded))
    found = {(f.code, f.path): f.message for f in engine.doctor(ws).findings}
    assert set(found) == {("TFC0002-E001", f"{FLOWERS}/dataset.yaml"), ("TFC0006-E002", f"{FLOWERS}/flowers.csv")}, found
    assert found[("TFC0006-E002", f"{FLOWERS}/flowers.csv")].startswith("content not verified: "), found
    edit_yaml(ws / "strataml.yaml", lambda d: d.setdefault("doctor", {}).update(severity={"TFC0002-E001": "info"}))
    assert [f.code for f in engine.doctor(ws).findings if f.severity == "error"] == ["TFC0006-E002"]


def test_changed_content_names_the_line_of_the_recorded_sha256(ws: Path) -> None:
    csv = ws / FLOWERS / "flowers.csv"
    csv.write_bytes(csv.read_bytes().replace(b"1.4", b"1.5", 1))
    [finding] = [f for f in engine.doctor(ws).findings if f.code == "TFC0006-E002"]
    lines = (ws / FLOWERS / "dataset.yaml").read_text().splitlines()
    said = int(finding.message.split("(line ")[1].split(")")[0])
    assert lines[said - 1].strip().startswith("sha256:"), (said, lines)


@pytest.mark.parametrize(
    ("copied", "into", "said"),
    [
        (RUN, "models/a-run", "run records live in runs/ID/: move the folder there"),
        (FLOWERS, "models/flowers", "dataset records live in datasets/NAME/VERSION/: move the folder there"),
        (MODEL, "models/other", "move what models/other/ holds into a version folder, models/other/VERSION/"),
        (MODEL, "datasets/weights", "model records live in models/NAME/VERSION/: move the folder there"),
    ],
)
def test_a_record_folder_one_level_too_high_is_said_as_such(ws: Path, copied: str, into: str, said: str) -> None:
    """Found by a new user: a run folder copied into models/ was told to "move it into
    models/RUN-ID/VERSION/ and record it", a run record made into a model version."""
    import shutil

    shutil.copytree(ws / copied, ws / into)
    meta = next(p.name for p in (ws / into).iterdir() if p.name in ("run.yaml", "dataset.yaml", "model.yaml"))
    [finding] = [f for f in engine.doctor(ws).findings if f.path == f"{into}/{meta}"]
    assert finding.code == "TFC0001-E002" and f"({meta}) where {into}/VERSION/ folders belong" in finding.message
    assert finding.hint.startswith(said), finding.hint


@pytest.mark.parametrize(("created", "found"), [("2001-01-01T00:00:00Z", True), (None, False)])
def test_a_version_dated_before_its_run_ended_is_not_from_that_run(ws: Path, created: str | None, found: bool) -> None:
    """Found in a contract audit: created_at years before the producing run let a hand-written
    ledger date promotions before the model existed, past TFC0005-E008 (after "registration")."""
    ended = read_yaml(ws / RUN / "run.yaml")["ended_at"]
    from datetime import datetime, timedelta

    within = (datetime.fromisoformat(ended.replace("Z", "+00:00")) - timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    edit_yaml(ws / MODEL / "model.yaml", lambda d: d.update(created_at=created or within))  # (None: within the skew)
    said = [f.message for f in engine.doctor(ws).findings if f.code == "TFC0004-E004"]
    assert bool(said) == found and all("is before run:" in m and "ended" in m for m in said), said


def test_the_fixed_names_folded_are_found_by_a_since_run(ws: Path) -> None:
    import subprocess

    git = ["git", "-C", str(ws), "-c", "user.name=a", "-c", "user.email=a@b"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    (ws / "Models/sales-model").mkdir(parents=True)
    (ws / "Models/sales-model/lifecycle.jsonl").write_text("{}\n")
    (ws / ".g\u0131tattributes").write_text("* -filter\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "pr"], check=True)
    report = engine.doctor(ws, strict=True, options=engine.Options(since="HEAD~1"))
    # (.gıtattributes is also the attributes file a folding checkout reads, changed: TFC0006-W013)
    assert [(f.code, f.path) for f in report.findings] == [
        ("TFC0001-E011", ".g\u0131tattributes"), ("TFC0006-W013", ".g\u0131tattributes"), ("TFC0001-E011", "Models")
    ]
    assert report.exit_code == 2


def test_windows_on_a_dataset_whose_time_range_does_not_read_are_not_passed_unchecked(ws: Path) -> None:
    """A time range with a day that does not exist (an error of the dataset alone, which a
    baseline may hold) let every window past it: the bound that reads still holds them."""
    edit_yaml(ws / "datasets/sales/1/dataset.yaml", lambda d: d["time_range"].update(start="2024-02-30"))
    set_windows(ws, test=("2024-01-11", "2030-12-31"))
    found = {(f.code, f.path) for f in engine.doctor(ws).findings}
    assert ("TFC0008-E008", SALES_SPEC) in found and ("TFC0008-E007", SALES_SPEC) in found, found


def test_a_run_split_on_an_empty_column_is_an_invalid_window(ws: Path) -> None:
    """`column: ""` read as no column: the dataset's time range was never held to the split's column."""
    edit_yaml(ws / RUN / "run.yaml", lambda d: d["split"].update(column=""))
    found = [(f.code, f.path, f.message) for f in engine.doctor(ws).findings]
    # (said as it is, not "records no time_range" of a dataset that records one)
    assert found == [("TFC0008-E008", f"{RUN}/run.yaml", "split is by time on an empty column: no dataset records a time range on it")], found


def test_windows_under_a_ratio_split_are_not_judged_as_leakage(ws: Path) -> None:
    """A ratio split's windows were judged as a time split's (TFC0008-E006 of windows no run used);
    they mean nothing there (version 1's schema admits them)."""
    def ratio(d: dict) -> None:
        d["split"].update(kind="ratio", train=0.7, test=0.3)
        d["split"].pop("column")
        d["split"]["windows"]["val"] = {"start": "2024-01-05", "end": "2024-01-10"}

    edit_yaml(ws / SALES_SPEC, ratio)
    found = {(f.code, f.path) for f in engine.doctor(ws).findings}
    assert not any(code.startswith("TFC0008-E00") for code, _ in found), found


def test_a_ledger_alone_in_a_name_folder_is_held_to_names_and_collisions(ws: Path) -> None:
    """models/SALES-model/lifecycle.jsonl (empty) is the real ledger's file on macOS and Windows,
    and `models/bad name/lifecycle.jsonl` a name no ref can hold: neither was judged (no version
    stood beside them)."""
    ledgers.add_version(ws, 2)  # (two versions of the real name: neither collides with the other)
    for name in ("SALES-model", "bad name"):
        (ws / "models" / name).mkdir()
        (ws / "models" / name / "lifecycle.jsonl").write_text("")
    found = {(f.code, f.path) for f in engine.doctor(ws).findings}
    assert ("TFC0008-E004", "models/SALES-model/lifecycle.jsonl") in found, found
    assert ("TFC0001-E003", "models/bad name") in found, found
    assert not any(path.startswith("models/sales-model") for _code, path in found), found


def test_a_name_folded_onto_the_layout_changes_the_key_a_cached_verdict_is_reused_by(ws: Path) -> None:
    """`Models/` is outside the walk: after a clean run, adding it was "OK ... unchanged since last
    run" (the cached verdict reused, and the saved index kept), where a run without the cache failed."""
    from strataml.snapshot import context_key

    past = time.time() - 60

    def aged() -> None:  # (one time for every run: the key reads files' times)
        for path in [ws, *ws.rglob("*")]:
            os.utime(path, (past, past))

    aged()
    before = context_key(ws, "doctor")
    assert before is not None and context_key(ws, "doctor") == before
    (ws / "Models").mkdir()
    for path in (ws, ws / "Models"):  # (only what the mkdir touched: the others' times stay as keyed)
        os.utime(path, (past, past))
    assert context_key(ws, "doctor") not in (None, before)


def test_a_name_folded_onto_the_layout_does_not_stop_a_run_of_an_unrelated_spec(ws: Path) -> None:
    """The workspace's, as its strays are: `run` checks its spec and its input alone."""
    from strataml.runner import spec
    from strataml.workspace import load

    (ws / "Models").mkdir()
    workspace = load(ws)
    record = workspace.get(parse_ref("experiment:flowers-logreg"))
    assert record is not None
    assert spec._doctor_problems(workspace, record) == []


def test_windows_of_a_split_kind_no_schema_knows_are_still_judged(ws: Path) -> None:
    """Only a ratio split's windows are left to its schema error: a kind of a later minor version
    (or a typo) keeps the leakage rules as a second line."""
    edit_yaml(ws / SALES_SPEC, lambda d: (d["split"].update(kind="rolling"), d["split"]["windows"]["test"].update(end="2030-12-31")))
    found = {(f.code, f.path) for f in engine.doctor(ws).findings}
    assert ("TFC0008-E007", SALES_SPEC) in found, found


def test_an_empty_split_column_is_one_finding(ws: Path) -> None:
    """A spec's schema refuses it (TFC0003-E002): no E008 beside; a run's invalid windows alone,
    not "records no time_range" of a dataset that records one."""
    edit_yaml(ws / SALES_SPEC, lambda d: d["split"].update(column=""))
    assert [(f.code, f.path) for f in engine.doctor(ws).findings] == [("TFC0003-E002", SALES_SPEC)]


def test_a_ledger_alias_is_said_to_be_the_model_it_folds_onto(ws: Path) -> None:
    for name in ("SALES-model", "Sales-Model"):
        (ws / "models" / name).mkdir()
        (ws / "models" / name / "lifecycle.jsonl").write_text("")
    said = sorted(f.message for f in engine.doctor(ws).findings if f.code == "TFC0008-E004")
    assert said == [
        f"models/{name}/ holds only a ledger, and is models/sales-model/ under case-folding or Unicode normalisation"
        for name in ("SALES-model", "Sales-Model")
    ], said
