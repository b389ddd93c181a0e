"""What a `--since` run looks at: a pull request cannot slip a change past the gate by where it puts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_gate_policy import codes_since
from test_git_rules import commit_all, git, repo  # noqa: F401 (fixtures)

pytestmark = pytest.mark.timeout(120)

RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3"


# --- 1. a committed record folder is closed: adding to it is a change --------------------------


@pytest.mark.parametrize(
    "folder,code",
    [
        ("datasets/flowers/1", "TFC0002-E010"),
        ("models/sales-model/1", "TFC0004-E010"),
        (RUN, "TFC0003-E010"),
    ],
)
def test_a_file_added_to_a_committed_record_is_a_change(repo: Path, folder: str, code: str) -> None:
    base = git(repo, "rev-parse", "HEAD")
    (repo / folder / "extra.csv").write_text("smuggled in later\n")
    commit_all(repo, "add a file to a closed record")
    assert (code, folder) in codes_since(repo, base)


@pytest.mark.parametrize("hidden", [False, True], ids=["gitlink", "gitlink-with-ignore-all"])
def test_a_submodule_added_to_a_committed_version_is_a_change(repo: Path, tmp_path: Path, hidden: bool) -> None:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{base},datasets/flowers/1/extra")
    if hidden:  # what would keep `git diff` quiet about the submodule
        (repo / ".gitmodules").write_text('[submodule "x"]\n\tpath = datasets/flowers/1/extra\n\turl = ./x\n\tignore = all\n')
        git(repo, "add", ".gitmodules")
    git(repo, "commit", "-qm", "a gitlink inside a committed version")
    clone = tmp_path / "clone"  # as CI checks it out: the submodule an empty folder
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert ("TFC0002-E010", "datasets/flowers/1") in codes_since(clone, base)
    # In the tree that committed it (a pre-commit hook, a local run) the folder is not there:
    # the work tree does not differ from the index, and the change is still the change.
    assert not (repo / "datasets/flowers/1/extra").exists()
    assert ("TFC0002-E010", "datasets/flowers/1") in codes_since(repo, base)


def _gitlink(repo: Path, path: str) -> str:
    """Commit a submodule entry (a gitlink) at `path`, as `git submodule add` leaves it in the
    index; its folder is not made here (a checkout without the submodule); returns the base."""
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{base},{path}")
    git(repo, "commit", "-qm", f"a submodule at {path}")
    return base


def _full(root: Path, **options: object) -> list[tuple[str, str]]:
    from strataml.doctor import engine

    report = engine.doctor(root, options=engine.Options(**options))  # type: ignore[arg-type]
    return [(f.code, f.path) for f in report.findings]


@pytest.mark.parametrize(
    "where", ["datasets/flowers/1/extra", f"{RUN}/models/sub", "datasets/sub", "experiments/sub", "datasets/a\\b"]
)
@pytest.mark.parametrize("checkout", ["index-only", "clone"])
@pytest.mark.parametrize("listing", ["paths", "whole"])
def test_a_submodule_in_a_managed_folder_is_an_error_checked_out_or_not(
    repo: Path, tmp_path: Path, where: str, checkout: str, listing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TFC0001-E009 from git's index: a clone without --recurse-submodules has an empty folder
    (or, in the tree that committed it, none), and the walk sees no `.git` in it. `whole`: git
    lists the whole folder for a --since run too, as for one with many paths."""
    if listing == "whole":
        from strataml.doctor import engine

        monkeypatch.setattr(engine, "WHOLE_LISTING", 0)
    base = _gitlink(repo, where)
    root = repo
    if checkout == "clone":
        root = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(repo), str(root))
        assert (root / where).is_dir() and not any((root / where).iterdir())
    assert ("TFC0001-E009", where) in _full(root)
    if checkout == "clone":  # a pull request that adds one, as CI checks it out
        # (Without its folder, git's diff against the working tree does not name the submodule:
        # to git it is not there, `git status` says deleted. Only a full run looks at the index.)
        assert ("TFC0001-E009", where) in codes_since(root, base)
    assert not any(code == "TFC0001-E009" for code, _ in _full(root, use_git=False))  # --no-git: git not asked


