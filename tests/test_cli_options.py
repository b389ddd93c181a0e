"""Options no other test drives, each through the installed console script."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, invoke, read_yaml
from strataml.cli.main import run
from strataml import lfs
from strataml.schemas import KINDS, schema_id

FLOWERS = "datasets/flowers/1/flowers.csv"


def cli(exe: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run([*exe, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def test_init_format_json_lists_every_file_it_wrote(tmp_path: Path, strataml_exe: list[str]) -> None:
    done = cli(strataml_exe, "init", "lab", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["path"] == str(tmp_path / "lab")
    written = sorted(f["path"] for f in out["files"])
    on_disk = sorted(str(p.relative_to(tmp_path / "lab")) for p in (tmp_path / "lab").rglob("*") if p.is_file())
    assert written == on_disk and {f["action"] for f in out["files"]} == {"created"}


def test_dataset_add_description_and_source_kind_are_recorded(tmp_path: Path, strataml_exe: list[str]) -> None:
    assert cli(strataml_exe, "init", str(tmp_path / "lab")).returncode == 0
    done = cli(strataml_exe, "-C", str(tmp_path / "lab"), "dataset", "add", "iris", str(ROOT / "datasets/iris/1/iris.csv"),
               "--version", "1", "--license", "CC-BY-4.0", "--source", "made by a script", "--source-kind", "generated",
               "--description", "Iris, regenerated for a test")
    assert done.returncode == 0, done.stderr
    record = read_yaml(tmp_path / "lab/datasets/iris/1/dataset.yaml")
    assert record["description"] == "Iris, regenerated for a test"
    assert record["source"] == {"kind": "generated", "note": "made by a script"}
    bad = cli(strataml_exe, "-C", str(tmp_path / "lab"), "dataset", "add", "iris", str(ROOT / "datasets/iris/1/iris.csv"),
              "--version", "2", "--source-kind", "scraped")
    assert bad.returncode == 3 and "'scraped' is not one of" in bad.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_schema_prints_every_kind(strataml_exe: list[str], kind: str) -> None:
    done = cli(strataml_exe, "schema", kind)
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["$id"].endswith(f"{kind}.schema.json")
    text = json.dumps(schema)
    assert "common.schema.json" not in text  # self-contained, for editors
    # A kind's documents say what they are: the printed schema accepts exactly that schema id.
    declared = schema["properties"]["schema"]
    if "const" in declared:
        assert declared["const"] == schema_id(kind)
    else:
        assert re.search(declared["pattern"], schema_id(kind)) and not re.search(declared["pattern"], schema_id("dataset") + "x")


def test_schema_of_an_unknown_kind_is_a_usage_error(strataml_exe: list[str]) -> None:
    done = cli(strataml_exe, "schema", "datset")
    assert done.returncode == 3 and "datset" in done.stderr and "did you mean 'dataset'?" in done.stderr


def test_a_mistyped_choice_is_told_the_one_it_resembles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Every fixed set of values (formats, states, scopes, kinds) goes through cli.choice.Choice.
    for args, meant in [
        (["schema", "Run"], "did you mean 'run'?"),
        (["doctor", "--format", "jsn"], "did you mean 'json'?"),
        (["promote", "model:m@1", "--to", "prod"], "did you mean 'production'?"),
        (["keys", "add", "k.asc", "--scope", "modles"], "did you mean 'models'?"),
        (["list", "runz"], "did you mean runs?"),
        (["report", "merg", "a.json"], "Did you mean 'merge'?"),  # (not taken as an experiment's name)
    ]:
        code, _out, err = invoke(tmp_path, *args, capsys=capsys)
        assert code == 3 and meant in err, (args, err)
    code, _out, err = invoke(tmp_path, "doctor", "--format", "zzz", capsys=capsys)
    assert code == 3 and "did you mean" not in err and "'zzz' is not one of" in err
    # An experiment whose name resembles a subcommand is still reported by its bare name.
    assert run(["init", str(tmp_path / "lab")]) == 0
    (tmp_path / "lab/experiments/merg.yaml").write_text("schema: strataml/experiment/v1\nname: merg\n", "utf-8")
    code, out, err = invoke(tmp_path / "lab", "report", "merg", capsys=capsys)
    assert code == 0 and "## experiment\\:merg" in out, err
    import strataml

    top = Path(strataml.__file__).parent
    assert not [p for p in top.rglob("*.py") if "click.Choice(" in p.read_text(encoding="utf-8")]


def test_require_content_turns_a_pointer_into_an_error(ws: Path, strataml_exe: list[str]) -> None:
    data = (ws / FLOWERS).read_bytes()
    (ws / FLOWERS).write_bytes(lfs.format_pointer(hashlib.sha256(data).hexdigest(), len(data)))
    verified = cli(strataml_exe, "-C", str(ws), "doctor", "--format", "json")
    assert verified.returncode == 0
    assert [(f["code"], f["path"]) for f in json.loads(verified.stdout)["findings"]] == [("TFC0006-I010", FLOWERS)]
    required = cli(strataml_exe, "-C", str(ws), "doctor", "--require-content", "--format", "json")
    assert required.returncode == 2
    assert [(f["code"], f["path"]) for f in json.loads(required.stdout)["findings"]] == [("TFC0006-E012", FLOWERS)]


def test_no_git_skips_what_only_git_knows(ws: Path, strataml_exe: list[str]) -> None:
    git(ws, "init", "-q")
    git(ws, "add", "strataml.yaml")
    git(ws, "commit", "-qm", "config only")
    asked = cli(strataml_exe, "-C", str(ws), "doctor", "--format", "json")
    codes = {f["code"] for f in json.loads(asked.stdout)["findings"]}
    assert asked.returncode == 1 and codes == {"TFC0006-W012"}  # metadata not tracked
    skipped = cli(strataml_exe, "-C", str(ws), "doctor", "--no-git", "--format", "json")
    assert skipped.returncode == 0 and json.loads(skipped.stdout)["findings"] == []
    # History rules still ask git: with --since, the records new since HEAD are checked, tracking is not.
    since = cli(strataml_exe, "-C", str(ws), "doctor", "--no-git", "--since", "HEAD")
    assert since.returncode == 0 and "6 records (changed since --since) checked" in since.stdout


def test_index_to_a_file_is_the_index(ws: Path, strataml_exe: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out/index.json"
    out.parent.mkdir()
    written = cli(strataml_exe, "-C", str(ws), "index", "-o", str(out))
    assert written.returncode == 0 and f"Wrote {out}" in written.stderr
    printed = cli(strataml_exe, "-C", str(ws), "index", "-o", "-")
    assert out.read_text() == printed.stdout and json.loads(printed.stdout)["schema"] == "strataml/index/v1"


def test_model_register_format_json(ws: Path, strataml_exe: list[str]) -> None:
    run = next(p.name for p in (ws / "runs").iterdir())
    again = cli(strataml_exe, "-C", str(ws), "model", "register", f"run:{run}", "--name", "sales-model", "--format", "json")
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["model"] == "model:sales-model@1" and out["created"] is False


def test_schema_help_lists_every_kind_on_a_line_of_its_own(strataml_exe: list[str]) -> None:
    done = subprocess.run([*strataml_exe, "schema", "--help"], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "80"})
    lines = [line.split() for line in done.stdout.splitlines()]
    listed = [words[0] for words in lines if len(words) >= 2 and words[0] in KINDS]
    assert listed == list(KINDS)
    assert done.stdout.splitlines()[0] == "Usage: strataml schema [OPTIONS] KIND"


@pytest.mark.parametrize("command", [("index",), ("doctor",), ("doctor", "--format", "json")])
def test_an_output_that_is_a_folder_is_named_with_the_fix(ws: Path, tmp_path: Path, capsys, command: tuple[str, ...]) -> None:
    """`-o DIR` (and `-o ''`, the current folder): one line naming what was given, and a file to give
    instead; never "not a regular file ... move it away" about the user's folder or the workspace."""
    for given in (str(tmp_path), ""):
        code, out, err = invoke(ws, *command, "-o", given, capsys=capsys)
        assert code == 3, (given, err)
        if command[0] == "doctor" and given:  # (its -o is click's file path, which says so first)
            assert f"'{given}' is a directory" in err, err
        else:
            assert f"-o {given or '.'} is a folder: it needs the name of a file to write" in err, err
            assert "hint: name a file, e.g. -o " in err, err
        assert "move it away" not in err and "Traceback" not in err
    if command == ("index",):  # a record's folder, or strataml's locks: no file is offered inside it
        for folder in ("datasets", ".strataml/locks"):
            (ws / folder).mkdir(parents=True, exist_ok=True)
            code, _out, err = invoke(ws, "index", "-o", str(ws / folder), capsys=capsys)
            assert code == 3 and f"not writing {ws / folder}" in err and "e.g. -o report.json" in err, err


