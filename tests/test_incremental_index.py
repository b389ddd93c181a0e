"""The index a reader rebuilds from the previous one (unchanged records keep their nodes) is
byte-identical to one built from nothing, after every step of random edit sequences."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import gpgkeys
import models_helpers
from conftest import edit_yaml, read_yaml
from strataml import cache, identity, snapshot
from strataml.doctor import incremental
from strataml.read import build, lend, saved
from strataml.read.build import dumps
from strataml.read.query import Graph, tables

Op = Callable[[Path, random.Random], None]
RUN_META = "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml"


def _folders(ws: Path, pattern: str) -> list[Path]:
    return sorted(p for p in ws.glob(pattern) if p.is_dir())


def edit_run(ws: Path, rng: random.Random) -> None:
    for meta in rng.sample(sorted(ws.glob("runs/*/run.yaml")), k=1) if list(ws.glob("runs/*/run.yaml")) else []:
        edit_yaml(meta, lambda d: d.update(status=rng.choice(["succeeded", "failed", "running"])))


def add_run(ws: Path, rng: random.Random) -> None:
    runs = _folders(ws, "runs/*")
    if runs:
        source = rng.choice(runs)
        target = ws / "runs" / f"20260{rng.randint(2, 9)}01T000000Z-copy-{rng.randrange(16**6):06x}"
        if not target.exists():
            shutil.copytree(source, target)


def remove_record(ws: Path, rng: random.Random) -> None:
    folders = _folders(ws, "runs/*") + _folders(ws, "datasets/*/*") + _folders(ws, "models/*/*")
    if len(folders) > 2:
        shutil.rmtree(rng.choice(folders))


def change_data(ws: Path, rng: random.Random) -> None:
    files = sorted(p for p in ws.glob("*/*/*/*") if p.is_file() and not p.name.endswith((".yaml", ".asc")))
    if files:
        with rng.choice(files).open("ab") as out:
            out.write(b"x")


def unrecorded_file(ws: Path, rng: random.Random) -> None:
    folders = _folders(ws, "runs/*") + _folders(ws, "models/*/*")
    if folders:
        (rng.choice(folders) / f"extra-{rng.randrange(1000)}.txt").write_text("stray\n")


def touch(ws: Path, rng: random.Random) -> None:
    files = sorted(p for p in ws.rglob("*") if p.is_file() and ".strataml" not in p.parts)
    path = rng.choice(files)
    path.write_bytes(path.read_bytes())  # same bytes, new mtime and ctime


def new_model_version(ws: Path, rng: random.Random) -> None:
    versions = [int(p.name) for p in _folders(ws, "models/sales-model/*") if p.name.isdigit()]
    if versions and (ws / "models/sales-model/1").is_dir():
        try:
            models_helpers.add_version(ws, max(versions) + 1)
        except (ValueError, OSError, KeyError, TypeError):
            pass  # version 1 damaged by an earlier step: the copy stands as it is


def promote(ws: Path, rng: random.Random) -> None:
    if (ws / "models/sales-model/1").is_dir():
        models_helpers.reach(ws, rng.choice(["candidate", "staging", "production"]))


def config(ws: Path, rng: random.Random) -> None:
    data = read_yaml(ws / "strataml.yaml")
    rules = data.setdefault("rules", {})
    rules["TFC0004-W001"] = rng.choice(["error", "warning", "off"])
    (ws / "strataml.yaml").write_text(json.dumps(data))  # JSON is YAML


def rename_dataset_ref(ws: Path, rng: random.Random) -> None:
    runs = sorted(ws.glob("runs/*/run.yaml"))
    if runs:
        target = rng.choice(runs)

        def rename(d: dict) -> None:
            for item in d.get("inputs") or []:
                if isinstance(item, dict) and isinstance(item.get("ref"), str):
                    item["ref"] = rng.choice(["dataset:sales@1", "dataset:flowers@1", "dataset:nowhere@1"])

        edit_yaml(target, rename)


def collide(ws: Path, rng: random.Random) -> None:
    """A record whose name folds to an existing one's (another case)."""
    folders = _folders(ws, "datasets/*") + _folders(ws, "runs/*")
    if folders:
        source = rng.choice(folders)
        target = source.parent / source.name.swapcase()
        if not target.exists() and target.name != source.name:
            shutil.copytree(source, target)