def test_a_submodule_outside_the_managed_folders_is_not_the_doctors(repo: Path) -> None:
    _gitlink(repo, "vendor/lib")
    assert not any(code == "TFC0001-E009" for code, _ in _full(repo))


def test_a_checked_out_submodule_is_one_finding(repo: Path, tmp_path: Path) -> None:
    """Checked out, the walk finds its `.git` file (the layout rule's finding): git's entry for it
    adds no second one."""
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    (other / "weights.bin").write_bytes(b"not carried by the outer repository")
    commit_all(other, "weights")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(other), "datasets/sub")
    git(repo, "commit", "-qm", "a submodule")
    assert (repo / "datasets/sub/.git").is_file()
    assert [f for f in _full(repo) if f[0] == "TFC0001-E009"] == [("TFC0001-E009", "datasets/sub/.git")]


@pytest.mark.parametrize("folder", ["empty", "gone", "holding files"])
def test_shards_and_a_readers_recheck_find_the_submodules_a_full_run_finds(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    """A submodule in no record's folder is the shard's that keeps such findings, and a recheck's
    new run's (doctor.incremental), whatever its folder holds: found as a full run finds it."""
    from collections import Counter

    from test_incremental_index import check_step
    from strataml import cache, identity, snapshot
    from strataml.doctor import engine, incremental
    from strataml.read import saved

    for name in ("datasets/sub", "datasets/flowers/1/extra", f"{RUN}/models/sub"):
        _gitlink(repo, name)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    if folder == "gone":
        (clone / "datasets/sub").rmdir()
    elif folder == "holding files":  # (the fix half done: its files copied in, the link not yet removed)
        (clone / "datasets/sub/weights.bin").write_bytes(b"copied in")
    full = Counter(_full(clone))
    assert {path for code, path in full if code == "TFC0001-E009"} == {
        "datasets/sub", "datasets/flowers/1/extra", f"{RUN}/models/sub"
    }
    for total in (2, 3):
        union: Counter = Counter()
        for k in range(1, total + 1):
            union += Counter(_full(clone, shard=(k, total)))
        assert union == full, total

    for module in (cache, snapshot, identity):  # (freshness proved right after the edit)
        monkeypatch.setattr(module, "RACY_NS", 0)
    merged: list[bool] = []
    real = incremental.recheck
    monkeypatch.setattr(incremental, "recheck", lambda *a, **k: merged.append((r := real(*a, **k)) is not None) or r)
    saved.current(clone)
    (clone / RUN / "notes.txt").write_text("a file the run does not record\n")
    check_step(clone)  # the reader's index, rebuilt from the last one, is a full build's
    assert merged == [True], merged
    index, _ = saved.current(clone)
    assert {f["path"] for f in index["findings"] if f["code"] == "TFC0001-E009"} >= {"datasets/sub"}


def test_a_new_record_and_a_running_run_may_still_grow(repo: Path, tmp_path: Path) -> None:
    from conftest import edit_yaml

    run_yaml = repo / RUN / "run.yaml"
    edit_yaml(run_yaml, lambda d: (d.update(status="running"), d.pop("ended_at")))
    base = commit_all(repo, "a run still going")
    (repo / RUN / "log.txt").write_text("more output\n")
    (repo / "datasets/flowers/2").mkdir()
    (repo / "datasets/flowers/2/flowers.csv").write_text("a\n1\n")  # a new version, however broken
    commit_all(repo, "growth")
    found = codes_since(repo, base)
    assert not any(code.endswith("-E010") for code, _ in found), found


# --- 2. what is gone is looked for everywhere --------------------------------------------------


def _rename_spec(repo: Path) -> None:
    from conftest import edit_yaml

    spec = repo / "experiments/sales-forecast.yaml"
    spec.rename(repo / "experiments/sales-forecast-v2.yaml")
    edit_yaml(repo / "experiments/sales-forecast-v2.yaml", lambda d: d.update(name="sales-forecast-v2"))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: (r / "experiments/sales-forecast.yaml").unlink(), id="spec-deleted"),
        pytest.param(_rename_spec, id="spec-renamed"),
        pytest.param(lambda r: (r / "experiments/sales-forecast.yaml").unlink() or
                     (r / "experiments/sales-forecast.yaml").mkdir() or
                     (r / "experiments/sales-forecast.yaml/.gitkeep").write_text(""), id="spec-now-a-folder"),
    ],
)
def test_removing_what_other_records_reference_is_caught_by_since(repo: Path, change) -> None:
    base = git(repo, "rev-parse", "HEAD")
    change(repo)
    commit_all(repo, "the spec the run was made from, gone")
    assert ("TFC0008-E001", f"{RUN}/run.yaml") in codes_since(repo, base)