def test_an_output_device_that_fails_is_named(ws: Path, capsys) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    code, _out, err = invoke(ws, "index", "-o", "/dev/full", capsys=capsys)
    assert code == 3 and "/dev/full" in err and "No space left" in err, err


def test_a_file_named_like_an_option_is_told_to_go_after_double_dash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from strataml.cli.main import run

    (tmp_path / "-dash.csv").write_text("a,b\n1,2\n")
    assert run(["init", str(tmp_path / "ws")]) == 0
    capsys.readouterr()
    assert run(["-C", str(tmp_path), "dataset", "add", "d", "-dash.csv", "--version", "1"]) == 3
    err = capsys.readouterr().err
    assert "No such option" in err and "-dash.csv is a file: put it after --, every option before" in err, err
    # As the hint says, it is then read as a file.
    assert run(["-C", str(tmp_path / "ws"), "dataset", "add", "d", "--version", "1", "--", str(tmp_path / "-dash.csv")]) == 0


def test_registrations_at_once_register_a_run_once(ws: Path, strataml_exe: list[str]) -> None:
    """Found by an attacker: registrations at once each passed "not registered yet": one run made
    three versions of one model, and versions of two models. Run one after another, the second
    is a no-op (same name) or refused (another name); at once too."""
    source = sorted(p for p in (ws / "runs").iterdir() if p.is_dir())[0]
    copy = ws / "runs" / (source.name[:-6] + "d4e5f6")
    shutil.copytree(source, copy)
    (copy / "run.yaml").write_text((copy / "run.yaml").read_text().replace(source.name, copy.name))

    def at_once(*names: str) -> list[tuple[int, str]]:
        procs = [
            subprocess.Popen([*strataml_exe, "-C", str(ws), "model", "register", f"run:{copy.name}", "--name", name],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for name in names
        ]
        return [(p.wait(timeout=120), p.stderr.read()) for p in procs]  # type: ignore[union-attr]

    assert [code for code, _err in at_once("m3", "m3", "m3")] == [0, 0, 0]
    assert [p.name for p in (ws / "models/m3").iterdir() if p.is_dir()] == ["1"]
    done = at_once("m4", "m5")
    assert sorted(code for code, _err in done) == [2, 2], done  # (m3@1 holds the run already)
    assert not (ws / "models/m4").exists() and not (ws / "models/m5").exists()


def _locks_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every lock fails as on a read-only file system (CI runs as root, which writes anyway)."""
    import errno

    from strataml import atomic

    def read_only(root: Path, rel: str) -> None:
        raise atomic.Refused(f"cannot write {rel}: {os.strerror(errno.EROFS)}", "a read-only checkout")

    monkeypatch.setattr(atomic, "locked", read_only)


def test_a_read_only_checkout_is_told_a_run_is_registered_already(
    ws: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a review: registering took its lock before anything else, so a read-only checkout
    asking about a run registered already got "cannot write .strataml/locks" (exit 3) where it
    was told "nothing changed" (exit 0), and a refusal (exit 2) read as a lock error. (The lock
    is made to fail as on a read-only file system: this runs as root in CI, which writes anyway.)"""
    from conftest import invoke

    _locks_read_only(monkeypatch)
    run = next(p.name for p in (ws / "runs").iterdir())
    code, out, err = invoke(ws, "model", "register", f"run:{run}", "--name", "sales-model", capsys=capsys)
    assert code == 0 and "nothing changed" in out + err, err
    code, _out, err = invoke(ws, "model", "register", f"run:{run}", "--name", "other", capsys=capsys)
    assert code == 2 and "already registered as model:sales-model@1" in err, err


@pytest.mark.parametrize("lock", ["writable", "read-only"])
def test_a_run_registered_under_another_spelling_of_its_ref_is_not_registered_again(
    ws: Path, capsys, monkeypatch, lock: str
) -> None:
    """The history rule finds the versions made from a run in any case (a checkout on macOS or
    Windows resolves any); register matched produced_by exactly, and made a second model of a
    run whose version spelt its ref in lower case. The check before the lock reads it the same
    way (a read-only checkout is told, not refused a lock)."""
    from conftest import edit_yaml, invoke

    if lock == "read-only":
        _locks_read_only(monkeypatch)
    run = next(p.name for p in (ws / "runs").iterdir())
    edit_yaml(ws / "models/sales-model/1/model.yaml", lambda d: d.update(produced_by=f"run:{run}".lower()))
    code, _out, err = invoke(ws, "model", "register", f"run:{run}", "--name", "other", capsys=capsys)
    assert code == 2 and "already registered as model:sales-model@1" in err, err
    assert not (ws / "models/other").exists()
    code, out, err = invoke(ws, "model", "register", f"run:{run}", "--name", "sales-model", capsys=capsys)
    assert code == 0 and "nothing changed" in out + err, err


def test_registrations_at_once_never_spell_one_version_twice(ws: Path, strataml_exe: list[str]) -> None:
    """Found by a review: the check that `01` would sit beside `1` ran before the lock only, so
    two registrations waiting on it made both (TFC0008-W001)."""
    import fcntl

    source = sorted(p for p in (ws / "runs").iterdir() if p.is_dir())[0]
    runs = []
    for tail in ("aaaaa1", "aaaaa2"):
        copy = ws / "runs" / (source.name[:-6] + tail)
        shutil.copytree(source, copy)
        (copy / "run.yaml").write_text((copy / "run.yaml").read_text().replace(source.name, copy.name))
        runs.append(copy.name)
    (ws / ".strataml/locks").mkdir(parents=True, exist_ok=True)
    with open(ws / ".strataml/locks/register.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        procs = [
            subprocess.Popen([*strataml_exe, "-C", str(ws), "model", "register", f"run:{run}", "--name", "zz",
                              "--version", version], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for run, version in zip(runs, ("01", "1"), strict=True)
        ]
        for proc in procs:  # both past their checks, waiting on the lock
            assert proc.stderr.readline().startswith("strataml: waiting for another strataml command")  # type: ignore[union-attr]
        fcntl.flock(held, fcntl.LOCK_UN)
    done = sorted((p.wait(timeout=120), p.stderr.read()) for p in procs)  # type: ignore[union-attr]
    assert [code for code, _err in done] == [0, 2], done
    assert "the same version spelled otherwise" in done[1][1]
    assert len([p for p in (ws / "models/zz").iterdir() if p.is_dir()]) == 1


def test_promote_key_without_sign_is_refused_never_ignored(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`promote ... --key FPR` moved the version and wrote no signature: its author believed the
    ledger signed until the signing policy failed the pull request."""
    ledger = next(ws.glob("models/*/lifecycle.jsonl"), None)
    before = ledger.read_bytes() if ledger else None
    model = next(p for p in (ws / "models").iterdir() if p.is_dir()).name
    for extra, said in (
        (["--key", "B" * 40], "--key only goes with --sign"),
        (["--gnupghome", str(ws)], "--gnupghome only goes with --sign"),
        (["--key", "B" * 40, "--gnupghome", str(ws)], "--key and --gnupghome only go with --sign"),
    ):
        code, _out, err = invoke(ws, "promote", f"model:{model}@1", "--to", "rejected", *extra, capsys=capsys)
        assert code == 3 and said in err, err
    assert (ledger.read_bytes() if ledger else None) == before


@pytest.mark.parametrize("args", [
    ("--list-rules", "--format", "sarif"), ("--explain", "TFC0006-W001", "--format", "github"),
    ("--shard", "1/2", "--list-files", "--format", "markdown"), ("--shard", "1/2", "--lfs-include", "--format", "json"),
])
def test_what_doctor_lists_is_text_or_json_never_a_format_ignored(
    ws: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    """A SARIF upload step got the text table (exit 0); --lfs-include --format json printed the
    comma-joined globs on stdout."""
    code, out, err = invoke(ws, "doctor", *args, capsys=capsys)
    assert code == 3 and "not --format" in err and out.strip()[:1] in ("", "{"), (out, err)


@pytest.mark.parametrize("kind", ["dataset", "model"])
def test_a_name_spelled_like_an_existing_one_is_refused_naming_it(ws: Path, capsys, kind: str) -> None:
    """`dataset add Flowers` beside datasets/flowers was refused as "dataset:Flowers@1 collides
    with another record (dataset:Flowers@1, dataset:flowers@1)" with a hint to rename files: the
    name is the problem, and the one to use is named."""
    from conftest import invoke

    if kind == "dataset":
        (ws / "new.csv").write_text("a,b\n1,2\n")
        args = ["dataset", "add", "Flowers", str(ws / "new.csv"), "--version", "9"]
        twin = "datasets/flowers"
    else:
        run = next(p.name for p in (ws / "runs").iterdir())
        args = ["model", "register", f"run:{run}", "--name", "Sales-Model"]
        twin = "models/sales-model"
    before = sorted(p.name for p in (ws / f"{kind}s").iterdir())
    code, _out, err = invoke(ws, *args, capsys=capsys)
    assert code == 2 and f"{twin} is the same name under case-folding" in err, err
    assert twin.split("/")[1] in err.split("hint:")[1]
    assert sorted(p.name for p in (ws / f"{kind}s").iterdir()) == before  # nothing written


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_a_report_written_with_o_is_said_with_its_verdict(ws: Path, tmp_path: Path, capsys, fmt: str) -> None:
    """Found by a new user: `doctor -o FILE` printed nothing at all (index and dashboard say what
    they wrote), so a person saw neither the file nor the verdict, only an exit code."""
    (ws / "datasets/flowers/1/notes.txt").write_text("x\n")
    target = tmp_path / f"report.{fmt}"
    code, out, err = invoke(ws, "doctor", "--format", fmt, "-o", str(target), capsys=capsys)
    assert code == 1 and out == "" and target.stat().st_size > 0  # (1: warnings only)
    assert err.startswith(f"Wrote {target}. WARNINGS: 0 errors, 1 warning, 0 infos;"), err
    code, out, err = invoke(ws, "doctor", "--format", fmt, "-o", "-", capsys=capsys)
    assert code == 1 and out and "Wrote" not in err  # (stdout: the report itself, as without -o)
