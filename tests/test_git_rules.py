"""Rules that need git and Git LFS, against real repositories built in temp dirs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import models_helpers

from conformance_gen import forged_run, unpinned_run
from conftest import POSITIVE, edit_yaml, require
from strataml import lfs
from strataml.cli.main import run
from strataml.doctor import engine

pytestmark = pytest.mark.timeout(120)
BLOB = bytes(range(256)) * 16  # 4 KiB: too big to be mistaken for a pointer
FLOWERS = "datasets/flowers/1"


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
            "GIT_COMMITTER_EMAIL": "t@example.org", **(env or {})}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=full).stdout.strip()


def need_lfs() -> None:
    require(shutil.which("git-lfs") is not None, "git-lfs is not installed (apt-get install git-lfs)")


def commit_all(repo: Path, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The golden positive workspace, committed in a fresh git repository."""
    require(shutil.which("git") is not None, "git is not installed")
    root = tmp_path / "repo"
    shutil.copytree(POSITIVE, root, symlinks=True)
    (root / ".gitignore").write_text(".strataml/\n")
    git(root, "init", "-q")
    commit_all(root, "workspace")
    return root


def add_weights(repo: Path, *, lfs_tracked: bool = True) -> Path:
    """A dataset version holding a binary file, committed (through LFS when asked)."""
    if lfs_tracked:
        need_lfs()
        git(repo, "lfs", "install", "--local")
        git(repo, "lfs", "track", "*.safetensors")
    src = repo.parent / "weights.safetensors"
    src.write_bytes(BLOB)
    assert run(["-C", str(repo), "dataset", "add", "weights", str(src), "--version", "1", "--license", "MIT", "--source", "t"]) == 0
    commit_all(repo, "weights")
    return repo / "datasets/weights/1/weights.safetensors"