def test_a_record_folder_moved_behind_a_symlink_is_gone_and_widens_the_check(repo: Path) -> None:
    """`models -> alt/models`: the files still open through the link, but the walk reads no
    record behind one, so the versions are gone and every record is checked (as for a deletion)."""
    import shutil

    from strataml.doctor import engine

    base = git(repo, "rev-parse", "HEAD")
    (repo / "alt").mkdir()
    shutil.move(str(repo / "models"), str(repo / "alt/models"))
    (repo / "models").symlink_to("alt/models")
    commit_all(repo, "models behind a symlink")
    report = engine.doctor(repo, options=engine.Options(since=base))
    assert report.stats["records_checked"] == len(report.workspace.records) > 0
    assert "TFC0004-E010" in {f.code for f in report.findings}  # the registered version is gone


def test_a_record_folder_left_without_its_metadata_is_looked_for_everywhere(repo: Path) -> None:
    from conftest import edit_yaml

    # A run still running at base may change; once its record is gone, the model citing it dangles.
    edit_yaml(repo / RUN / "run.yaml", lambda d: (d.update(status="running"), d.pop("ended_at")))
    base = commit_all(repo, "a run still going")
    (repo / RUN / "run.yaml").unlink()
    commit_all(repo, "its record, gone")
    from strataml.doctor import engine

    report = engine.doctor(repo, options=engine.Options(since=base))
    assert any(f.code == "TFC0008-E001" and f.path.startswith("models/") for f in report.findings), report.findings
    assert report.stats["records_checked"] == report.stats["records"]


# --- 3. a pull request is judged against where it left its base --------------------------------


def test_since_a_base_that_moved_on_judges_against_the_merge_base(repo: Path, tmp_path: Path) -> None:
    import models_helpers
    from strataml.cli.main import run

    git(repo, "branch", "-M", "main")
    models_helpers.reach(repo, "candidate")
    commit_all(repo, "a ledger on main")
    git(repo, "checkout", "-q", "-b", "pr")
    (repo / "notes.md").write_text("a pull request that touches no record\n")
    commit_all(repo, "docs")
    git(repo, "checkout", "-q", "main")
    src = tmp_path / "more.csv"
    src.write_text("a,b\n1,2\n")
    assert run(["-C", str(repo), "dataset", "add", "flowers", str(src), "--version", "2",
                "--license", "MIT", "--source", "t"]) == 0
    models_helpers.reach(repo, "staging")  # main moves on: a new version, a ledger entry
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "pr")
    assert codes_since(repo, "main") == []
    # A change the pull request makes is still judged, against the merge base.
    (repo / "models/sales-model/lifecycle.jsonl").write_text("")
    assert codes_since(repo, "main") == [("TFC0005-E006", "models/sales-model/lifecycle.jsonl")]