def derive(ws: Path, rng: random.Random) -> None:
    """A model version or dataset naming another of its kind (loops included)."""
    models = sorted(ws.glob("models/*/*/model.yaml"))
    datasets = sorted(ws.glob("datasets/*/*/dataset.yaml"))
    if models and rng.random() < 0.5:
        meta = rng.choice(models)
        other = rng.choice(models)
        ref = f"model:{other.parent.parent.name}@{other.parent.name}"
        edit_yaml(meta, lambda d: d.update(derived_from=ref))
    elif datasets:
        meta = rng.choice(datasets)
        other = rng.choice(datasets)
        ref = f"dataset:{other.parent.parent.name}@{other.parent.name}"
        edit_yaml(meta, lambda d: d.update(source={"kind": "derived", "from": [ref]}))


def dataset_fields(ws: Path, rng: random.Random) -> None:
    """What records naming a dataset check against it: its digest, time range, columns and files."""
    datasets = sorted(ws.glob("datasets/*/*/dataset.yaml"))
    if datasets:
        meta = rng.choice(datasets)

        def change(d: dict) -> None:
            choice = rng.random()
            if choice < 0.3:
                d["digest"] = "sha256:" + f"{rng.randrange(16**8):08x}" * 8
            elif choice < 0.6:
                d["time_range"] = {"column": "date", "start": "2024-01-0" + str(rng.randint(1, 9)), "end": "2024-01-12"}
            elif choice < 0.8 and d.get("columns"):
                rng.choice(d["columns"])["name"] = rng.choice(["units", "Units", "species", "store"])
            elif d.get("files"):
                d["files"][0]["path"] = rng.choice(["sales.csv", "flowers.csv", "other.csv"])

        edit_yaml(meta, change)


def spec(ws: Path, rng: random.Random) -> None:
    """An experiment spec edited, removed or added (runs name experiments)."""
    specs = sorted(ws.glob("experiments/*.yaml"))
    choice = rng.random()
    if specs and choice < 0.25:
        edit_yaml(rng.choice(specs), lambda d: d.update(description=f"edit {rng.randrange(100)}"))
    elif specs and choice < 0.4:  # what TFC0003-E005 checks against the dataset version
        edit_yaml(rng.choice(specs), lambda d: d["data"].update(
            target=rng.choice(["units", "Units", "species"]), file=rng.choice(["sales.csv", "flowers.csv"])))
    elif specs and choice < 0.7:
        rng.choice(specs).unlink()
    elif specs:
        target = ws / "experiments" / f"sales-forecas{rng.choice('xz')}.yaml"
        source = rng.choice(specs)
        if source != target:
            shutil.copy(source, target)


def near_dangling(ws: Path, rng: random.Random) -> None:
    """A dataset whose name is close to a dangling reference (the hint's "did you mean")."""
    source = ws / "datasets/sales/1"
    if source.is_dir():
        target = ws / "datasets" / rng.choice(["nowher", "nowhere", "sale", "salez"]) / "1"
        if not target.exists():
            shutil.copytree(source, target)