def pointer_clone(repo: Path, tmp_path: Path) -> Path:
    """A clone that checked out LFS pointers only (what CI gets without `git lfs pull`)."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone), env={"GIT_LFS_SKIP_SMUDGE": "1"})
    return clone


def copy_object(repo: Path, clone: Path) -> tuple[str, Path]:
    """Put the weights' LFS object into the clone's local store, as `git lfs fetch` would."""
    oid = git(repo, "lfs", "ls-files", "-l").split()[0]
    obj = lfs.object_path(clone / ".git/lfs/objects", oid)
    obj.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(lfs.object_path(repo / ".git/lfs/objects", oid), obj)
    return oid, obj


def pinned_pointer(repo: Path, tmp_path: Path, name: str, file: str, text: bytes | None = None) -> Path:
    """datasets/NAME/1/ in `repo` (not committed), pinning as FILE's content the text of an LFS
    pointer to other bytes (or `text`): made where no repository is (there the text is the file's
    content), then copied in. Returns the pointer file it was made from."""
    payload = f"what git-lfs gives instead of {file}\n".encode()
    src = tmp_path / file
    src.write_bytes(text or lfs.format_pointer(hashlib.sha256(payload).hexdigest(), len(payload)))
    elsewhere = tmp_path / "plain"
    shutil.copytree(POSITIVE, elsewhere)
    assert run(["-C", str(elsewhere), "dataset", "add", name, str(src), "--version", "1", "--license", "MIT",
                "--source", "t"]) == 0
    shutil.copytree(elsewhere / "datasets" / name, repo / "datasets" / name)
    return src


def test_a_record_that_pins_pointer_text_on_a_routed_path_is_an_error(repo: Path, tmp_path: Path) -> None:
    """Found by an attacker: a record pinning the text of an LFS pointer as the file's content, on
    a path .gitattributes routes through LFS, passed the gate in a checkout without LFS content
    (its hash is the pointer text's), while every checkout with Git LFS gets the object it names."""
    need_lfs()
    src = pinned_pointer(repo, tmp_path, "weights", "weights.safetensors")
    git(repo, "lfs", "install", "--local")
    git(repo, "lfs", "track", "*.safetensors")
    commit_all(repo, "weights, then routed through LFS")
    rel = "datasets/weights/1/weights.safetensors"
    for where in (repo, pointer_clone(repo, tmp_path)):
        found = [f for f in engine.doctor(where).findings if f.path == rel]
        assert [f.code for f in found] == ["TFC0006-E010"], found
        assert "records this Git LFS pointer's own text" in found[0].message
    # dataset add refuses to make such a record in a repository.
    other = tmp_path / "other.safetensors"
    other.write_bytes(src.read_bytes())
    assert run(["-C", str(repo), "dataset", "add", "more", str(other), "--version", "1", "--license", "MIT",
                "--source", "t"]) == 2


def test_a_record_that_pins_pointer_text_anywhere_is_an_error_under_since(repo: Path, tmp_path: Path) -> None:
    """Found by an attacker: off the paths LFS routes, pinned pointer text passed the gate, and
    `git lfs pull` (which writes over pointer text wherever it stands) gave users the object."""
    base = git(repo, "rev-parse", "HEAD")
    src = pinned_pointer(repo, tmp_path, "toy", "train.bin")
    commit_all(repo, "a dataset pinning pointer text")
    rel = "datasets/toy/1/train.bin"
    found = [f for f in engine.doctor(repo, options=engine.Options(since=base)).findings if f.path == rel]
    assert [f.code for f in found] == ["TFC0006-E010"] and "`git lfs pull` writes over" in found[0].message, found
    assert ("TFC0006-E010", rel) in [(f.code, f.path) for f in engine.doctor(repo, use_cache=False).findings]
    # dataset add refuses it inside a repository.
    assert run(["-C", str(repo), "dataset", "add", "toy2", str(src), "--version", "1", "--license", "MIT",
                "--source", "t"]) == 2


def test_pointer_text_git_lfs_rejects_pinned_on_a_routed_path_is_an_error(repo: Path, tmp_path: Path) -> None:
    """Found in a contract audit: text git-lfs rejects as a pointer (an uppercase oid), pinned as
    the file's content and committed past the LFS filter on a routed path, passed the gate
    (full, --since, a fresh clone); `git lfs fsck` calls it an unexpected git object, and a
    routed path MUST hold a pointer (TFC0006-E011/E013)."""
    need_lfs()
    base = git(repo, "rev-parse", "HEAD")
    text = lfs.format_pointer("a" * 64, 10).replace(b"a" * 64, b"A" * 64)
    pinned_pointer(repo, tmp_path, "blob", "m.bin", text)
    commit_all(repo, "text git-lfs rejects, committed raw")
    # Then routed, the blob left as it is (as a hand-made commit can: `git add` through git-lfs
    # would store a pointer to an object holding the text).
    (repo / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-qm", "routed through LFS")
    rel = "datasets/blob/1/m.bin"
    assert git(repo, "cat-file", "-p", f"HEAD:{rel}").encode() + b"\n" == text
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    for where, options in ((repo, {}), (repo, {"since": base}), (clone, {})):
        found = [f for f in engine.doctor(where, options=engine.Options(**options)).findings if f.path == rel]
        assert [f.code for f in found] == ["TFC0006-E011"], (where, options, found)
        assert "routes the path through Git LFS, and git-lfs rejects it as a pointer" in found[0].message, found


def test_text_git_lfs_rejects_as_a_pointer_added_through_git_lfs_is_content(repo: Path, tmp_path: Path) -> None:
    """The same text, added through git-lfs on a routed path, is stored behind a pointer like any
    content (`git lfs fsck` is clean): the first fix called it TFC0006-E011 from the checked-out
    file alone, and `dataset add` refused it (found by a review)."""
    need_lfs()
    git(repo, "lfs", "install", "--local")
    (repo / ".gitattributes").write_text("*.txt filter=lfs diff=lfs merge=lfs -text\n")
    commit_all(repo, "route *.txt")
    src = tmp_path / "fixture.txt"
    src.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3\n")
    assert run(["-C", str(repo), "dataset", "add", "fixtures", str(src), "--version", "1", "--license", "MIT",
                "--source", "t"]) == 0
    commit_all(repo, "a fixture that looks like a broken pointer")
    rel = "datasets/fixtures/1/fixture.txt"
    assert lfs.parse(git(repo, "cat-file", "-p", f"HEAD:{rel}").encode() + b"\n").size == src.stat().st_size
    assert [f for f in engine.doctor(repo).findings if f.path == rel] == []


@pytest.mark.parametrize("size", [1023, 1024])
def test_pinned_pointer_text_of_1024_bytes_or_more_is_content_for_full_and_since_runs_alike(
    repo: Path, tmp_path: Path, size: int
) -> None:
    """Found in a contract audit: a pinned pointer padded to 1024 bytes on an unrouted path was
    content to a full run and E010 ("`git lfs pull` writes over it") to --since; `git lfs pull`
    takes only blobs under 1024 bytes for pointers."""
    base = git(repo, "rev-parse", "HEAD")
    pointer = lfs.format_pointer(hashlib.sha256(b"x").hexdigest(), 1)
    pinned_pointer(repo, tmp_path, "pad", "p.txt", pointer + b"\n" * (size - len(pointer)))
    commit_all(repo, "pointer text, padded")
    rel = "datasets/pad/1/p.txt"
    verdicts = [
        [f.code for f in engine.doctor(repo, options=engine.Options(**o), use_cache=False).findings if f.path == rel]
        for o in ({}, {"since": base})
    ]
    assert verdicts == ([["TFC0006-E010", "TFC0006-W010"]] * 2 if size < 1024 else [[], []]), verdicts


def test_a_pointer_with_extensions_stands_for_no_recorded_content(repo: Path, tmp_path: Path) -> None:
    """Found by an attacker: under a git-lfs extension the oid names the stored object, not the
    checkout's content; such a pointer with the recorded oid passed, and broke every checkout."""
    add_weights(repo)
    clone = pointer_clone(repo, tmp_path)
    oid = hashlib.sha256(BLOB).hexdigest()
    text = lfs.format_pointer(oid, len(BLOB), [lfs.Extension(0, "foo", "ab" * 32)])
    (clone / "datasets/weights/1/weights.safetensors").write_bytes(text)
    found = [f for f in engine.doctor(clone).findings if f.code.startswith("TFC0006")]
    assert [f.code for f in found] == ["TFC0006-E010"] and "extensions (ext-0-foo)" in found[0].message, found


def test_pointer_text_committed_off_lfs_and_pulled_over_is_an_error(repo: Path, tmp_path: Path) -> None:
    """Found by an attacker: a pointer committed on a path .gitattributes does not route through
    LFS was E003 until `git lfs pull` wrote the content over it (and staged it); then the doctor,
    reading the checkout, passed what a clone of the commit never gets."""
    src = tmp_path / "rows.csv"
    src.write_text("a,y\n1,0\n2,1\n")
    assert run(["-C", str(repo), "dataset", "add", "rows", str(src), "--version", "1", "--license", "MIT",
                "--source", "t"]) == 0
    rel = "datasets/rows/1/rows.csv"
    content = (repo / rel).read_bytes()
    (repo / rel).write_bytes(lfs.format_pointer(hashlib.sha256(content).hexdigest(), len(content)))
    commit_all(repo, "rows, its file committed as a pointer git-lfs never smudges here")
    assert ("TFC0006-E003", rel) in [(f.code, f.path) for f in engine.doctor(repo).findings]
    # What `git lfs pull` leaves: the content over the pointer, staged, and git-lfs's object store.
    (repo / rel).write_bytes(content)
    git(repo, "add", rel)
    (repo / ".git/lfs/objects").mkdir(parents=True)
    found = [(f.code, f.path) for f in engine.doctor(repo).findings]
    assert found == [("TFC0006-E013", rel)], found
    commit_all(repo, "the content committed itself")  # (the fix the hint names)
    assert codes(repo) == []


def codes(root: Path, **options: object) -> list[str]:
    return [f.code for f in engine.doctor(root, options=engine.Options(**options)).findings]  # type: ignore[arg-type]


# --- one golden negative per code that needs git --------------------------------------------

def case_pointer_mismatch(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    add_weights(repo)
    clone = pointer_clone(repo, tmp_path)
    (clone / "datasets/weights/1/weights.safetensors").write_bytes(lfs.format_pointer("ab" * 32, len(BLOB)))
    return clone, {}


def case_malformed(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    add_weights(repo)
    clone = pointer_clone(repo, tmp_path)
    (clone / "datasets/weights/1/weights.safetensors").write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n")
    return clone, {}


def case_by_pointer(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    add_weights(repo)
    return pointer_clone(repo, tmp_path), {}


def case_require_content(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    add_weights(repo)
    return pointer_clone(repo, tmp_path), {"require_content": True}


def case_noncanonical_with_content(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    add_weights(repo)
    clone = pointer_clone(repo, tmp_path)
    oid, _obj = copy_object(repo, clone)
    (clone / "datasets/weights/1/weights.safetensors").write_bytes(lfs.format_pointer(oid, len(BLOB)).replace(b"\n", b"\r\n"))
    return clone, {}


def case_blob_not_pointer(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    add_weights(repo, lfs_tracked=False)
    (repo / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-qm", "track bins from now on")
    return repo, {}


def case_large_not_lfs(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    edit_yaml(repo / "strataml.yaml", lambda d: d["lfs"].update(threshold_bytes=200))
    commit_all(repo)
    return repo, {}


def case_untracked(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    src = tmp_path / "more.csv"
    src.write_text("a\n1\n")
    assert run(["-C", str(repo), "dataset", "add", "more", str(src), "--version", "1", "--license", "MIT", "--source", "t"]) == 0
    return repo, {}


def case_data_untracked(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    """The metadata committed, a file it records not: the working copy looks whole, a clone lacks it."""
    git(repo, "rm", "-q", "--cached", "datasets/flowers/1/flowers.csv")
    return repo, {}


def history(change) -> callable:
    def setup(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
        base = git(repo, "rev-parse", "HEAD")
        change(repo)
        commit_all(repo)
        return repo, {"since": base}
    return setup


def _ledger(repo: Path) -> None:
    """History rewritten into another valid chain: only the comparison with REF can tell."""
    models_helpers.write_ledger(repo, [(models_helpers.ref(1), "rejected")])


GIT_CASES = {
    "TFC0006-E010": case_pointer_mismatch,
    "TFC0006-E011": case_malformed,
    "TFC0006-I010": case_by_pointer,
    "TFC0006-E012": case_require_content,
    "TFC0006-W010": case_noncanonical_with_content,
    "TFC0006-E013": case_blob_not_pointer,
    "TFC0006-W011": case_large_not_lfs,
    "TFC0006-W012": case_untracked,
    "TFC0006-W014": case_data_untracked,
    "TFC0002-E010": history(lambda r: edit_yaml(r / FLOWERS / "dataset.yaml", lambda d: d.update(description="better words"))),
    "TFC0003-E010": history(lambda r: edit_yaml(r / "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml",
                                                lambda d: d["tags"].update(purpose="rewritten"))),
    "TFC0003-E011": history(forged_run),
    "TFC0003-W001": history(unpinned_run),
    "TFC0004-E010": history(lambda r: edit_yaml(r / "models/sales-model/1/model.yaml", lambda d: d.update(description="v1 again"))),
    "TFC0005-E006": history(_ledger),
    "TFC0005-E010": history(lambda r: (_gates(r, "sales-forecast", "test_accuracy >= 0.9"), models_helpers.reach(r, "staging"))),
    "TFC0001-W001": history(lambda r: edit_yaml(r / "strataml.yaml", lambda d: d["doctor"].update(ignore=["TFC0002-W001"]))),
    "TFC0006-W013": history(lambda r: (r / ".gitattributes").write_text("*.bin binary\n")),
    "TFC0001-W006": history(lambda r: ((r / ".strataml").mkdir(exist_ok=True), (r / ".strataml/x").write_text("x\n"),
                                       git(r, "add", "-f", ".strataml/x"))),
    "TFC0006-W015": history(lambda r: (r / ".lfsconfig").write_text('[lfs]\n\turl = https://lfs.example.net/x\n')),
    "TFC0007-W001": history(lambda r: edit_yaml(r / "strataml.yaml", lambda d: d.update(
        signing={"require": [{"records": "models", "state": "production", "scope": "production"}]}))),
}


@pytest.fixture
def repo_with_ledger(repo: Path) -> Path:
    models_helpers.reach(repo, "candidate")
    commit_all(repo, "ledger")
    return repo


@pytest.mark.parametrize("code", sorted(GIT_CASES))
def test_git_golden_negative_produces_exactly_its_code(repo_with_ledger: Path, tmp_path: Path, code: str) -> None:
    root, options = GIT_CASES[code](repo_with_ledger, tmp_path)
    found = codes(root, **options)
    assert found and set(found) == {code}, found


def test_the_hint_for_content_committed_past_lfs_works_as_printed(repo: Path, tmp_path: Path) -> None:
    """TFC0006-E013 in a clone whose git never ran the LFS filter: the hint's first command, run as
    printed from a folder below the top (paths are `:/` pathspecs), then a commit, leaves a
    pointer in git and no finding."""
    need_lfs()
    case_blob_not_pointer(repo, tmp_path)
    (finding,) = [f for f in engine.doctor(repo).findings if f.code == "TFC0006-E013"]
    step = finding.hint.split("`")[1]
    assert step.startswith("git lfs install --local && git rm --cached :/datasets/weights/1/weights.safetensors && ")
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org"}
    subprocess.run(["bash", "-c", step], cwd=repo / "runs", check=True, capture_output=True, env=env)
    git(repo, "commit", "-qm", "the weights as a pointer")
    assert git(repo, "cat-file", "-p", "HEAD:datasets/weights/1/weights.safetensors").startswith("version https://git-lfs")
    assert [f.code for f in engine.doctor(repo).findings] == []


def test_large_file_not_in_lfs(repo: Path) -> None:
    edit_yaml(repo / "strataml.yaml", lambda d: d["lfs"].update(threshold_bytes=200))
    commit_all(repo)
    found = engine.doctor(repo).findings
    assert {f.code for f in found} == {"TFC0006-W011"}
    assert {f.path for f in found} == {"datasets/sales/1/sales.csv"}


# --- LFS content, pointers and their variants ----------------------------------------------

def test_content_present_is_hashed_and_clean(repo: Path) -> None:
    path = add_weights(repo)
    assert path.read_bytes() == BLOB  # smudged
    assert git(repo, "cat-file", "-p", f"HEAD:datasets/weights/1/weights.safetensors").startswith("version https://git-lfs")
    report = engine.doctor(repo, strict=True)
    assert report.findings == () and report.stats["bytes_hashed"] >= len(BLOB)


def test_pointer_with_local_object_is_verified_by_content(repo: Path, tmp_path: Path) -> None:
    add_weights(repo)
    clone = pointer_clone(repo, tmp_path)
    _oid, obj = copy_object(repo, clone)
    assert codes(clone) == []
    obj.write_bytes(BLOB[:-1] + b"x")
    found = engine.doctor(clone).findings
    assert [(f.code, f.path) for f in found] == [("TFC0006-E002", "datasets/weights/1/weights.safetensors")]
    assert "local Git LFS object" in found[0].message


def test_a_local_object_the_pointer_gives_another_size_is_a_size_error(repo: Path, tmp_path: Path) -> None:
    """Found in a contract audit: the pointer and the record both said a size the content with
    that sha256 does not have; the object in the local store was called corrupt, hashing to its
    own oid, and the hint said to delete and pull it again."""
    add_weights(repo)
    clone = pointer_clone(repo, tmp_path)
    oid, _obj = copy_object(repo, clone)
    rel = "datasets/weights/1/weights.safetensors"
    (clone / rel).write_bytes(lfs.format_pointer(oid, len(BLOB) + 5))
    edit_yaml(clone / "datasets/weights/1/dataset.yaml", lambda d: d["files"][0].update(size=len(BLOB) + 5))
    found = [f for f in engine.doctor(clone).findings if f.path == rel]
    assert [f.code for f in found] == ["TFC0006-E003"], found
    assert f"in {len(BLOB):,} bytes, but the pointer and" in found[0].message and "corrupt" not in found[0].message


@pytest.mark.parametrize("variant,raw", [
    ("CRLF line endings", lambda oid, n: f"version {lfs.SPEC_V1}\r\noid sha256:{oid}\r\nsize {n}\r\n"),
    ("no final newline", lambda oid, n: f"version {lfs.SPEC_V1}\noid sha256:{oid}\nsize {n}"),
    ("legacy version URL https://hawser.github.com/spec/v1",
     lambda oid, n: f"version https://hawser.github.com/spec/v1\noid sha256:{oid}\nsize {n}\n"),
    ("blank lines or extra whitespace", lambda oid, n: f"\nversion {lfs.SPEC_V1}\noid sha256:{oid}\nsize {n}\n"),
    ("size written as '+", lambda oid, n: f"version {lfs.SPEC_V1}\noid sha256:{oid}\nsize +{n}\n"),
])
def test_noncanonical_pointer_variants(repo: Path, tmp_path: Path, variant: str, raw) -> None:
    add_weights(repo)
    clone = pointer_clone(repo, tmp_path)
    oid = git(repo, "lfs", "ls-files", "-l").split()[0]
    (clone / "datasets/weights/1/weights.safetensors").write_text(raw(oid, len(BLOB)), newline="")
    found = engine.doctor(clone).findings
    assert sorted(f.code for f in found) == ["TFC0006-I010", "TFC0006-W010"], variant
    # The message names what differs, and only that (each variant differs in one way).
    [warning] = [f.message for f in found if f.code == "TFC0006-W010"]
    assert variant in warning and ";" not in warning, warning


@pytest.mark.parametrize("variant,raw", [
    ("uppercase oid", lambda oid, n: f"version {lfs.SPEC_V1}\noid sha256:{oid.upper()}\nsize {n}\n"),
    ("key order", lambda oid, n: f"version {lfs.SPEC_V1}\nsize {n}\noid sha256:{oid}\n"),
    ("extra line", lambda oid, n: f"version {lfs.SPEC_V1}\noid sha256:{oid}\nsize {n}\nnote x\n"),
])
def test_pointers_git_lfs_rejects_are_errors(repo: Path, tmp_path: Path, variant: str, raw) -> None:
    """git-lfs would never fetch these (`git lfs pointer --check` exits 1): not a warning but an error."""
    add_weights(repo)
    clone = pointer_clone(repo, tmp_path)
    oid = git(repo, "lfs", "ls-files", "-l").split()[0]
    (clone / "datasets/weights/1/weights.safetensors").write_text(raw(oid, len(BLOB)), newline="")
    assert codes(clone) == ["TFC0006-E011"], variant


def test_empty_file_through_lfs_is_clean(repo: Path) -> None:
    """git-lfs stores an empty file as an empty blob (its "empty pointer"), not as content in git."""
    need_lfs()
    git(repo, "lfs", "install", "--local")
    git(repo, "lfs", "track", "*.safetensors")
    src = repo.parent / "empty.safetensors"
    src.write_bytes(b"")
    assert run(["-C", str(repo), "dataset", "add", "empty", str(src), "--version", "1", "--license", "MIT", "--source", "t"]) == 0
    commit_all(repo, "empty")
    assert git(repo, "cat-file", "-s", "HEAD:datasets/empty/1/empty.safetensors") == "0"
    assert codes(repo) == []


def test_committed_pointer_git_lfs_accepts_is_not_content_in_git(repo: Path, tmp_path: Path) -> None:
    """A pointer blob with a leading blank line is still a pointer to git-lfs, not content in git (TFC0006-E013)."""
    add_weights(repo)
    oid = git(repo, "lfs", "ls-files", "-l").split()[0]
    pointer = b"\n" + lfs.format_pointer(oid, len(BLOB))
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=pointer, capture_output=True,
                          check=True).stdout.decode().strip()
    git(repo, "update-index", "--cacheinfo", f"100644,{blob},datasets/weights/1/weights.safetensors")
    git(repo, "commit", "-qm", "pointer rewritten by another tool")
    clone = pointer_clone(repo, tmp_path)  # the smudge filter checks it out re-encoded, canonical
    assert codes(clone) == ["TFC0006-I010"]
    # The same when a scope of records is checked (git is then asked while other rules run).
    from strataml.workspace import load

    raw, _stats, _ctx = engine.check(load(clone), engine.Options(), scope=frozenset({"dataset:weights@1"}))
    assert [f.code for f in raw] == ["TFC0006-I010"]


def test_canonical_pointer_parses_like_git_lfs_writes_it(repo: Path) -> None:
    need_lfs()
    src = repo.parent / "w.bin"
    src.write_bytes(BLOB)
    written = subprocess.run(["git", "lfs", "pointer", f"--file={src}"], capture_output=True, check=True).stdout
    pointer = lfs.parse(written)
    assert pointer.canonical and pointer.size == len(BLOB)
    assert written == lfs.format_pointer(pointer.oid, pointer.size)


# --- --since ----------------------------------------------------------------------------------

def test_since_checks_only_changed_records_and_new_records_are_fine(repo: Path, tmp_path: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    src = tmp_path / "extra.csv"
    src.write_text("a\n1\n")
    assert run(["-C", str(repo), "dataset", "add", "extra", str(src), "--version", "1", "--license", "MIT", "--source", "t"]) == 0
    commit_all(repo)
    (repo / "datasets/sales/1/sales.csv").unlink()  # committed at base, deleted since
    report = engine.doctor(repo, options=engine.Options(since=base))
    assert report.stats["records_checked"] == 2
    assert {f.code for f in report.findings} == {"TFC0002-E010", "TFC0006-E001"}


def test_since_resolves_refs_collisions_and_digests_against_records_it_did_not_walk(repo: Path) -> None:
    """A --since run walks only around what changed; what a changed record points at is still checked."""
    base = git(repo, "rev-parse", "HEAD")
    run_yaml = repo / "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml"
    shutil.copytree(repo / "datasets/sales", repo / "datasets/Sales")  # folds onto datasets/sales
    edit_yaml(repo / "datasets/Sales/1/dataset.yaml", lambda d: d.update(ref="dataset:Sales@1"))
    shutil.copytree(run_yaml.parent, repo / "runs/20260102T000000Z-sales-forecast-d4e5f6")
    new_run = repo / "runs/20260102T000000Z-sales-forecast-d4e5f6/run.yaml"
    edit_yaml(new_run, lambda d: (d.update(ref="run:20260102T000000Z-sales-forecast-d4e5f6"),
                                  d["inputs"][0].update(digest="sha256:" + "0" * 64)))
    commit_all(repo)
    found = {(f.code, f.path) for f in engine.doctor(repo, options=engine.Options(since=base)).findings}
    assert ("TFC0008-E005", "runs/20260102T000000Z-sales-forecast-d4e5f6/run.yaml") in found  # digest of an unwalked dataset
    assert any(code == "TFC0008-E004" for code, _ in found)  # Sales vs sales
    edit_yaml(new_run, lambda d: d["inputs"][0].update(ref="dataset:nope@1"))
    commit_all(repo)
    found = {(f.code, f.path) for f in engine.doctor(repo, options=engine.Options(since=base)).findings}
    assert ("TFC0008-E001", "runs/20260102T000000Z-sales-forecast-d4e5f6/run.yaml") in found


def test_since_sees_untracked_files_besides_the_diff(repo: Path, tmp_path: Path) -> None:
    """The diff's records are checked while git walks for untracked files; what the walk finds is checked too."""
    base = git(repo, "rev-parse", "HEAD")
    edit_yaml(repo / FLOWERS / "dataset.yaml", lambda d: d.update(description="edited, not committed"))  # in the diff
    (repo / "datasets/sales/1/notes.txt").write_text("untracked, in a committed version\n")  # only the walk sees it
    # (a file added to a version committed at base changes it: immutability, besides unrecorded)
    unrecorded = {("TFC0006-W001", "datasets/sales/1/notes.txt"), ("TFC0002-E010", "datasets/sales/1")}
    report = engine.doctor(repo, options=engine.Options(since=base))
    found = {(f.code, f.path) for f in report.findings}
    assert found == {("TFC0002-E010", FLOWERS), *unrecorded}
    assert report.stats["records_checked"] == 2
    # Only untracked changes (an empty diff): still found.
    git(repo, "checkout", "-q", "--", FLOWERS)
    report = engine.doctor(repo, options=engine.Options(since=base))
    assert {(f.code, f.path) for f in report.findings} == unrecorded and report.stats["records_checked"] == 1
    # An ignored file is no change.
    (repo / ".gitignore").write_text(".strataml/\nnotes.txt\n")
    commit_all(repo, "ignore notes")
    assert engine.doctor(repo, options=engine.Options(since=base)).stats["records_checked"] == 0


def test_since_unknown_revision_is_a_clear_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["-C", str(repo), "doctor", "--since", "no-such-branch"]) == 3
    err = capsys.readouterr().err
    assert "--since no-such-branch: git does not know this revision" in err and "Traceback" not in err


def test_an_unknown_revision_spelled_like_a_branch_is_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a new user: `git init` made `master`, the README's example says `main`, and the
    error said only "git does not know this revision"; a typo got no "did you mean" either."""
    git(repo, "branch", "-M", "master")
    assert run(["-C", str(repo), "doctor", "--since", "main"]) == 3
    assert "did you mean master?" in capsys.readouterr().err
    git(repo, "branch", "-M", "main")
    assert run(["-C", str(repo), "diff", "mian"]) == 3
    assert "did you mean main?" in capsys.readouterr().err


def test_since_in_a_shallow_clone(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = git(repo, "rev-parse", "HEAD")
    edit_yaml(repo / FLOWERS / "dataset.yaml", lambda d: d.update(description="edited"))
    commit_all(repo)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{repo}", str(shallow))
    assert run(["-C", str(shallow), "doctor", "--since", base]) == 3
    assert "shallow clone" in capsys.readouterr().err
    git(shallow, "fetch", "-q", "--depth=1", "origin", base)
    assert run(["-C", str(shallow), "doctor", "--since", base, "--format", "json"]) == 2
    assert '"TFC0002-E010"' in capsys.readouterr().out


def test_without_a_merge_base_the_doctor_and_diff_say_so(repo: Path, tmp_path: Path, capsys) -> None:
    """A shallow clone that fetched the base's tip alone: what main gained since the change began
    was judged as the change's (TFC0002-E010, exit 2), with a note on stderr alone. Findings of
    history found so are no verdict (exit 3: fetch the history); a run without them stands."""
    git(repo, "branch", "-M", "main")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "README.md").write_text("the change\n")
    commit_all(repo, "the change")
    (repo / "README.md").write_text("the change, again\n")
    commit_all(repo, "the change, again")  # (HEAD's parent is no longer main's tip)
    early = tmp_path / "early"
    git(tmp_path, "clone", "-q", "--depth=1", "-b", "feature", f"file://{repo}", str(early))
    git(early, "fetch", "-q", "--depth=1", "origin", "main:refs/remotes/origin/main")
    assert run(["-C", str(early), "doctor", "--strict", "--since", "origin/main"]) == 0
    assert "compared with its tip, which found no change to history" in capsys.readouterr().err
    git(repo, "checkout", "-q", "main")
    shutil.copytree(repo / FLOWERS, repo / "datasets/flowers/2")
    edit_yaml(repo / "datasets/flowers/2/dataset.yaml", lambda d: d.update(ref="dataset:flowers@2"))
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth=1", "-b", "feature", f"file://{repo}", str(shallow))
    git(shallow, "fetch", "-q", "--depth=1", "origin", "main:refs/remotes/origin/main")
    assert run(["-C", str(shallow), "doctor", "--since", "origin/main"]) == 3
    err = capsys.readouterr().err
    assert "no merge base with origin/main is known (a shallow clone)" in err, err
    assert "TFC0002-E010 may be what origin/main gained since this change began" in err and "git fetch --unshallow" in err
    assert run(["-C", str(shallow), "doctor", "--since", "origin/main", "--format", "json"]) == 3
    assert json.loads(capsys.readouterr().out)["error"]["message"].startswith("no merge base with origin/main")
    run(["-C", str(shallow), "diff", "origin/main"])
    assert "No merge base with origin/main is known" in capsys.readouterr().out
    assert run(["-C", str(repo), "doctor", "--since", "main"]) == 0  # (with the history: nothing said)
    assert "merge base" not in capsys.readouterr().err
    # A merge commit checked out shallow (GitHub's refs/pull/N/merge): its parent is main's tip,
    # so the comparison with the tip is exact, and nothing is said.
    git(repo, "checkout", "-q", "-b", "pr-merge", "main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "merge", "-q", "--no-ff", "-m", "merge", "feature")
    merged = tmp_path / "merged"
    git(tmp_path, "clone", "-q", "--depth=1", "-b", "pr-merge", f"file://{repo}", str(merged))
    git(merged, "fetch", "-q", "--depth=1", "origin", "main:refs/remotes/origin/main")
    assert run(["-C", str(merged), "doctor", "--since", "origin/main"]) == 0
    assert "merge base" not in capsys.readouterr().err
    assert run(["-C", str(merged), "diff", "origin/main", "--format", "json"]) == 0  # (diff said "a shallow clone?")
    assert json.loads(capsys.readouterr().out)["base"]["merge_base"] is True


def test_without_a_merge_base_what_the_base_changed_is_no_verdict_unless_it_counts(
    repo: Path, tmp_path: Path, capsys
) -> None:
    """Found by a review: the base's policy changed after the change began read as the change's
    (a false TFC0001-W001, exit 2 under --strict); and a code the policy made an info, which
    changes no verdict, made the run exit 3."""
    git(repo, "branch", "-M", "main")
    git(repo, "checkout", "-q", "-b", "feature")
    for text in ("the change\n", "the change, again\n"):
        (repo / "README.md").write_text(text)
        commit_all(repo, text)
    git(repo, "checkout", "-q", "main")
    edit_yaml(repo / "strataml.yaml", lambda d: d.setdefault("lfs", {}).update(threshold_bytes=12345))
    commit_all(repo, "main changes its policy")

    def shallow(name: str) -> Path:
        made = tmp_path / name
        git(tmp_path, "clone", "-q", "--depth=1", "-b", "feature", f"file://{repo}", str(made))
        git(made, "fetch", "-q", "--depth=1", "origin", "main:refs/remotes/origin/main")
        return made

    one = shallow("one")
    assert run(["-C", str(one), "doctor", "--strict", "--since", "origin/main"]) == 3
    assert "TFC0001-W001 may be what origin/main gained" in capsys.readouterr().err
    # The policy the base holds now makes W001 an info: no verdict rests on it, the run stands.
    edit_yaml(repo / "strataml.yaml", lambda d: d.setdefault("doctor", {}).setdefault("severity", {}).update(
        {"TFC0001-W001": "info"}))
    commit_all(repo, "main quiets the policy warning")
    two = shallow("two")
    assert run(["-C", str(two), "doctor", "--strict", "--since", "origin/main"]) == 0
    assert "which found no change to history" in capsys.readouterr().err


def test_the_hint_of_a_changed_dataset_version_restores_it(repo: Path, capsys) -> None:
    """The hint was `git checkout REF -- PATH`, literally; filled in, it kept a file added to the
    version (and failed on one never committed at REF), so the same error came back."""
    base = git(repo, "rev-parse", "HEAD")
    (repo / FLOWERS / "flowers.csv").write_text("changed\n")
    (repo / FLOWERS / "notes.txt").write_text("added\n")
    commit_all(repo, "edit a committed version")
    (repo / FLOWERS / "more.txt").write_text("added, not committed\n")
    git(repo, "add", FLOWERS)
    assert run(["-C", str(repo), "doctor", "--since", base, "--format", "json"]) == 2
    [finding] = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["code"] == "TFC0002-E010"]
    command = finding["hint"].split("`")[1]
    assert command == f"git restore --source={base} --staged --worktree -- {FLOWERS}", command
    subprocess.run(command.split(), cwd=repo, check=True, capture_output=True)
    assert run(["-C", str(repo), "doctor", "--since", base]) == 0, capsys.readouterr().out


def test_the_restore_and_fetch_hints_name_what_git_takes(tmp_path: Path) -> None:
    """In a repository's folder the restore's path is from the top (git reads a pathspec from
    where it runs, CI from the top); a ref with ~ or ^, or a short commit id, is no refspec."""
    from strataml.doctor.rules.history import _restore
    from strataml.gitfacts import _fetch_for

    (tmp_path / "ml").mkdir()
    git(tmp_path, "init", "-q")
    assert _restore(tmp_path / "ml", "main", "datasets/x/1") == (
        "git restore --source=main --staged --worktree -- ':(top)ml/datasets/x/1'"
    )
    assert _restore(tmp_path, "origin/main", "datasets/x/1").endswith("--worktree -- datasets/x/1")
    assert _fetch_for(tmp_path, "HEAD~3") == "`git fetch --unshallow`"
    # A short commit id is fetched by no server, but a branch may be named like one: both said.
    assert _fetch_for(tmp_path, "7965154") == (
        "`git fetch --unshallow` (for a branch named 7965154: `git fetch --unshallow origin 7965154:7965154`)"
    )
    assert _fetch_for(tmp_path, "main~1") == "`git fetch --unshallow origin main:main`"
    assert _fetch_for(tmp_path, "a;b") == "`git fetch --unshallow origin 'a;b:a;b'`"  # (pasted into a shell)


@pytest.mark.parametrize("since", ["origin/main", "main", "cafe123"])
def test_the_shallow_clone_hint_works_when_pasted(repo: Path, tmp_path: Path, since: str, capsys) -> None:
    """CI clones one branch, shallow: `git fetch --depth=1 origin main` (the hint before) left
    neither main nor origin/main behind, and the same error came back. A branch named like a short
    commit id got only `git fetch --unshallow`, which fetches no other branch."""
    git(repo, "branch", "-M", since.rpartition("/")[2])
    git(repo, "checkout", "-q", "-b", "feature")
    edit_yaml(repo / FLOWERS / "dataset.yaml", lambda d: d.update(description="edited"))
    commit_all(repo)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth=1", "-b", "feature", f"file://{repo}", str(shallow))
    assert run(["-C", str(shallow), "doctor", "--since", since]) == 3
    hint = capsys.readouterr().err.split("`")[3 if since == "cafe123" else 1]
    assert hint.startswith("git fetch --unshallow origin "), hint
    subprocess.run(hint.split(), cwd=shallow, check=True, capture_output=True)
    assert run(["-C", str(shallow), "doctor", "--since", since, "--format", "json"]) == 2
    assert '"TFC0002-E010"' in capsys.readouterr().out


def test_ledger_append_is_fine_but_truncation_is_not(repo_with_ledger: Path) -> None:
    base = git(repo_with_ledger, "rev-parse", "HEAD")
    ledger = repo_with_ledger / "models/sales-model/lifecycle.jsonl"
    models_helpers.reach(repo_with_ledger, "staging")
    assert codes(repo_with_ledger, since=base) == []
    ledger.write_text("")
    assert codes(repo_with_ledger, since=base) == ["TFC0005-E006"]


def test_an_incomplete_last_line_committed_at_ref_may_be_removed_but_no_whole_line(repo_with_ledger: Path) -> None:
    """Found in a contract audit: a torn last line that reached the base (a direct push) froze the
    model: removing it, the repair TFC0005-E005 names, was TFC0005-E006 "rewritten", and no
    append can complete it."""
    ledger = repo_with_ledger / "models/sales-model/lifecycle.jsonl"
    models_helpers.reach(repo_with_ledger, "staging")
    whole = ledger.read_text()
    ledger.write_text(whole + '{"seq": 4, "prev": "sha25')
    base = commit_all(repo_with_ledger, "a torn line pushed")
    assert "TFC0005-E005" in codes(repo_with_ledger)
    ledger.write_text(whole)
    commit_all(repo_with_ledger, "the torn line removed")
    assert codes(repo_with_ledger, since=base) == []
    ledger.write_text(whole.split("\n", 1)[1])  # (a whole line removed: still a rewrite)
    assert codes(repo_with_ledger, since=base)[:1] == ["TFC0005-E006"]
    # A whole entry that only lacks its newline at REF is an entry: removing it is a rewrite (a
    # review found the first version of this allowance let a pull request delete a promotion).
    ledger.write_text(whole.rstrip("\n"))
    base = commit_all(repo_with_ledger, "the last entry's newline dropped")
    ledger.write_text(whole.rsplit("\n", 2)[0] + "\n")
    commit_all(repo_with_ledger, "the last entry removed")
    assert codes(repo_with_ledger, since=base)[:1] == ["TFC0005-E006"]


def test_an_unrecorded_file_git_does_not_track_gets_the_short_fix(repo: Path) -> None:
    """Found by a new user: a file just dropped into a version's folder got ~400 characters on
    committed files, --since and baselines; only "move it out" applies to it."""
    stray = repo / "datasets/sales/1/notes.txt"
    stray.write_text("x\n")

    def hint() -> str:
        [found] = [f for f in engine.doctor(repo).findings if f.code == "TFC0006-W001"]
        return found.hint

    assert hint() == "move it out of the folder (a record folder holds exactly what its record pins); git does not track it"
    commit_all(repo, "the stray committed")
    assert "TFC0002-E010 with --since" in hint()
    # Without git's word (--no-git), the fix that holds either way (a review: it said "move it out")
    [found] = [f for f in engine.doctor(repo, options=engine.Options(use_git=False)).findings if f.code == "TFC0006-W001"]
    assert "TFC0002-E010 with --since" in found.hint


def test_a_running_run_may_still_change(repo: Path) -> None:
    run_yaml = repo / "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml"
    edit_yaml(run_yaml, lambda d: (d.update(status="running"), d.pop("ended_at")))
    base = commit_all(repo)
    edit_yaml(run_yaml, lambda d: d["tags"].update(purpose="still going"))
    report = engine.doctor(repo, options=engine.Options(since=base))
    # --since saw the change, and let it be; the model version registered from the run is checked with it
    assert report.stats["records_checked"] == 2
    assert "TFC0003-E010" not in [f.code for f in report.findings]
    edit_yaml(run_yaml, lambda d: (d.update(status="succeeded", ended_at=d["started_at"])))
    commit_all(repo)
    edit_yaml(run_yaml, lambda d: d["tags"].update(purpose="after it ended"))
    assert "TFC0003-E010" in codes(repo, since=git(repo, "rev-parse", "HEAD"))  # the control: once finished, no more


def test_a_running_run_that_finishes_with_other_numbers_fails_the_versions_made_from_it(repo: Path) -> None:
    """Found by an attacker: a run still running at the base may change, and --since checked the
    run alone. Finished with a better metric (its files re-pinned to match), it left the version
    registered from it resting on a gate receipt and evaluation the run no longer records, and the
    gate passed. The versions made by a committed run that changed are checked with it now."""
    run_dir = repo / "runs/20260101T000000Z-sales-forecast-a1b2c3"
    model = "models/sales-model/1/model.yaml"
    edit_yaml(run_dir / "run.yaml", lambda d: (d.update(status="running"), d.pop("ended_at")))
    base = commit_all(repo)
    assert ("TFC0004-E004", model) in [(f.code, f.path) for f in engine.doctor(repo).findings]  # (its own error too)
    edit_yaml(run_dir / "run.yaml", lambda d: d.update(status="succeeded", ended_at=d["started_at"]))
    commit_all(repo)
    report = engine.doctor(repo, options=engine.Options(since=base))
    assert not report.findings and report.stats["records_checked"] == 2, report.findings  # the same numbers: clean
    metrics = run_dir / "metrics/metrics.json"
    metrics.write_text(metrics.read_text().replace("0.75", "0.95"))
    _repin(run_dir, "metrics/metrics.json")
    edit_yaml(run_dir / "run.yaml", lambda d: d["metrics"].update(test_accuracy=0.95))
    commit_all(repo)
    found = {(f.code, f.path) for f in engine.doctor(repo, options=engine.Options(since=base)).findings}
    assert {("TFC0004-E003", model), ("TFC0004-E005", model)} <= found, found


def test_a_finished_or_only_signed_run_does_not_bring_its_versions_in(repo: Path) -> None:
    """The versions of a run are checked with it only when it was running at the base: a finished
    run's change is its own error, and a signature added to it changes nothing they rest on (a
    whole walk then reported every old problem of the workspace on the pull request)."""
    run_dir = repo / "runs/20260101T000000Z-sales-forecast-a1b2c3"
    (repo / "datasets/flowers/notes.txt").write_text("an old stray the base holds\n")
    base = commit_all(repo, "an old problem")
    (run_dir / "run.yaml.asc").write_text("not a signature\n")
    commit_all(repo, "only a signature")
    report = engine.doctor(repo, options=engine.Options(since=base))
    assert report.stats["records_checked"] == 1, report.stats
    assert "TFC0001-E002" not in {f.code for f in report.findings}, report.findings
    (run_dir / "run.yaml.asc").unlink()
    edit_yaml(run_dir / "run.yaml", lambda d: d["tags"].update(purpose="edited after it ended"))
    commit_all(repo, "a finished run changed")
    report = engine.doctor(repo, options=engine.Options(since=base))
    assert report.stats["records_checked"] == 1 and "TFC0003-E010" in {f.code for f in report.findings}


def _gates(repo: Path, name: str, *gates: str, registers: str | None = None) -> None:
    """Experiment `name`'s gates (and the model it registers) as given."""
    edit_yaml(repo / f"experiments/{name}.yaml", lambda d: (d.update(gates=list(gates)), registers and d.update(register={"model": registers})))


def _promotion_findings(repo: Path, base: str) -> list[tuple[str, str, int | None, str]]:
    return [(f.code, f.path, f.line, f.message) for f in engine.doctor(repo, options=engine.Options(since=base)).findings]


def test_a_promotion_is_held_to_the_gates_its_base_holds(repo: Path) -> None:
    """Found by an attacker: a receipt is judged by the gates its run recorded, the spec's when it
    ran. A change that weakened the spec, ran it, put the spec back and promoted the version
    passed the gate with no change to experiments/ in its diff; so did one that lowered the gate
    beside the promotion. The version's run recorded test_accuracy 0.75."""
    _gates(repo, "sales-forecast", "test_accuracy >= 0.9")
    models_helpers.reach(repo, "candidate")
    base = commit_all(repo, "the bar: 0.9")
    _gates(repo, "sales-forecast", "test_accuracy >= 0.5")  # lowered beside the promotion
    models_helpers.reach(repo, "staging")
    commit_all(repo, "lowered and promoted")
    [(code, path, line, message)] = _promotion_findings(repo, base)
    assert (code, path, line) == ("TFC0005-E010", models_helpers.LEDGER, 2)
    assert message == (
        f"line 2 moves {models_helpers.ref(1)} to staging, but the version fails test_accuracy >= 0.9 "
        f"(experiment sales-forecast at {base}; the run recorded 0.75)"
    )
    _gates(repo, "sales-forecast", "test_accuracy >= 0.9")  # put back: the diff names no spec
    commit_all(repo, "put back")
    assert git(repo, "diff", "--name-only", base, "--", "experiments") == ""
    [(code, _p, _l, message)] = _promotion_findings(repo, base)
    assert code == "TFC0005-E010" and f"(experiment sales-forecast at {base} and now; the run recorded 0.75)" in message
    # The control: a bar the version meets, and a gate lowered without a promotion beside it.
    _gates(repo, "sales-forecast", "test_accuracy >= 0.7")
    assert _promotion_findings(repo, base) == [
        (
            "TFC0005-E010",
            models_helpers.LEDGER,
            2,
            f"line 2 moves {models_helpers.ref(1)} to staging, but the version fails test_accuracy >= 0.9 "
            f"(experiment sales-forecast at {base}; the run recorded 0.75)",
        )
    ]
    git(repo, "checkout", "-q", base, "--", models_helpers.LEDGER)
    assert _promotion_findings(repo, base) == []  # (no promotion in the change: the gate lowered alone passes)


def test_a_promotion_is_held_to_the_gates_of_the_experiments_that_register_its_model_at_the_base(repo: Path) -> None:
    """A version of a model registered from another experiment, or from one made to register it
    with weaker gates, meets the gates of one experiment that registers the model at the base;
    the version of an experiment that registers it meets that experiment's own (another's gates,
    on metrics its plugin never writes, would fail a legitimate promotion)."""

    def promoted(*specs: tuple[str, tuple[str, ...], str | None]) -> list[tuple[str, str, int | None, str]]:
        """The findings of a change that promotes version 1 to staging, the base holding `specs`
        (experiment, its gates, the model it registers)."""
        for name, gates, registers in specs:
            if not (repo / f"experiments/{name}.yaml").exists():
                shutil.copy(repo / "experiments/flowers-logreg.yaml", repo / f"experiments/{name}.yaml")
                edit_yaml(repo / f"experiments/{name}.yaml", lambda d, n=name: d.update(name=n))
            _gates(repo, name, *gates)
            edit_yaml(repo / f"experiments/{name}.yaml",
                      lambda d, r=registers: d.update(register={"model": r}) if r else d.pop("register", None))
        models_helpers.reach(repo, "candidate")
        base = commit_all(repo, "the base")
        models_helpers.reach(repo, "staging")
        found = [(c, p, line, m.replace(base, "BASE")) for c, p, line, m in _promotion_findings(repo, base)]
        git(repo, "checkout", "-q", base, "--", models_helpers.LEDGER)
        return found

    # Its own experiment registers the model: its gates alone (another's, on test_roc_auc, are not its bar).
    assert promoted(("sales-forecast", ("test_accuracy >= 0.5",), "sales-model"),
                    ("flowers-logreg", ("test_accuracy >= 0.8", "test_roc_auc >= 0.5"), "sales-model")) == []
    # Registered from an experiment that registers nothing: held to the one that does.
    [(code, _p, line, message)] = promoted(("sales-forecast", (), None))
    assert (code, line) == ("TFC0005-E010", 2)
    assert message.endswith(
        "fails test_accuracy >= 0.8 (experiment flowers-logreg at BASE; the run recorded 0.75); "
        "test_roc_auc >= 0.5 (experiment flowers-logreg at BASE; the run did not record it)"
    )
    # Two experiments register it: one's gates in full do, and when none passes, that is said.
    assert promoted(("third", ("test_accuracy >= 0.7",), "sales-model")) == []
    [(code, _p, _l, message)] = promoted(("third", ("test_accuracy >= 0.9",), "sales-model"))
    assert code == "TFC0005-E010" and message.endswith("(at BASE, one experiment's gates in full would do)"), message


def test_a_branch_forked_before_its_base_raised_a_gate_is_held_to_the_raised_one(repo: Path) -> None:
    """Found by a reviewer: the base's specs were read where the change left it (the merge base),
    so a branch forked before main raised a gate promoted below the raised one, and exit 0."""
    models_helpers.reach(repo, "candidate")
    fork = commit_all(repo, "fork point: the bar is 0.5")
    git(repo, "branch", "-q", "main", fork)
    git(repo, "checkout", "-q", "main")
    _gates(repo, "sales-forecast", "test_accuracy >= 0.9")
    commit_all(repo, "main raises the bar")
    git(repo, "checkout", "-q", "-b", "late", fork)
    models_helpers.reach(repo, "staging")
    commit_all(repo, "promoted under the old bar")
    [(code, _p, line, message)] = _promotion_findings(repo, "main")
    assert (code, line) == ("TFC0005-E010", 2)
    assert "fails test_accuracy >= 0.9 (experiment sales-forecast at main; the run recorded 0.75)" in message


def test_a_value_is_quoted_as_recorded(repo: Path) -> None:
    """A metric a hair under its gate is not said as the gate's own number (0.8999999 read as 0.9),
    and one too large for a float is reported, not a crash."""
    _gates(repo, "sales-forecast", "test_accuracy >= 0.9")
    models_helpers.reach(repo, "candidate")
    base = commit_all(repo)
    models_helpers.reach(repo, "staging")
    run_yaml = repo / "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml"
    for value, said in ((0.8999999, "recorded 0.8999999"), (10**400, "recorded an integer of 401 digits, beyond what a gate compares")):
        edit_yaml(run_yaml, lambda d, v=value: d["metrics"].update(test_accuracy=-v if v > 1 else v))
        found = [f for f in engine.doctor(repo, options=engine.Options(since=base)).findings if f.code == "TFC0005-E010"]
        assert len(found) == 1 and f"the run {said})" in found[0].message, found


def test_a_committed_local_state_is_said_in_full_and_since_runs_and_its_hint_works(repo: Path) -> None:
    """Found by an attacker: .strataml committed (a file, a symlink, or its files forced past
    .gitignore) gave no finding; as a symlink or file it stops every reader after the merge."""
    base = git(repo, "rev-parse", "HEAD")
    (repo / ".strataml").mkdir(exist_ok=True)
    (repo / ".strataml/index.json").write_text("{}\n")
    git(repo, "add", "-f", ".strataml/index.json")
    commit_all(repo, "planted")
    for options in ({}, {"since": base}):
        found = [f for f in engine.doctor(repo, use_cache=False, options=engine.Options(**options)).findings]
        assert [(f.code, f.path) for f in found] == [("TFC0001-W006", ".strataml")], found
    assert "git tracks .strataml/index.json: " in found[0].message
    hint = found[0].hint.split("`")[1]
    subprocess.run(hint, shell=True, cwd=repo / "datasets", check=True, capture_output=True)  # (from a subfolder too)
    commit_all(repo, "unplanted")
    assert codes(repo) == []
    shutil.rmtree(repo / ".strataml")
    (repo / ".strataml").symlink_to("elsewhere")
    git(repo, "add", "-f", ".strataml")
    commit_all(repo, "a symlink")
    assert [f.code for f in engine.doctor(repo, use_cache=False).findings] == ["TFC0001-W006"]
    (repo / ".strataml").unlink()
    git(repo, "rm", "-q", "--cached", ".strataml")
    (repo / ".STRATAML").mkdir()
    (repo / ".STRATAML/cache").write_text("x\n")  # (a checkout that folds case writes it into .strataml/)
    git(repo, "add", "-f", ".STRATAML/cache")
    base = commit_all(repo, "in capitals")
    assert [(f.code, f.message[:30]) for f in engine.doctor(repo).findings] == [("TFC0001-W006", "git tracks .STRATAML/cache: .s")]
    # --since saw only `.strataml` as spelt (found in a contract audit), and the hint named a path
    # git does not track: `git rm :/.strataml` matched nothing.
    git(repo, "rm", "-rq", ".STRATAML")
    base = commit_all(repo, "out again")
    (repo / ".Strataml").write_text("junk\n")
    git(repo, "add", "-f", ".Strataml")
    commit_all(repo, "a file, in another case")
    found = [f for f in engine.doctor(repo, use_cache=False, options=engine.Options(since=base)).findings]
    assert [(f.code, f.path) for f in found] == [("TFC0001-W006", ".strataml")], found
    subprocess.run(found[0].hint.split("`")[1], shell=True, cwd=repo, check=True, capture_output=True)
    (repo / ".Strataml").unlink()  # (.gitignore's .strataml/ does not hide it on a case-sensitive disk)
    commit_all(repo, "out")
    assert codes(repo) == []


def test_git_s_pathspec_settings_in_the_environment_change_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: under GIT_LITERAL_PATHSPECS=1 git took `:(literal,icase).strataml` as a
    file of that name, and a committed .strataml passed --since."""
    base = git(repo, "rev-parse", "HEAD")
    (repo / ".strataml").mkdir(exist_ok=True)
    (repo / ".strataml/index.json").write_text("{}\n")
    git(repo, "add", "-f", ".strataml/index.json")
    commit_all(repo, "planted")
    for name in ("GIT_LITERAL_PATHSPECS", "GIT_ICASE_PATHSPECS", "GIT_NOGLOB_PATHSPECS"):
        monkeypatch.setenv(name, "1")
        found = engine.doctor(repo, use_cache=False, options=engine.Options(since=base)).findings
        assert [(f.code, f.path) for f in found] == [("TFC0001-W006", ".strataml")], (name, found)
        monkeypatch.delenv(name)


def test_outside_a_repository_git_rules_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    shutil.copytree(POSITIVE, root)
    assert codes(root) == []


# --- finding the repository ----------------------------------------------------------------------

def test_repository_is_found_as_git_finds_it(repo: Path, tmp_path: Path) -> None:
    """Read from .git without a git process; the answer must equal `git rev-parse`'s everywhere."""
    from strataml import gitfacts

    def by_git(where: Path) -> tuple[Path, Path] | None:
        proc = subprocess.run(["git", "-C", str(where), "rev-parse", "--show-toplevel", "--absolute-git-dir"],
                              capture_output=True, text=True, check=False)
        return (Path(proc.stdout.split()[0]), Path(proc.stdout.split()[1])) if proc.returncode == 0 else None

    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked))
    fake = tmp_path / "fake"
    (fake / ".git").mkdir(parents=True)  # a folder named .git that is no repository
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for where in (repo, repo / "datasets", linked, linked / "models", fake, elsewhere):
        assert gitfacts.repository(where) == by_git(where), where
    assert gitfacts.repository(linked)[1] == repo / ".git" / "worktrees" / "linked"
    assert engine.doctor(linked, options=engine.Options(since="HEAD")).exit_code == 0


def test_a_recorded_path_that_climbs_out_is_a_finding_not_a_git_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """git refuses such a path for the whole batch ("outside repository"): it must never reach git."""
    from conftest import invoke

    base = git(repo, "rev-parse", "HEAD")
    run_dir = next((repo / "runs").iterdir())
    edit_yaml(run_dir / "run.yaml", lambda d: d["artifacts"][1].update(path="models/../../../../../tmp/x"))
    commit_all(repo, "artifact climbs out")
    for options in ({}, {"since": base}):
        assert "TFC0006-E004" in codes(repo, **options), options
    for args, expected in ((["doctor"], 2), (["doctor", "--since", base], 2), (["list", "runs"], 0),
                           (["model", "register", f"run:{run_dir.name}", "--name", "other"], 2)):
        code, _out, err = invoke(repo, *args, capsys=capsys)
        assert code == expected and "outside repository" not in err, (args, err)
    assert "TFC0006-E004" in err


def test_pointer_text_on_a_path_git_lfs_does_not_route_is_not_a_verification(repo: Path, tmp_path: Path) -> None:
    """git-lfs smudges only paths .gitattributes routes to it: committed pointer text elsewhere stays that text."""
    from strataml.hashing import sha256_file

    need_lfs()
    git(repo, "lfs", "install", "--local")
    git(repo, "lfs", "track", "*.safetensors")  # LFS is in use, but not for *.csv
    src = tmp_path / "iris.csv"
    src.write_text("sepal_length,species\n" + "".join(f"{i / 10},setosa\n" for i in range(200)))
    assert run(["-C", str(repo), "dataset", "add", "iris", str(src), "--version", "2", "--license", "MIT", "--source", "t"]) == 0
    oid, size = sha256_file(src)
    (repo / "datasets/iris/2/iris.csv").write_bytes(lfs.format_pointer(oid, size))
    commit_all(repo, "iris, committed as pointer text")
    assert git(repo, "check-attr", "filter", "datasets/iris/2/iris.csv").endswith(": unspecified")
    clone = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(repo), str(clone))  # a full checkout: git-lfs leaves the text alone
    assert (clone / "datasets/iris/2/iris.csv").read_bytes() == lfs.format_pointer(oid, size)
    for root in (repo, clone):
        report = engine.doctor(root, strict=True)
        assert [(f.code, f.path) for f in report.findings] == [("TFC0006-E003", "datasets/iris/2/iris.csv")]
        assert "not route this path through Git LFS" in report.findings[0].message
        assert "git lfs track" in report.findings[0].hint and report.exit_code != 0
    # Without git facts the routing is unknown: the pointer still stands in for the content.
    assert codes(repo, use_git=False) == ["TFC0006-I010"]


def test_an_x_field_in_strataml_yaml_is_not_a_policy_change(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    edit_yaml(repo / "strataml.yaml", lambda d: d.update({"x-team": {"owner": "platform"}}))
    commit_all(repo)
    report = engine.doctor(repo, strict=True, options=engine.Options(since=base))
    assert report.findings == () and report.exit_code == 0
    edit_yaml(repo / "strataml.yaml", lambda d: d["doctor"].update(rules="0.1.0"))
    commit_all(repo)
    codes = [f.code for f in engine.doctor(repo, options=engine.Options(since=base)).findings]
    assert codes == ["TFC0001-W001"]  # the rules pin is policy: reviewed, and judged by the base's until merged


def test_a_policy_change_under_a_rules_pin_is_reviewed_too(repo: Path) -> None:
    """Found in a contract audit: with the base pinned at 0.1.0, TFC0001-W001 (since 0.2.0) was an
    info, so a pull request adding `ignore: [TFC]` passed --strict --since and, merged, switched
    off every later gate."""
    edit_yaml(repo / "strataml.yaml", lambda d: d.setdefault("doctor", {}).update(rules="0.1.0"))
    base = commit_all(repo, "pinned")
    edit_yaml(repo / "strataml.yaml", lambda d: d["doctor"].update(ignore=["TFC"]))
    commit_all(repo, "ignore everything")
    report = engine.doctor(repo, strict=True, options=engine.Options(since=base))
    assert [(f.code, f.severity) for f in report.findings] == [("TFC0001-W001", "warning")] and report.exit_code != 0


def test_a_promotion_or_signature_on_this_machine_only_is_said(repo: Path) -> None:
    """The ledger a promote appended, or a signature, left untracked: the commit lacks it, and
    every clone judges another lifecycle (TFC0006-W012, as for record metadata)."""
    models_helpers.reach(repo, "candidate")
    ledger = "models/sales-model/lifecycle.jsonl"
    report = engine.doctor(repo, strict=True)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0006-W012", ledger)] and report.exit_code == 2
    assert "lifecycle ledger is not tracked by git" in report.findings[0].message
    git(repo, "add", ledger)
    assert codes(repo) == []
    git(repo, "commit", "-qm", "ledger")
    (repo / "models/sales-model/1/model.yaml.asc").write_text("-----BEGIN PGP SIGNATURE-----\n")
    found = [(f.code, f.path) for f in engine.doctor(repo).findings]
    assert ("TFC0006-W012", "models/sales-model/1/model.yaml.asc") in found, found


def test_a_gate_receipt_on_this_machine_only_is_said(repo: Path) -> None:
    """model.yaml committed and its gate.json ignored: `--strict` passed here, and every clone
    failed the version for a missing receipt (TFC0004-E002)."""
    receipt = "models/sales-model/1/gate.json"
    git(repo, "rm", "-q", "--cached", receipt)
    (repo / ".gitignore").write_text(".strataml/\n" + receipt + "\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignored")
    report = engine.doctor(repo, strict=True)
    assert [(f.code, f.path) for f in report.findings] == [("TFC0006-W012", receipt)] and report.exit_code == 2
    assert "gate receipt is not tracked by git" in report.findings[0].message


def test_trust_files_on_this_machine_only_are_said(repo: Path) -> None:
    """A pinned key (or the manifest, or strataml.yaml) left untracked: `doctor --strict` passed
    here, where a promotion needing two signers met its policy, and every clone failed it."""
    from strataml.schemas import schema_id

    fingerprint = "A" * 40
    (repo / "tfc/keys").mkdir(parents=True, exist_ok=True)
    (repo / f"tfc/keys/{fingerprint}.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    manifest = {"schema": schema_id("keys"), "keys": [{"fingerprint": fingerprint, "file": f"{fingerprint}.asc", "scopes": ["models"]}]}
    (repo / "tfc/keys/keys.yaml").write_text(json.dumps(manifest))

    def untracked() -> list[str]:
        return sorted(f.path for f in engine.doctor(repo).findings if f.code == "TFC0006-W012")

    assert untracked() == ["tfc/keys/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.asc", "tfc/keys/keys.yaml"]
    git(repo, "add", "tfc/keys/keys.yaml")
    [finding] = [f for f in engine.doctor(repo).findings if f.code == "TFC0006-W012"]
    assert "a pinned key is not tracked by git" in finding.message and finding.hint.startswith("`git add :/tfc/keys/")
    git(repo, "add", "tfc")
    git(repo, "rm", "-q", "--cached", "strataml.yaml")
    [finding] = [f for f in engine.doctor(repo).findings if f.code == "TFC0006-W012"]
    assert finding.path == "strataml.yaml" and "configuration" in finding.message
    git(repo, "add", "strataml.yaml")
    assert untracked() == []


def test_an_untracked_records_hint_adds_its_folder(repo: Path) -> None:
    run = "runs/20260101T000000Z-sales-forecast-a1b2c3"
    shutil.copytree(repo / run, repo / "runs/20260102T000000Z-sales-forecast-b1b2c3")
    edit_yaml(repo / "runs/20260102T000000Z-sales-forecast-b1b2c3/run.yaml",
              lambda d: d.update(ref="run:20260102T000000Z-sales-forecast-b1b2c3"))
    [finding] = [f for f in engine.doctor(repo).findings if f.code == "TFC0006-W012"]
    assert finding.hint.startswith("`git add :/runs/20260102T000000Z-sales-forecast-b1b2c3`"), finding.hint


def test_the_large_file_hint_routes_that_file_only_and_works_as_written(tmp_path: Path) -> None:
    """Its example, `git lfs track '*.csv'`, also routed every CSV committed before: each became
    TFC0006-E013. The hint, run verbatim, now leaves the workspace clean."""
    import shutil

    from conftest import require
    from strataml.cli.main import run

    require(shutil.which("git-lfs") is not None, "git-lfs is not installed")
    repo = tmp_path / "lab"
    assert run(["init", str(repo)]) == 0
    git(repo, "init", "-q")
    git(repo, "lfs", "install", "--local")
    (repo / "strataml.yaml").write_text((repo / "strataml.yaml").read_text().replace("10485760", "1000"))
    for name, rows in (("small", 3), ("big", 200)):
        data = tmp_path / f"{name}.csv"
        data.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(rows)))
        assert run(["-C", str(repo), "dataset", "add", name, str(data), "--version", "1", "--license", "MIT",
                    "--source", "x"]) == 0
    commit_all(repo, "data")
    (finding,) = [f for f in engine.doctor(repo).findings if f.code == "TFC0006-W011"]
    assert finding.path == "datasets/big/1/big.csv" and "'*.csv' would also route" in finding.hint
    step = finding.hint.split("`", 2)[1]
    subprocess.run(["bash", "-ec", step], cwd=repo, check=True, capture_output=True)
    commit_all(repo, "into LFS")
    assert [f.code for f in engine.doctor(repo, strict=True).findings] == []


def test_a_stray_file_committed_with_a_record_is_not_told_to_go(repo: Path) -> None:
    """TFC0006-W001's fix must be one the gate accepts: removing a file committed with a version
    changes the version (TFC0002-E010 with --since), so the hint says what to do instead."""
    (repo / FLOWERS / "notes.txt").write_text("checked by hand\n")
    commit_all(repo)
    base = git(repo, "rev-parse", "HEAD")
    (stray,) = [f for f in engine.doctor(repo).findings if f.code == "TFC0006-W001"]
    assert "TFC0002-E010 with --since" in stray.hint and "write the baseline anew on the base branch" in stray.hint
    (repo / FLOWERS / "notes.txt").unlink()
    commit_all(repo)
    assert codes(repo, since=base) == ["TFC0002-E010"]  # (the removal the old hint offered)
    (repo / "runs/20260101T000000Z-sales-forecast-a1b2c3/notes.txt").write_text("a run's stray\n")
    commit_all(repo)
    (run_stray,) = [f for f in engine.doctor(repo).findings if f.code == "TFC0006-W001" and f.path.startswith("runs/")]
    assert "TFC0003-E010" in run_stray.hint


def test_a_strataml_yaml_that_does_not_load_is_not_told_as_every_setting_changed(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    config = repo / "strataml.yaml"
    config.write_text(config.read_text() + "doctor: {severity: [\n")
    commit_all(repo)
    report = engine.doctor(repo, options=engine.Options(since=base))
    (policy,) = [f for f in report.findings if f.code == "TFC0001-W001"]
    assert "does not load as a mapping" in policy.message and "`lfs:`" not in policy.message
    assert "TFC0007-W001" not in [f.code for f in report.findings]  # (nothing shows the signing policy changed)
    assert report.exit_code == 2  # (the file's own error)


def test_a_run_outside_a_repository_says_git_s_rules_judged_nothing(repo: Path, tmp_path: Path) -> None:
    from strataml.reporters.text import summary_line

    def said(root: Path, **options: object) -> str:
        return "".join(text for text, _style in summary_line(engine.doctor(root, options=engine.Options(**options))))  # type: ignore[arg-type]

    assert "not in a git repository" not in said(repo)
    plain = tmp_path / "plain"
    shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git"))
    assert said(plain).endswith("; not in a git repository: what git tracks and LFS routes was not checked")
    assert engine.doctor(plain).stats["no_repository"] == 1
    assert "not in a git repository" not in said(plain, use_git=False)  # (--no-git: asked not to)


def test_a_finished_run_only_signed_since_is_not_judged_as_new(repo: Path) -> None:
    """TFC0003-E011 is for a run the change adds (or that was running at REF): a finished run's
    co-signature changes nothing of it (TFC-0007), and its own fix would be TFC0003-E010."""
    run_yaml = repo / "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml"
    edit_yaml(run_yaml, lambda d: d["metrics"].update(test_accuracy=0.99))
    commit_all(repo)
    base = git(repo, "rev-parse", "HEAD")
    run_yaml.with_name("run.yaml.asc").write_text("-----BEGIN PGP SIGNATURE-----\n")
    commit_all(repo)
    assert "TFC0003-E011" not in codes(repo, since=base)
    forged_run(repo)  # (the control: a run the change adds is judged)
    commit_all(repo)
    assert "TFC0003-E011" in codes(repo, since=base)


def forged_through_lfs(repo: Path) -> tuple[str, str]:
    """A forged run whose metrics/metrics.json is committed through Git LFS: (the commit before
    it, that file's path)."""
    need_lfs()
    git(repo, "lfs", "install", "--local")
    git(repo, "lfs", "track", "runs/20260102T*/metrics/*.json")
    commit_all(repo, "route new runs' metrics through LFS")
    base = git(repo, "rev-parse", "HEAD")
    forged_run(repo)
    commit_all(repo, "a forged run")
    return base, "runs/20260102T000000Z-sales-forecast-f0f0f0/metrics/metrics.json"


def test_new_run_metrics_behind_lfs_pointers_are_read_from_the_local_store(repo: Path, tmp_path: Path) -> None:
    """TFC0003-E011 in a clone that holds LFS pointers (a default CI checkout): the forged number
    is found once the object is in .git/lfs/objects; without it the gate says it could not look
    (TFC0003-W001), where before it passed in silence."""
    base, metrics = forged_through_lfs(repo)
    assert git(repo, "lfs", "ls-files", "-n") == metrics
    clone = pointer_clone(repo, tmp_path)
    assert lfs.looks_like_pointer((clone / metrics).read_bytes())
    found = engine.doctor(clone, options=engine.Options(since=base)).findings
    assert sorted(f.code for f in found) == ["TFC0003-W001", "TFC0006-I010"], found
    unchecked = next(f for f in found if f.code == "TFC0003-W001")
    assert "metrics/metrics.json is a Git LFS pointer whose content is not here" in unchecked.message
    assert "git lfs pull" in unchecked.hint
    oid = git(repo, "lfs", "ls-files", "-l").split()[0]
    obj = lfs.object_path(clone / ".git/lfs/objects", oid)
    obj.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(lfs.object_path(repo / ".git/lfs/objects", oid), obj)
    found = engine.doctor(clone, options=engine.Options(since=base)).findings
    assert [f.code for f in found] == ["TFC0003-E011"], found
    assert "test_accuracy 0.99 (file: 0.75)" in found[0].message
    obj.write_bytes(obj.read_bytes().replace(b"0.75", b"0.99"))  # a local object that is not the pinned content
    assert "TFC0003-E011" not in codes(clone, since=base)
    # Found where the integrity rule finds it: a store linked elsewhere by the user is followed;
    # a FIFO in its place is not opened to wait on (the metrics are then unchecked).
    obj.unlink()
    obj.symlink_to(lfs.object_path(repo / ".git/lfs/objects", oid))
    assert codes(clone, since=base) == ["TFC0003-E011"]
    obj.unlink()
    os.mkfifo(obj)
    assert sorted(codes(clone, since=base)) == ["TFC0003-W001", "TFC0006-I010"]


def test_lfs_objects_are_read_where_git_lfs_keeps_them(repo: Path, tmp_path: Path) -> None:
    """A linked worktree's objects are in the repository's common git dir, and `lfs.storage` moves
    them (relative to that dir): both the metrics check and the integrity rule find them there,
    where they looked in the worktree's own git dir and reported content that is not missing."""
    base, metrics = forged_through_lfs(repo)
    tree = tmp_path / "tree"
    git(repo, "worktree", "add", "-q", str(tree), env={"GIT_LFS_SKIP_SMUDGE": "1"})
    assert lfs.looks_like_pointer((tree / metrics).read_bytes())
    found = engine.doctor(tree, options=engine.Options(since=base)).findings
    assert [f.code for f in found] == ["TFC0003-E011"], found  # (no TFC0006-I010: the object was checked)
    clone = pointer_clone(repo, tmp_path)
    oid = git(repo, "lfs", "ls-files", "-l").split()[0]
    moved = lfs.object_path(clone / ".git/elsewhere/objects", oid)
    moved.parent.mkdir(parents=True)
    shutil.copy(lfs.object_path(repo / ".git/lfs/objects", oid), moved)
    assert sorted(codes(clone, since=base)) == ["TFC0003-W001", "TFC0006-I010"]
    git(clone, "config", "lfs.storage", "elsewhere")
    assert codes(clone, since=base) == ["TFC0003-E011"]
    assert git(clone, "lfs", "fsck", "--objects").startswith("Git LFS fsck OK")  # (git-lfs finds it there too)


def test_a_run_imported_from_mlflow_is_judged_by_its_series(repo: Path) -> None:
    """A new run that pins only summary/tracking.json (as `strataml import mlflow` writes it): each
    metric is its series' last point; an edit of run.yaml alone is TFC0003-E011."""
    base = git(repo, "rev-parse", "HEAD")
    unpinned_run(repo)
    folder = repo / "runs/20260102T000000Z-sales-forecast-0a0a0a"
    series = {"metrics": {"test_accuracy": [{"step": 0, "value": 0.5}, {"step": 1, "value": 0.75}],
                          "train_accuracy": [{"step": 0, "value": 0.9}]}}
    (folder / "summary").mkdir()
    raw = (json.dumps(series, indent=2, sort_keys=True) + "\n").encode()
    (folder / "summary/tracking.json").write_bytes(raw)
    pin = {"path": "summary/tracking.json", "sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}
    edit_yaml(folder / "run.yaml", lambda d: d["artifacts"].append(pin))
    commit_all(repo)
    assert codes(repo, since=base) == []
    edit_yaml(folder / "run.yaml", lambda d: d["metrics"].update(test_accuracy=0.99))
    commit_all(repo)
    found = engine.doctor(repo, options=engine.Options(since=base)).findings
    assert [f.code for f in found] == ["TFC0003-E011"], found
    assert "summary/tracking.json does not: test_accuracy 0.99 (file: 0.75)" in found[0].message


def test_a_new_run_stating_a_metric_no_file_it_wrote_holds_is_unchecked(repo: Path) -> None:
    """A plugin's metrics file is compared on the names both hold: a metric added to run.yaml that
    the file does not hold is no disagreement, and no check either (TFC0003-W001)."""
    base = git(repo, "rev-parse", "HEAD")
    forged_run(repo)
    new = repo / "runs/20260102T000000Z-sales-forecast-f0f0f0/run.yaml"
    edit_yaml(new, lambda d: d["metrics"].update(test_accuracy=0.75, test_auc=0.99))
    commit_all(repo)
    found = engine.doctor(repo, options=engine.Options(since=base)).findings
    assert [f.code for f in found] == ["TFC0003-W001"], found
    assert found[0].message.endswith("test_auc is in none of its metrics/metrics.json"), found[0].message


NEW_RUN = "runs/20260102T000000Z-sales-forecast-f0f0f0"


def _repin(run_dir: Path, rel: str) -> None:
    """The run's pin of `rel` made what the file now holds (as a forger re-pins it)."""
    raw = (run_dir / rel).read_bytes()
    pin = {"path": rel, "sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}
    edit_yaml(run_dir / "run.yaml", lambda d: d.update(
        artifacts=sorted([a for a in d["artifacts"] if a["path"] != rel] + [pin], key=lambda a: a["path"])))


@pytest.mark.parametrize("how", ["symlink", "big", "not-json"])
def test_a_metric_file_the_check_cannot_read_is_said_never_passed(repo: Path, how: str) -> None:
    """Found by an attacker: a metrics file linked inside the run folder (the integrity rule follows
    such a link) or padded past the loader's 4 MiB passed the gate with a hand-edited metric and no
    finding at all. Every file the check cannot read is TFC0003-W001 now, saying why."""
    base = git(repo, "rev-parse", "HEAD")
    forged_run(repo)
    run_dir, rel = repo / NEW_RUN, "metrics/metrics.json"
    if how == "symlink":
        (run_dir / rel).rename(run_dir / "metrics/real.json")
        (run_dir / rel).symlink_to("real.json")
        _repin(run_dir, "metrics/real.json")
    elif how == "big":
        (run_dir / rel).write_bytes((run_dir / rel).read_bytes() + b" " * (4 * 1024 * 1024))
        _repin(run_dir, rel)
    else:
        (run_dir / rel).write_text('{"test_accuracy": 0.99,,}')
        _repin(run_dir, rel)
    commit_all(repo)
    found = [f for f in engine.doctor(repo, options=engine.Options(since=base)).findings if f.code.startswith("TFC0003")]
    assert [f.code for f in found] == ["TFC0003-W001"], found
    said = {"symlink": "is a symbolic link", "big": "is larger than 4 MiB", "not-json": "does not hold its metrics"}
    assert f"its metrics/metrics.json {said[how]}" in found[0].message, found[0].message


def test_a_series_is_judged_by_its_highest_step_not_its_last_line(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    unpinned_run(repo)
    folder = repo / "runs/20260102T000000Z-sales-forecast-0a0a0a"
    (folder / "summary").mkdir()
    points = {"test_accuracy": [{"step": 9, "value": 0.75}, {"step": 0, "value": 0.99}],
              "train_accuracy": [{"step": 0, "value": 0.9}]}
    (folder / "summary/tracking.json").write_text(json.dumps({"metrics": points}))
    _repin(folder, "summary/tracking.json")
    edit_yaml(folder / "run.yaml", lambda d: d["metrics"].update(test_accuracy=0.99))
    commit_all(repo)
    assert codes(repo, since=base) == ["TFC0003-E011"]


def test_a_run_that_drops_its_metrics_disagrees_with_its_summary(repo: Path) -> None:
    """`metrics: {}` over a summary that holds metrics is an edit as much as a changed number."""
    base = git(repo, "rev-parse", "HEAD")
    forged_run(repo)
    run_dir = repo / NEW_RUN
    (run_dir / "summary").mkdir()
    (run_dir / "summary/run_summary.json").write_text(json.dumps({"metrics": {"test_accuracy": 0.75}}))
    _repin(run_dir, "summary/run_summary.json")
    edit_yaml(run_dir / "run.yaml", lambda d: d.update(metrics={}))
    commit_all(repo)
    assert codes(repo, since=base) == ["TFC0003-E011"]


def test_registering_a_run_whose_metrics_no_file_backs_says_the_receipt_rests_on_run_yaml(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`model register` makes the gate receipt from run.yaml's metrics: of a run whose metrics no
    file it wrote backs (what TFC0003-W001 fails the gate on), it says so, and JSON carries why."""
    unpinned_run(repo)
    ref = "run:20260102T000000Z-sales-forecast-0a0a0a"
    capsys.readouterr()
    assert run(["-C", str(repo), "model", "register", ref, "--name", "unbacked"]) == 0
    said = capsys.readouterr().err
    assert "warning: the gate receipt is made from run.yaml's metrics, which were not checked" in said, said
    assert "it pins none of the files its metrics are written into" in said
    forged_run(repo)
    edit_yaml(repo / NEW_RUN / "run.yaml", lambda d: d["metrics"].update(test_accuracy=0.75))  # (as its file says)
    assert run(["-C", str(repo), "model", "register", f"run:{NEW_RUN.split('/')[1]}", "--name", "backed",
                "--format", "json"]) == 0
    done = capsys.readouterr()
    assert json.loads(done.out)["metrics_unchecked"] is None and "warning" not in done.err


@pytest.mark.parametrize("broken", [b"", b"- a list\n"], ids=["empty", "list"])
def test_registering_a_run_whose_record_is_broken_names_the_doctor_finding(
    repo: Path, broken: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "has status None": the run's own finding says what is wrong."""
    forged_run(repo)
    (repo / NEW_RUN / "run.yaml").write_bytes(broken)
    capsys.readouterr()
    assert run(["-C", str(repo), "model", "register", f"run:{NEW_RUN.split('/')[1]}", "--name", "q"]) == 2
    said = capsys.readouterr().err
    assert "has doctor errors, so it cannot be registered: TFC0003-E001" in said and "status" not in said, said
    assert not (repo / "models/q").exists()


def test_a_model_version_spelled_like_an_existing_one_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--version 01 beside 1 registered both, two folders "the latest version" takes for one."""
    forged_run(repo)
    edit_yaml(repo / NEW_RUN / "run.yaml", lambda d: d["metrics"].update(test_accuracy=0.75))
    capsys.readouterr()
    assert run(["-C", str(repo), "model", "register", f"run:{NEW_RUN.split('/')[1]}", "--name", "sales-model",
                "--version", "01"]) == 2
    said = capsys.readouterr().err
    assert "model:sales-model@01 would sit beside model:sales-model@1, the same version spelled otherwise" in said
    assert "omit it for the next one (2)" in said and not (repo / "models/sales-model/01").exists()
    # Only version folders count: not the ledger beside them, nor a folder no version can be.
    (repo / "models/sales-model/\u00b2").mkdir()
    (repo / "models/sales-model/lifecycle.jsonl").write_text("")
    assert run(["-C", str(repo), "model", "register", f"run:{NEW_RUN.split('/')[1]}", "--name", "sales-model",
                "--version", "lifecycle-jsonl"]) == 0, capsys.readouterr().err


def test_a_new_run_whose_schema_is_not_text_fails_the_gate(repo: Path) -> None:
    """`schema: 1` switched off every check of the run, TFC0003-E011 included: a forged metric
    passed `doctor --strict --since`."""
    base = git(repo, "rev-parse", "HEAD")
    forged_run(repo)
    commit_all(repo)
    assert codes(repo, since=base) == ["TFC0003-E011"]
    edit_yaml(repo / NEW_RUN / "run.yaml", lambda d: d.update(schema=1))
    commit_all(repo)
    assert "TFC0001-E007" in codes(repo, since=base)
    assert run(["-C", str(repo), "doctor", "--strict", "--since", base]) == 2


def test_a_model_registered_by_hand_meets_the_bar_its_served_versions_met(repo: Path) -> None:
    """Found by an attacker: a model no spec registers (registered with `model register --name`)
    had no bar at the base, so a version of any other experiment, with no gates, replaced the
    one in production. It meets the gates of the experiments whose versions the base served."""
    edit_yaml(repo / "experiments/sales-forecast.yaml", lambda d: d.pop("register"))  # (registered by hand)
    _gates(repo, "sales-forecast", "test_accuracy >= 0.7")
    models_helpers.reach(repo, "staging")  # version 1 (test_accuracy 0.75) served
    base = commit_all(repo, "sales-model@1 in staging, registered by hand")
    # Version 2: the same numbers, from a run of flowers-logreg (no gates, registers nothing).
    run = "runs/20260101T000000Z-sales-forecast-a1b2c3"
    other = "runs/20260102T000000Z-flowers-logreg-0b0b0b"
    shutil.copytree(repo / run, repo / other)
    edit_yaml(repo / other / "run.yaml", lambda d: d.update(ref=f"run:{other[5:]}", experiment="experiment:flowers-logreg",
                                                            created_at="2026-01-02T00:00:00Z", started_at="2026-01-02T00:00:01Z",
                                                            ended_at="2026-01-02T00:00:09Z"))
    models_helpers.add_version(repo, 2)
    models_helpers.edit_gate(repo, 2, lambda g: g.update(run=f"run:{other[5:]}"))
    edit_yaml(repo / "models/sales-model/2/model.yaml", lambda d: d.update(produced_by=f"run:{other[5:]}"))

    def e010(metric: float) -> list[str]:
        for path in (repo / other / "metrics/metrics.json", repo / other / "run.yaml"):
            path.write_text(path.read_text().replace("0.75", str(metric)).replace("0.65", str(metric)))
        models_helpers.write_ledger(repo, [(models_helpers.ref(1), "candidate"), (models_helpers.ref(1), "staging"),
                                           (models_helpers.ref(2), "candidate"), (models_helpers.ref(2), "staging")])
        commit_all(repo, f"version 2 at {metric} in staging")
        return [f.message for f in engine.doctor(repo, options=engine.Options(since=base)).findings if f.code == "TFC0005-E010"]

    assert e010(0.75) == []
    [message] = e010(0.65)
    assert message.endswith(f"fails test_accuracy >= 0.7 (experiment sales-forecast at {base}; the run recorded 0.65)"), message


def test_a_base_name_two_refs_answer_to_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by an attacker: a tag named `origin/main` is what git takes for `--since origin/main`
    (its warning was never shown), so whoever could push a tag chose the base a change is judged
    against, and the gate passed a change it failed against the real base."""
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "update-ref", "refs/remotes/origin/main", base)
    edit_yaml(repo / FLOWERS / "dataset.yaml", lambda d: d.update(description="rewritten"))
    head = commit_all(repo, "a committed version changed")
    assert "TFC0002-E010" in codes(repo, since="origin/main")
    git(repo, "tag", "origin/main", head)
    assert run(["-C", str(repo), "doctor", "--strict", "--since", "origin/main"]) == 3
    err = capsys.readouterr().err
    assert "the name is ambiguous: refs/tags/origin/main and refs/remotes/origin/main answer to it" in err, err
    assert "name the base in full (refs/remotes/origin/main, if that is the one)" in err
    assert "TFC0002-E010" in codes(repo, since="refs/remotes/origin/main")
    git(repo, "tag", "-d", "origin/main")
    git(repo, "tag", "origin/main", base)  # (the same commit: one meaning, nothing refused)
    assert "TFC0002-E010" in codes(repo, since="origin/main")
    # A tag named like the base's short commit id: git takes the tag, not the commit.
    short = base[:10]
    git(repo, "tag", short, head)
    assert run(["-C", str(repo), "doctor", "--strict", "--since", short]) == 3
    assert f"refs/tags/{short} is named like the short commit id, and git takes the ref" in capsys.readouterr().err
    assert "TFC0002-E010" in codes(repo, since=base)  # (the full id: one meaning)


def test_a_recorded_symlink_git_does_not_track_is_said_as_a_file_is(repo: Path) -> None:
    """Found by an audit: a recorded file that is a symlink (it stands for the file it leads to,
    TFC-0006 §1) and that git does not track had no TFC0006-W014, where a regular file has one:
    the gate passed a commit every clone of which lacks the file (TFC0006-E001 there)."""
    from test_rules_golden import redigest

    (repo / FLOWERS / "link.csv").symlink_to("flowers.csv")
    edit_yaml(repo / FLOWERS / "dataset.yaml", lambda d: d["files"].append({**d["files"][0], "path": "link.csv"}))
    redigest(repo, FLOWERS)
    git(repo, "add", f"{FLOWERS}/dataset.yaml")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "records a link, not added")
    found = [(f.code, f.path) for f in engine.doctor(repo, strict=True).findings]
    assert ("TFC0006-W014", f"{FLOWERS}/link.csv") in found, found


def test_lfs_routing_of_strataml_s_own_files_is_judged_by_what_they_are(repo: Path) -> None:
    """Found by a review of the E013 clause for StrataML's own files: a gate receipt (read as
    JSON like the metadata) routed through LFS had no finding; a data file a record pins that
    merely ends in .sig was called a signature."""
    from test_rules_golden import redigest

    (repo / FLOWERS / "image.sig").write_bytes(os.urandom(300))
    edit_yaml(repo / FLOWERS / "dataset.yaml", lambda d: d["files"].append({**d["files"][0], "path": "image.sig"}))
    redigest(repo, FLOWERS)
    (repo / ".gitattributes").write_text("gate.json filter=lfs diff=lfs merge=lfs -text\n*.sig filter=lfs diff=lfs merge=lfs -text\n")
    commit_all(repo, "routes receipts and .sig files")
    found = {(f.code, f.path): f.message for f in engine.doctor(repo).findings if f.code == "TFC0006-E013"}
    assert "StrataML's own" in found[("TFC0006-E013", "models/sales-model/1/gate.json")]
    assert "StrataML's own" not in found.get(("TFC0006-E013", f"{FLOWERS}/image.sig"), "")  # (data)