def test_since_policy_is_the_bases_as_it_stands_now(repo: Path) -> None:
    """What changed is judged against the merge base; by which rules, the base decides as it is
    now. A branch forked before main tightened its policy must not pass by the older, looser one
    (nor, for keys, by a key main has since unpinned); a policy main loosened applies too."""
    from conftest import edit_yaml

    from strataml.cli.main import run

    git(repo, "branch", "-M", "main")
    edit_yaml(repo / "strataml.yaml", lambda d: d["doctor"].update(ignore=["TFC0002-W001"]))
    commit_all(repo, "main ignores missing licences for now")
    git(repo, "checkout", "-q", "-b", "pr")
    src = repo.parent / "more.csv"
    src.write_text("a,b\n1,2\n")
    assert run(["-C", str(repo), "dataset", "add", "flowers", str(src), "--version", "3", "--source", "t"]) == 0
    commit_all(repo, "a dataset without a licence")
    assert codes_since(repo, "main") == []  # the policy it forked from, and main's, ignore it
    git(repo, "checkout", "-q", "main")
    edit_yaml(repo / "strataml.yaml", lambda d: d["doctor"].update(ignore=[]))
    (repo / "tfc/keys").mkdir(parents=True, exist_ok=True)
    (repo / "tfc/keys/keys.yaml").write_text("keys: []\n")
    commit_all(repo, "main tightens its policy")
    git(repo, "checkout", "-q", "pr")
    # The pull request changed no policy file (nothing for review), yet main's rules judge it.
    assert codes_since(repo, "main") == [("TFC0002-W001", "datasets/flowers/3/dataset.yaml")]
    git(repo, "checkout", "-q", "main")
    edit_yaml(repo / "strataml.yaml", lambda d: d["doctor"].update(ignore=["TFC0002-W001"]))
    commit_all(repo, "main loosens it again")
    git(repo, "checkout", "-q", "pr")
    assert codes_since(repo, "main") == []


# --- 4. a record's content lives in its record folder ---------------------------------------------


@pytest.mark.parametrize("where", ["notes", "git-dir"])
def test_a_symlink_out_of_its_record_folder_is_an_error(repo: Path, tmp_path: Path, where: str) -> None:
    """The link never changes; what it points at can, outside every folder --since watches."""
    import os

    from strataml.cli.main import run
    from strataml.doctor import engine

    src = tmp_path / "iris.csv"
    src.write_text("a,b\n1,2\n")
    assert run(["-C", str(repo), "dataset", "add", "iris", str(src), "--version", "2",
                "--license", "MIT", "--source", "t"]) == 0
    data = repo / "datasets/iris/2/iris.csv"
    target = repo / ("notes/iris.csv" if where == "notes" else ".git/iris.csv")
    target.parent.mkdir(exist_ok=True)
    data.rename(target)
    data.symlink_to(os.path.relpath(target, data.parent))  # the same bytes: every checksum holds
    base = git(repo, "rev-parse", "HEAD")
    commit_all(repo, "a version whose data lives elsewhere")
    escaping = ("TFC0006-E005", "datasets/iris/2/iris.csv")
    assert escaping in codes_since(repo, base)
    assert escaping in {(f.code, f.path) for f in engine.doctor(repo).findings}


def test_a_symlink_within_its_record_folder_is_followed(repo: Path) -> None:
    from strataml.doctor import engine

    folder = repo / "datasets/flowers/1"
    (folder / "alias.csv").symlink_to("flowers.csv")
    assert not any(f.code == "TFC0006-E005" for f in engine.doctor(repo).findings)


def test_since_reads_no_record_through_a_committed_link_to_elsewhere(repo: Path, tmp_path: Path) -> None:
    """Found by an attacker: `datasets/evil -> /elsewhere` committed with a spec naming
    dataset:evil@1: a full run found no such record (TFC0008-E001); --since read the dataset.yaml
    outside the repository, its columns in a hint."""
    import shutil

    from conftest import edit_yaml
    from strataml.doctor import engine

    outside = tmp_path / "outside"
    shutil.copytree(repo / "datasets/sales", outside)
    edit_yaml(outside / "1/dataset.yaml", lambda d: (d.update(ref="dataset:evil@1"), d["columns"].append({"name": "SECRET", "type": "string"})))
    base = git(repo, "rev-parse", "HEAD")
    (repo / "datasets/evil").symlink_to(outside)
    spec = "experiments/sales-forecast.yaml"
    edit_yaml(repo / spec, lambda d: d["data"].update(dataset="dataset:evil@1", features=["nope"]))
    commit_all(repo, "a link out, and a spec reading it")
    full = engine.doctor(repo, use_cache=False).findings
    since = engine.doctor(repo, use_cache=False, options=engine.Options(since=base)).findings
    assert ("TFC0008-E001", spec) in [(f.code, f.path) for f in since], since
    assert not any("SECRET" in f.message + f.hint for f in (*full, *since)), since
    assert {(f.code, f.path) for f in since if f.path == spec} == {(f.code, f.path) for f in full if f.path == spec}