OPS: list[Op] = [
    collide,
    derive,
    derive,
    new_model_version,
    dataset_fields,
    spec,
    near_dangling,
    edit_run,
    add_run,
    remove_record,
    change_data,
    unrecorded_file,
    touch,
    new_model_version,
    promote,
    config,
    rename_dataset_ref,
]


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prove freshness right after each edit (the racy window has its own tests): a short sleep
    keeps two edits apart in the file system's clock."""
    monkeypatch.setattr(cache, "RACY_NS", 0)
    monkeypatch.setattr(snapshot, "RACY_NS", 0)
    monkeypatch.setattr(identity, "RACY_NS", 0)


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many nodes each incremental build kept (a differential test that never reuses proves nothing)."""
    counts: list[int] = []
    real = build.Previous.reusable

    def counting(self: build.Previous, workspace):  # type: ignore[no-untyped-def]
        found = real(self, workspace)
        if not self.lent:  # (a forked copy's nodes are not an earlier index's)
            counts.append(len(found))
        return found

    monkeypatch.setattr(build.Previous, "reusable", counting)
    return counts


@pytest.fixture
def merged(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each doctor run took the incremental path (True) or fell back to a full run."""
    runs: list[bool] = []
    real = incremental.recheck

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        report = real(*args, **kwargs)
        runs.append(report is not None)
        return report

    monkeypatch.setattr(incremental, "recheck", counting)
    return runs


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many nodes each build wrote back as their saved lines, unparsed (build.Saved): the
    path a reader takes after a change, whose rows come from the saved ones."""
    counts: list[int] = []
    real = build.build

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        index = real(*args, **kwargs)
        previous = args[3] if len(args) > 3 else kwargs.get("previous")
        if previous is None or not previous.lent:  # (a forked copy's lines are not an earlier index's)
            counts.append(sum(type(n) is build.Saved for n in index["nodes"]))
        return index

    monkeypatch.setattr(build, "build", counting)
    return counts


def check_step(ws: Path) -> None:
    time.sleep(0.02)
    incremental, _ = saved.current(ws)
    scratch, _, _ = saved.made(ws, use_cache=False, lend=False)
    assert dumps(incremental) == dumps(scratch)
    expected = json.loads(json.dumps(tables(Graph(scratch))))
    rows = saved.saved_rows(ws)
    if rows is not None:
        assert {k: v for k, v in rows.items() if k not in ("key", "counts")} == expected
    if lend.Lend.possible():  # the nodes made by a forked copy (read.lend), their rows too
        with pytest.MonkeyPatch.context() as m:
            m.setattr(lend, "LENT", 0)
            lent, _, used = saved.made(ws, use_cache=False)
        assert used is not None and used.lent
        assert dumps(lent, used) == dumps(scratch)
        assert json.loads(json.dumps(build.tables_of(lent, used))) == expected


@pytest.mark.parametrize("walk", ["rewalk", "walk"])
@pytest.mark.parametrize("seed", range(int(os.environ.get("STRATAML_DIFF_SEEDS", "6"))))
def test_incremental_index_equals_a_full_build_after_every_edit(
    ws: Path, seed: int, walk: str, no_racy_window: None, kept: list[int], merged: list[bool], lines: list[int],
    monkeypatch,
) -> None:
    """`rewalk`: the changed paths come from the walk; `walk`: from every entry's facts."""
    if walk == "walk":
        real = saved.freshness
        monkeypatch.setattr(saved, "freshness", lambda root, looked=None, ahead=False: real(root))
    rng = random.Random(seed)
    saved.current(ws)
    for _step in range(20):
        rng.choice(OPS)(ws, rng)
        check_step(ws)
    assert sum(kept) > 0, "no step kept a node: the incremental path was never taken"
    assert any(merged), "no doctor run was incremental"
    assert sum(lines) > 0, "no build kept a node as its saved line"


def test_signing_and_key_changes_are_taken_anew(ws: Path, tmp_path: Path, no_racy_window: None, kept: list[int]) -> None:
    if not gpgkeys.available():
        pytest.skip("gpg is not installed")
    from strataml.keys import add

    (tmp_path / "gpg").mkdir()
    alice = gpgkeys.make_key(tmp_path / "gpg", "Alice")
    try:
        saved.current(ws)
        add(ws, alice.public, ["models", "datasets"])
        check_step(ws)
        gpgkeys.sign_file(alice, ws / "models/sales-model/1/model.yaml", ws / "models/sales-model/1/model.yaml.asc")
        check_step(ws)
        gpgkeys.sign_file(alice, ws / "datasets/sales/1/dataset.yaml", ws / "datasets/sales/1/dataset.yaml.asc")
        check_step(ws)
        edit_yaml(ws / "strataml.yaml", lambda d: d.update(signing={"require": [{"records": "models", "scope": "models"}]}))
        check_step(ws)
        (ws / "datasets/sales/1/dataset.yaml.asc").unlink()
        check_step(ws)
        assert sum(kept) > 0
    finally:
        gpgkeys.stop_agents([alice.home])


def test_a_loop_is_reported_where_a_full_run_closes_it(ws: Path, no_racy_window: None, merged: list[bool]) -> None:
    """Model 3 changes; 1 <- 2 <- 3 <- 1 is reported on the record where the search in ref order
    closes it (1), which a run over 3 and its referrer 2 alone would place elsewhere."""
    for version in (2, 3):
        models_helpers.add_version(ws, version)
    for version, parent in {1: 2, 2: 3, 3: 1}.items():
        edit_yaml(
            ws / f"models/sales-model/{version}/model.yaml",
            lambda d, p=parent: d.update(derived_from=models_helpers.ref(p)),
        )
    check_step(ws)
    touch_path = ws / "models/sales-model/3/model.yaml"
    touch_path.write_bytes(touch_path.read_bytes())
    check_step(ws)
    assert merged[-1], "the second build was incremental"


def test_a_ledger_naming_a_removed_version_is_judged_again(ws: Path, no_racy_window: None, merged: list[bool]) -> None:
    """The ledger is about every version of its model: when one it names goes, its finding goes to
    the versions that stay, none of which changed."""
    models_helpers.add_version(ws, 2)
    models_helpers.reach(ws, "candidate")
    check_step(ws)
    shutil.rmtree(ws / "models/sales-model/1")
    check_step(ws)
    assert merged[-1], "the second build was incremental"


def test_a_loop_member_brought_in_as_a_referrer_brings_its_group(ws: Path, no_racy_window: None, merged: list[bool]) -> None:
    """Version 2 names the run that changes, version 1 does not; they derive from each other:
    the search must start from both, as a full run does (from 1, first in ref order), or the
    loop is reported a second time, on 2."""
    models_helpers.add_version(ws, 2)
    for version, parent in {1: 2, 2: 1}.items():
        edit_yaml(
            ws / f"models/sales-model/{version}/model.yaml",
            lambda d, p=parent: d.update(derived_from=models_helpers.ref(p)),
        )
    edit_yaml(ws / "models/sales-model/1/model.yaml", lambda d: d.update(produced_by="run:20250101T000000Z-gone-000000"))
    check_step(ws)
    edit_yaml(ws / RUN_META, lambda d: d.update(status="failed"))
    check_step(ws)
    assert merged[-1]


def test_a_ledger_signature_without_its_ledger_means_a_full_run(ws: Path, no_racy_window: None, merged: list[bool]) -> None:
    check_step(ws)
    (ws / "models/sales-model/lifecycle.jsonl.asc").write_text("junk\n")
    check_step(ws)
    assert not merged[-1]


def test_a_replaced_index_is_never_a_previous_one(ws: Path, no_racy_window: None, kept: list[int]) -> None:
    """An index.json that is not the one index.walk was saved with (a branch that commits one,
    a hand edit) lends no node and no finding."""
    check_step(ws)
    index_file = ws / ".strataml/index.json"
    data = json.loads(index_file.read_text())
    for node in data["nodes"]:
        node["attrs"]["description"] = "forged"
    data["findings"] = []
    index_file.write_text(json.dumps(data))
    edit_yaml(ws / RUN_META, lambda d: d.update(status="failed"))
    check_step(ws)
    assert kept[-1:] in ([], [0])


def test_a_gitattributes_in_the_tree_means_a_full_run(ws: Path, no_racy_window: None, merged: list[bool]) -> None:
    """git routes files by every .gitattributes on their way (LFS): records that did not change get other findings."""
    edit_yaml(ws / "strataml.yaml", lambda d: d.update(lfs={"threshold_bytes": 10}))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=ws, check=True)
    (ws / ".gitignore").write_text(".strataml/\n")
    subprocess.run([*git, "add", "-A"], cwd=ws, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=ws, check=True)
    check_step(ws)
    (ws / "datasets/sales/.gitattributes").write_text("*.csv filter=lfs diff=lfs merge=lfs -text\n")
    check_step(ws)
    assert True not in merged


def test_without_the_saved_rows_the_previous_index_is_parsed(ws: Path, no_racy_window: None, lines: list[int]) -> None:
    """The nodes are kept as lines only beside the rows saved with them; a missing or damaged
    rows file means the saved index is parsed, and the rebuild is the same."""
    check_step(ws)
    (ws / ".strataml/index.rows").write_text('{"datasets": []}')
    edit_yaml(ws / RUN_META, lambda d: d.update(status="failed"))
    check_step(ws)
    assert lines[-2] == 0, "kept as lines without the rows they came with"
    edit_yaml(ws / RUN_META, lambda d: d.update(status="succeeded"))
    check_step(ws)
    assert lines[-2] > 0, "the rows written by the last rebuild lend their lines again"


def test_rows_are_written_one_a_line_and_read_back_whatever_they_hold() -> None:
    rows = {
        "key": "k",
        "counts": {"nodes": 3, "edges": 0},
        "datasets": [],
        "experiments": [{"id": "experiment:e", "gates": [], "tags": {"t": "},{"}}],
        "runs": [{"id": "run:a", "tags": {"x": "é\n"}, "metrics": {"m": 1.5}}, {"id": "run:b", "tags": {}}],
        "models": [],
        "gates": {"e": []},
    }
    text = saved.rows_text(rows)
    assert json.loads(text) == rows
    assert text.count("\n") == 2 + 3  # each list with rows: opened, one line a row, closed
    assert saved._row_lines(text, rows) == {
        "experiment:e": '{"gates":[],"id":"experiment:e","tags":{"t":"},{"}}',
        "run:a": '{"id":"run:a","metrics":{"m":1.5},"tags":{"x":"\\u00e9\\n"}}',
        "run:b": '{"id":"run:b","tags":{}}',
    }
    one_line = json.dumps(rows, sort_keys=True, separators=(",", ":"))  # as versions before wrote it
    assert saved._row_lines(one_line, rows) == {}


def _reseal(ws: Path, text: str) -> None:
    """index.json replaced by `text`, and index.walk and index.key made to vouch for it (what a
    hand on this machine, or a committed .strataml/, could do): nothing but the sha256 ties them."""
    import hashlib

    from strataml.read import proof

    (ws / saved.INDEX).write_text(text)
    body = proof.decode_listing((ws / saved.WALK).read_bytes())
    assert body is not None
    body.pop("blob")
    body["index_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    (ws / saved.WALK).write_bytes(proof.encode_listing(body))
    (ws / saved.KEY).write_text(f"{body['key']} sha256={body['index_sha256']}\n")


def test_a_saved_finding_of_no_known_severity_lends_nothing(ws: Path, no_racy_window: None, lines: list[int]) -> None:
    check_step(ws)
    text = (ws / saved.INDEX).read_text()
    bogus = '{"code":"X","hint":"h","line":null,"message":"m","path":"datasets/sales/1","severity":"fatal"}'
    assert '"findings": []' in text
    _reseal(ws, text.replace('"findings": []', f'"findings": [\n    {bogus}\n  ]'))
    edit_yaml(ws / RUN_META, lambda d: d.update(status="failed"))
    check_step(ws)  # no KeyError: the saved index is parsed, and the rebuild is a full one's
    assert lines[-2] == 0


def test_a_saved_node_line_that_is_not_a_node_means_a_build_from_nothing(ws: Path, no_racy_window: None) -> None:
    check_step(ws)
    text = (ws / saved.INDEX).read_text()
    rows = text.split("\n")
    at = next(i for i, line in enumerate(rows) if '"id":"dataset:flowers@1"' in line)
    rows[at] = '    {"id":"dataset:flowers@1", "forged": tru},'
    _reseal(ws, "\n".join(rows))
    edit_yaml(ws / RUN_META, lambda d: d.update(status="failed"))
    check_step(ws)  # flowers is kept, its line does not say what it counted: read, refused, built anew
    assert "forged" not in (ws / saved.INDEX).read_text()


def test_a_kept_line_a_row_needs_that_is_not_a_node_means_a_build_from_nothing(ws: Path, no_racy_window: None) -> None:
    """An experiment's row is made anew from its node (its runs): a kept line that says what it
    counted but is no node is refused there, after the build, and all of it is built anew."""
    check_step(ws)
    text = (ws / saved.INDEX).read_text()
    rows = text.split("\n")
    at = next(i for i, line in enumerate(rows) if line.startswith('    {"attrs"') and '"kind":"experiment"' in line)
    ref = json.loads(rows[at].strip().removesuffix(","))["id"]
    rows[at] = f'    {{"findings":{{"errors":0,"infos":0,"warnings":0}},"id":"{ref}", no}},'
    _reseal(ws, "\n".join(rows))
    edit_yaml(ws / RUN_META, lambda d: d.update(status="failed"))
    check_step(ws)
    assert ", no}" not in (ws / saved.INDEX).read_text()


def test_two_records_with_one_ref_keep_no_node(ws: Path, no_racy_window: None) -> None:
    """datasets/a@b/1 and datasets/a/b@1 are both dataset:a@b@1 (a collision finding): which one
    changed cannot be told by ref, so the rebuild and the doctor's recheck start from nothing."""
    shutil.copytree(ws / "datasets/sales/1", ws / "datasets/a@b/1")
    check_step(ws)
    shutil.copytree(ws / "datasets/sales/1", ws / "datasets/a/b@1")
    edit_yaml(ws / "datasets/a/b@1/dataset.yaml", lambda d: d.update(description="second"))
    check_step(ws)
    shutil.rmtree(ws / "datasets/a@b")
    check_step(ws)


def test_a_file_name_that_is_not_utf8_is_escaped_in_the_index_and_never_cached(
    ws: Path, no_racy_window: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Such a name reaches Python as surrogate escapes, which neither UTF-8 nor SQLite holds: the
    index writes the JSON escape (\\udcff), the cache skips the name, readers work."""
    from conftest import invoke

    source = ws / "runs/20260101T000000Z-sales-forecast-a1b2c3"
    target = os.fsencode(str(ws / "runs")) + b"/20260101T000000Z-x\xff"
    try:
        shutil.copytree(source, os.fsdecode(target))
    except (OSError, UnicodeError):
        pytest.skip("this file system does not take a name that is not UTF-8")
    for _ in range(2):
        code, out, err = invoke(ws, "list", "runs", capsys=capsys)
        assert code == 0 and "20260101T000000Z-x\\xff" in out, err
        check_step(ws)
    raw = (ws / saved.INDEX).read_bytes()
    assert b"\\udcff" in raw and raw.decode("utf-8")
    assert any(n["id"].endswith("x\udcff") for n in json.loads(raw)["nodes"])


@pytest.mark.parametrize("threaded", [True, False])
def test_the_saved_files_read_ahead_are_read_by_the_same_rules(tmp_path: Path, threaded: bool) -> None:
    """What reading ahead met (a symlink where the index was) is raised where the index is asked for."""
    import hashlib

    from strataml import atomic

    (tmp_path / ".strataml").mkdir()
    (tmp_path / ".strataml/index.rows").write_text("rows")
    (tmp_path / "elsewhere.json").write_text("{}")
    (tmp_path / ".strataml/index.json").symlink_to(tmp_path / "elsewhere.json")
    ahead = saved.Ahead(tmp_path, threaded=threaded)
    with pytest.raises(atomic.Refused):
        ahead.get(saved.INDEX)
    expected = (b"rows", hashlib.sha256(b"rows").hexdigest())
    assert ahead.get(saved.ROWS) == expected
    assert ahead.get(saved.ROWS) == expected  # asked again: read again
