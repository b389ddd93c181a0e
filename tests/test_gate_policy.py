"""A pull request is judged by the base's policy: it cannot relax the gate that judges it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import models_helpers
from conftest import ROOT, edit_yaml
from strataml.cli.main import run
from test_git_rules import BLOB, commit_all, git, repo, repo_with_ledger  # noqa: F401 (fixtures)

pytestmark = pytest.mark.timeout(120)


def doctor_json(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    code = run(["-C", str(root), "doctor", "--strict", "--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)["findings"] if out.strip() else []


def by_code(findings: list[dict]) -> dict[str, dict]:
    return {f["code"]: f for f in findings}


@pytest.mark.parametrize(
    "relax",
    [
        pytest.param(lambda d: d["doctor"].update(ignore=["TFC0005"]), id="ignore-the-contract"),
        pytest.param(lambda d: d["doctor"].update(ignore=["TFC"]), id="ignore-everything"),
        pytest.param(lambda d: d["doctor"].update(severity={"TFC0005-E006": "off"}), id="severity-off"),
        pytest.param(lambda d: d["doctor"].update(severity={"TFC0005-E006": "info"}), id="severity-info"),
    ],
)
def test_a_pull_request_cannot_switch_off_the_rule_it_breaks(
    repo_with_ledger: Path, capsys: pytest.CaptureFixture[str], relax
) -> None:
    base = git(repo_with_ledger, "rev-parse", "HEAD")
    models_helpers.write_ledger(repo_with_ledger, [(models_helpers.ref(1), "rejected")])  # history rewritten
    edit_yaml(repo_with_ledger / "strataml.yaml", relax)
    commit_all(repo_with_ledger, "rewrite the ledger and look away")

    code, findings = doctor_json(repo_with_ledger, capsys, "--since", base)
    found = by_code(findings)
    assert code == 2
    assert found["TFC0005-E006"]["severity"] == "error"
    assert found["TFC0001-W001"]["path"] == "strataml.yaml"
    assert "`doctor:`" in found["TFC0001-W001"]["message"]
    # Without --since the workspace's own policy applies (it is the base for the next PR).
    assert run(["-C", str(repo_with_ledger), "doctor", "--strict"]) in (0, 1, 2)


def test_a_policy_change_alone_stops_strict_until_the_base_carries_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = git(repo, "rev-parse", "HEAD")
    edit_yaml(repo / "strataml.yaml", lambda d: d["doctor"].update(ignore=["TFC0002-W001"]))
    merged = commit_all(repo, "policy")
    code, findings = doctor_json(repo, capsys, "--since", base)
    assert (code, [f["code"] for f in findings]) == (2, ["TFC0001-W001"])
    # Once merged, the next pull request is judged by the new policy: a dataset without provenance
    # (TFC0002-W001, now ignored) passes, where the old policy would have stopped it.
    shutil.copytree(repo / "datasets/flowers/1", repo / "datasets/flowers/2")
    edit_yaml(repo / "datasets/flowers/2/dataset.yaml", lambda d: (d.pop("license"), d.update(ref="dataset:flowers@2")))
    commit_all(repo, "a dataset without a licence")
    assert doctor_json(repo, capsys, "--since", merged) == (0, [])
    git(repo, "checkout", "-q", base, "--", "strataml.yaml")  # the control: the old policy flags it
    assert "TFC0002-W001" in [f["code"] for f in doctor_json(repo, capsys)[1]]


def test_raising_the_lfs_threshold_in_the_same_pull_request_does_not_hide_a_large_file(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_yaml(repo / "strataml.yaml", lambda d: d["lfs"].update(threshold_bytes=1000))
    base = commit_all(repo, "a strict threshold")
    src = tmp_path / "weights.bin"
    src.write_bytes(BLOB)  # 4 KiB, over the base's threshold, committed as a plain blob
    assert run(["-C", str(repo), "dataset", "add", "weights", str(src), "--version", "1",
                "--license", "MIT", "--source", "t"]) == 0
    edit_yaml(repo / "strataml.yaml", lambda d: d["lfs"].update(threshold_bytes=10_000_000))
    commit_all(repo, "big file, bigger threshold")
    capsys.readouterr()
    code, findings = doctor_json(repo, capsys, "--since", base)
    found = by_code(findings)
    assert code == 2
    assert found["TFC0006-W011"]["path"] == "datasets/weights/1/weights.bin"
    assert "`lfs:`" in found["TFC0001-W001"]["message"]


def test_name_and_description_are_not_policy(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = git(repo, "rev-parse", "HEAD")
    edit_yaml(repo / "strataml.yaml", lambda d: d.update(description="renamed, nothing else"))
    commit_all(repo)
    assert doctor_json(repo, capsys, "--since", base) == (0, [])


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_since_is_a_usage_error_not_a_full_run(
    repo: Path, capsys: pytest.CaptureFixture[str], empty: str
) -> None:
    assert run(["-C", str(repo), "doctor", "--strict", "--since", empty]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert "--since" in captured.err and "empty" in captured.err and "Traceback" not in captured.err
    assert lines == [lines[0], "  hint: see `strataml doctor --help`"]
    assert lines[0].startswith("strataml: error: Invalid value for '--since': needs a git revision")


# --- what a pull request tried as an attacker, caught -------------------------------------


def codes_since(root: Path, base: str) -> list[tuple[str, str]]:
    from strataml.doctor import engine

    report = engine.doctor(root, options=engine.Options(since=base))
    return [(f.code, f.path) for f in report.findings]


def test_a_version_named_like_a_file_is_still_immutable(repo: Path, tmp_path: Path) -> None:
    src = tmp_path / "d.csv"
    src.write_text("a,b\n1,2\n")
    assert run(["-C", str(repo), "dataset", "add", "more", str(src), "--version", "2.yaml",
                "--license", "MIT", "--source", "t"]) == 0
    base = commit_all(repo, "a version called 2.yaml")
    edit_yaml(repo / "datasets/more/2.yaml/dataset.yaml", lambda d: d.update(description="rewritten"))
    commit_all(repo, "edit it")
    assert ("TFC0002-E010", "datasets/more/2.yaml") in codes_since(repo, base)


def test_a_ledger_only_move_to_production_is_judged_by_the_signing_policy(repo: Path) -> None:
    from conftest import require
    import gpgkeys

    require(gpgkeys.available(), "gpg is not installed")
    edit_yaml(repo / "strataml.yaml", lambda d: d.update(
        signing={"require": [{"records": "models", "state": "production", "scope": "production"}]}))
    models_helpers.reach(repo, "staging")
    base = commit_all(repo, "policy, and a model in staging")
    models_helpers.reach(repo, "production")  # the ledger grows by one line; nothing else changes
    commit_all(repo, "to production, unsigned")
    found = codes_since(repo, base)
    assert ("TFC0007-E001", "models/sales-model/1/model.yaml") in found
    assert not any(code == "TFC0005-E006" for code, _ in found)  # it is a legal append


@pytest.mark.parametrize(
    ("rule_state", "through"),
    [("production", "archived"),  # through production and on: the policy's state is left at once
     ("staging", "production")],  # a policy on staging only, and a change that goes on to production
)
def test_a_move_the_change_makes_through_a_signed_state_needs_the_signature(
    repo: Path, capsys: pytest.CaptureFixture[str], rule_state: str, through: str
) -> None:
    """TFC-0005: moving to staging or production needs any signature the policy requires. Only
    the version's state at the end was judged, so a change that moved an unsigned version
    through the policy's state, and on, passed the gate."""
    from conftest import require
    import gpgkeys

    require(gpgkeys.available(), "gpg is not installed")
    edit_yaml(repo / "strataml.yaml", lambda d: d.update(
        signing={"require": [{"records": "models", "state": rule_state, "scope": "production"}]}))
    models_helpers.reach(repo, "candidate")
    base = commit_all(repo, "policy, and a model that is a candidate")
    models_helpers.reach(repo, through)
    commit_all(repo, f"to {through}, unsigned")
    code, findings = doctor_json(repo, capsys, "--strict", "--since", base)
    missing = [f for f in findings if f["code"] == "TFC0007-E001"]
    assert code == 2 and [f["path"] for f in missing] == ["models/sales-model/1/model.yaml"], findings
    assert f"this change moves it to {rule_state}" in missing[0]["message"]
    # A full run judges the state the version is in (the policy may have come after its moves).
    assert not any(f["code"] == "TFC0007-E001" for f in doctor_json(repo, capsys, "--strict")[1])


def test_a_data_file_named_like_the_signature_does_not_count_as_one(repo: Path, tmp_path: Path) -> None:
    from conftest import require
    import gpgkeys
    from strataml.hashing import dataset_digest

    require(gpgkeys.available(), "gpg is not installed")
    src = tmp_path / "dataset.yaml.asc"
    src.write_text("a,b\n1,2\n")
    # dataset add runs the doctor on what it stages: it refuses, and publishes nothing.
    assert run(["-C", str(repo), "dataset", "add", "evil", str(src), "--version", "1",
                "--license", "MIT", "--source", "t"]) == 2
    assert not (repo / "datasets/evil").exists()
    # Made by hand, the record is still caught, and the policy still sees no signature.
    ok = tmp_path / "x.csv"
    ok.write_text("a,b\n1,2\n")
    assert run(["-C", str(repo), "dataset", "add", "evil", str(ok), "--version", "1",
                "--license", "MIT", "--source", "t"]) == 0
    folder = repo / "datasets/evil/1"
    (folder / "x.csv").rename(folder / "dataset.yaml.asc")

    def rename(d: dict) -> None:
        d["files"][0]["path"] = "dataset.yaml.asc"
        d["digest"] = dataset_digest((f["path"], f["sha256"]) for f in d["files"])

    edit_yaml(folder / "dataset.yaml", rename)
    edit_yaml(repo / "strataml.yaml", lambda d: d.update(
        signing={"require": [{"records": "datasets", "scope": "datasets"}]}))
    from strataml.doctor import engine

    found = {(f.code, f.path) for f in engine.doctor(repo).findings}
    assert ("TFC0007-E001", "datasets/evil/1/dataset.yaml") in found
    assert ("TFC0008-E004", "datasets/evil/1/dataset.yaml") in found


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_a_stray_where_a_version_belongs_is_seen_by_since(repo: Path, kind: str) -> None:
    base = git(repo, "rev-parse", "HEAD")
    stray = repo / "datasets/flowers/9"
    if kind == "file":
        stray.write_text("x\n")
    else:
        stray.symlink_to("1")
    commit_all(repo, "a stray")
    found = codes_since(repo, base)
    assert any(path == "datasets/flowers/9" for _code, path in found), found


def test_a_gitattributes_change_checks_every_record_from_a_fresh_clone(repo: Path, tmp_path: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    (repo / ".gitattributes").write_text("*.csv text eol=crlf\n")  # no CSV is named in the diff
    commit_all(repo, "line endings")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    found = codes_since(clone, base)
    assert (".gitattributes" in {p for c, p in found if c == "TFC0006-W013"}), found
    assert any(code in ("TFC0006-E002", "TFC0006-E003") and path.endswith(".csv") for code, path in found), found


def test_attributes_that_make_the_config_unreadable_do_not_lift_the_base_policy(repo: Path, tmp_path: Path) -> None:
    edit_yaml(repo / "strataml.yaml", lambda d: d["lfs"].update(threshold_bytes=1000))
    base = commit_all(repo, "a strict threshold")
    src = tmp_path / "weights.bin"
    src.write_bytes(BLOB)
    assert run(["-C", str(repo), "dataset", "add", "weights", str(src), "--version", "1",
                "--license", "MIT", "--source", "t"]) == 0
    (repo / ".gitattributes").write_text("strataml.yaml working-tree-encoding=UTF-16LE\n")
    commit_all(repo, "a big file, and a config checked out as UTF-16")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    found = codes_since(clone, base)
    assert ("TFC0006-W011", "datasets/weights/1/weights.bin") in found, found
    assert ("TFC0006-W013", ".gitattributes") in found


def test_attributes_above_a_workspace_in_a_subfolder_count_too(tmp_path: Path) -> None:
    import shutil

    from conftest import POSITIVE

    top = tmp_path / "mono"
    shutil.copytree(POSITIVE, top / "ml" / "ws", symlinks=True)
    git(top, "init", "-q")
    base = commit_all(top, "a monorepo")
    (top / "ml" / ".gitattributes").write_text("*.csv text eol=crlf\n")
    (top / "other").mkdir()
    (top / "other" / ".gitattributes").write_text("*.txt text\n")  # not above the workspace
    commit_all(top, "attributes")
    found = codes_since(top / "ml" / "ws", base)
    assert [p for c, p in found if c == "TFC0006-W013"] == ["../.gitattributes"]


def test_attributes_and_lfs_config_in_another_case_are_reviewed_too(tmp_path: Path) -> None:
    """Found by an attacker: `tfc/.GITATTRIBUTES` (or a .LFSCONFIG at a monorepo's top) passed the
    gate; git lists changes case by case, and a checkout that folds case reads them as the
    lower-case files. Pinned at 0.1.0, the layout-name error (TFC0001-E011) is kept too."""
    import shutil

    from conftest import POSITIVE
    from strataml.doctor import engine

    top = tmp_path / "mono"
    shutil.copytree(POSITIVE, top / "ml" / "ws", symlinks=True)
    git(top, "init", "-q")
    base = commit_all(top, "a monorepo")
    (top / "ml/ws/tfc").mkdir(exist_ok=True)
    (top / "ml/ws/tfc/.GITATTRIBUTES").write_text("*.csv text eol=crlf\n")
    (top / ".LFSCONFIG").write_text("[lfs]\n\turl = https://lfs.example.net/x\n")
    commit_all(top, "attributes and an LFS server, in capitals")
    found = codes_since(top / "ml" / "ws", base)
    assert ("TFC0006-W013", "tfc/.GITATTRIBUTES") in found and ("TFC0006-W015", "../../.LFSCONFIG") in found, found
    # Folded as macOS and Windows fold names (a review: the dotless i, an ignorable code point);
    # an LFS config below the top, which git-lfs never reads, is nothing.
    (top / ".g\u0131tattributes").write_text("*.csv -filter\n")
    (top / "ml/.git\u200cattributes").write_text("*.csv -filter\n")
    (top / "ml/ws/tfc/.lfsconfig").write_text("[lfs]\n\turl = https://lfs.example.net/y\n")
    (top / "other").mkdir()
    (top / "other/.g\u0131tattributes").write_text("*.csv -filter\n")  # (not above the workspace)
    newer = commit_all(top, "attributes spelt as macOS and Windows read them")
    found = codes_since(top / "ml" / "ws", newer + "~1")
    assert sorted(p for c, p in found if c in ("TFC0006-W013", "TFC0006-W015")) == [
        "../../.g\u0131tattributes", "../.git\u200cattributes"], found
    ws = top / "ml/ws"
    (ws / "STRATAML.yaml").write_text((ws / "strataml.yaml").read_text())
    edit_yaml(ws / "strataml.yaml", lambda d: d.setdefault("doctor", {}).update(rules="0.1.0"))
    report = engine.doctor(ws, strict=True)
    assert ("TFC0001-E011", "error") in [(f.code, f.severity) for f in report.findings] and report.exit_code == 2


@pytest.mark.parametrize("template", ["strataml.yml", "strataml-shards.yml"])
def test_the_workflows_push_step_judges_the_history_a_push_rewrote(repo: Path, tmp_path: Path, template: str) -> None:
    """A push to main that cut a ledger passed CI: its only check read no history (the shards
    template had no such step at all). The step each template ships, run as a runner runs it,
    against a real repository."""
    import os
    import subprocess
    import sys

    import yaml

    flow = yaml.safe_load((ROOT / "strataml/templates/github" / template).read_text())
    (step,) = [s for job in flow["jobs"].values() for s in job["steps"] if '--since "$BEFORE"' in s.get("run", "")]
    (job,) = [j for j in flow["jobs"].values() if step in j["steps"]]
    assert "if" not in job  # (a job for pull requests only never saw a push)
    assert step["if"] == (
        "${{ !cancelled() && steps.install.outcome == 'success' && github.event_name == 'push' && startsWith(github.ref, 'refs/heads/') }}"
    )
    assert step["env"]["BEFORE"] == "${{ github.event.before }}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "strataml").write_text(f"#!/bin/sh\nexec {sys.executable} -m strataml \"$@\"\n")
    (bin_dir / "strataml").chmod(0o755)

    def push_step(before: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BEFORE": before, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True)

    start = git(repo, "rev-parse", "HEAD")
    models_helpers.reach(repo, "production")
    commit_all(repo, "promoted")
    before = git(repo, "rev-parse", "HEAD")
    ledger = repo / "models/sales-model/lifecycle.jsonl"
    ledger.write_text("".join(ledger.read_text().splitlines(keepends=True)[:1]))
    commit_all(repo, "the ledger cut")
    cut = push_step(before)
    assert cut.returncode == 2 and "TFC0005-E006" in cut.stdout, cut.stdout + cut.stderr
    assert push_step("0" * 40).returncode == 0  # a new branch: nothing to judge its history against
    lost = push_step("f" * 40)  # an old tip neither here nor fetchable (no remote)
    assert lost.returncode == 1 and "could not be read or fetched" in lost.stdout
    # A force push whose old tip is still here (another ref holds it): judged from the common
    # ancestor, the promotion it erased would never be seen. It fails instead.
    git(repo, "tag", "old-tip", before)
    git(repo, "reset", "-q", "--hard", start)
    (repo / "notes.md").write_text("an unrelated change\n")
    commit_all(repo, "rewritten")
    forced = push_step(before)
    assert forced.returncode == 1 and "not an ancestor of the new tip (a force push)" in forced.stdout, forced.stdout


def test_the_workflows_sarif_step_cannot_be_stopped_by_a_committed_file(repo: Path, tmp_path: Path) -> None:
    """A pull request that committed `strataml.sarif` as a symlink stopped the code scanning
    upload without a word: the report was refused (nothing is written through a link), the
    step's `|| true` hid it, and the upload found no file. The report is now written outside
    the checkout, and a step that makes none fails. Run as a runner runs it."""
    import os
    import subprocess
    import sys

    import yaml

    flow = yaml.safe_load((ROOT / "strataml/templates/github/strataml.yml").read_text())
    steps = flow["jobs"]["doctor"]["steps"]
    step = next(s for s in steps if s.get("id") == "sarif")
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "${{ runner.temp }}/strataml.sarif"
    assert upload["if"] == "${{ !cancelled() && steps.sarif.outcome == 'success' }}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "strataml").write_text(f"#!/bin/sh\nexec {sys.executable} -m strataml \"$@\"\n")
    (bin_dir / "strataml").chmod(0o755)
    outside = tmp_path / "outside"
    outside.write_text("untouched\n")
    (repo / "strataml.sarif").symlink_to(outside)
    commit_all(repo, "a stand-in for the report")

    def sarif_step(runner: Path) -> subprocess.CompletedProcess[str]:
        runner.mkdir()
        env = {**os.environ, "RUNNER_TEMP": str(runner), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True)

    done = sarif_step(tmp_path / "runner")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "runner/strataml.sarif").read_text())
    assert report["runs"][0]["tool"]["driver"]["name"] == "strataml"
    assert outside.read_text() == "untouched\n"
    # A doctor that cannot run (exit 3: here, .strataml/ a symlink) makes no report: the step fails.
    shutil.rmtree(repo / ".strataml", ignore_errors=True)  # (the cache the first run wrote)
    (repo / ".strataml").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    failed = sarif_step(tmp_path / "runner2")
    assert failed.returncode != 0 and not (tmp_path / "runner2/strataml.sarif").exists(), failed.stderr
    assert not any((tmp_path / "elsewhere").iterdir())


def test_the_workflow_init_writes_gates_pull_requests_against_their_base(tmp_path: Path) -> None:
    import yaml

    assert run(["init", str(tmp_path / "lab")]) == 0
    flow = yaml.safe_load((tmp_path / "lab/.github/workflows/strataml.yml").read_text())
    steps = flow["jobs"]["doctor"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    gate = next(s for s in steps if "doctor --strict --since \"$BASE\"" in s.get("run", ""))
    assert gate["if"] == "${{ !cancelled() && steps.install.outcome == 'success' && github.event_name == 'pull_request' }}"  # (the summary may fail)
    summary = next(s for s in steps if "strataml diff" in s.get("run", ""))
    assert summary["run"] == 'strataml diff "$BASE" --format markdown >> "$GITHUB_STEP_SUMMARY"'
    assert summary["env"]["BASE"] == "${{ github.event.pull_request.base.sha }}"
    # This repository's own workflow is the template, installing the checkout.
    own = (ROOT / ".github/workflows/strataml.yml").read_text()
    template = (ROOT / "strataml/templates/github/strataml.yml").read_text()
    assert own.split("jobs:", 1)[1] == template.split("jobs:", 1)[1]
    assert gate["env"]["BASE"] == "${{ github.event.pull_request.base.sha }}"


@pytest.mark.parametrize("template", ["strataml.yml", "strataml-shards.yml"])
def test_a_workflow_installing_the_checkout_installs_the_base_commits_strataml(
    repo: Path, tmp_path: Path, template: str
) -> None:
    """With STRATAML_INSTALL "." a change must be judged by the strataml of its base: the shards
    template installed the change's own copy in every job (its shards and merge made the
    verdict), and the plain one did so whenever the base could not be read. Each gate job's
    install step, run as a runner runs it, with a pip that says what it was given."""
    import os
    import subprocess

    import yaml

    flow = yaml.safe_load((ROOT / "strataml/templates/github" / template).read_text())
    gates = {name: job for name, job in flow["jobs"].items() if name != "dashboard"}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pip").write_text('#!/bin/sh\necho "$@" > "$RUNNER_TEMP/pip-args"\n')
    (bin_dir / "pip").chmod(0o755)
    base = git(repo, "rev-parse", "HEAD")
    (repo / "notes.md").write_text("the change\n")
    commit_all(repo, "the change")
    for name, job in gates.items():
        (step,) = [s for s in job["steps"] if s.get("id") == "install"]
        assert step["env"]["BASE"] == "${{ github.event.pull_request.base.sha || github.event.before }}", name
        for given, said in ((base, "base"), ("0" * 40, "."), ("f" * 40, None)):
            runner = tmp_path / f"runner-{name}-{said}"
            runner.mkdir()
            env = {**os.environ, "BASE": given, "RUNNER_TEMP": str(runner), "STRATAML_INSTALL": ".",
                   "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
            done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True)
            if said is None:  # a base neither here nor fetchable: fails, never installs the change's copy
                assert done.returncode == 1 and "could not be read or fetched" in done.stdout, (name, done.stdout)
                assert not (runner / "pip-args").exists()
                continue
            assert done.returncode == 0, (name, done.stdout + done.stderr)
            installed = (runner / "pip-args").read_text().split()
            if said == ".":  # a new branch: no earlier tip, its pusher's own
                assert installed == ["install", "."], name
            else:
                assert installed == ["install", str(runner / "strataml-base")], name
                assert not (runner / "strataml-base/notes.md").exists()  # the base's tree, not the change's
                git(repo, "worktree", "remove", "--force", str(runner / "strataml-base"))


@pytest.mark.parametrize(
    "workflow",
    [".github/workflows/strataml.yml", "strataml/templates/github/strataml.yml",
     "strataml/templates/github/strataml-shards.yml"],
)
def test_the_workflows_checks_run_after_a_failed_check_but_not_after_a_failed_install(workflow: str) -> None:
    """After a failed install every later step that ran anyway (`!cancelled()`) only added
    "strataml: command not found" under the real error; and in the shards template a failed
    summary skipped the pull request's gate, with its annotations. Every job that installs
    strataml names that step, and a step that runs after failures runs only after it."""
    import yaml

    flow = yaml.safe_load((ROOT / workflow).read_text())
    for name, job in flow["jobs"].items():
        steps = job["steps"]
        installs = [i for i, s in enumerate(steps) if "pip install" in str(s.get("run", ""))]
        assert len(installs) == 1, name
        later = steps[installs[0] + 1:]
        forgiving = [s for s in later if "!cancelled()" in str(s.get("if", ""))]
        # (or only after a step that itself runs only when every step before it passed)
        strict = {"install"} | {s["id"] for s in later if "id" in s and "if" not in s}
        for step in forgiving:
            assert any(f"steps.{i}.outcome == 'success'" in step["if"] for i in strict), (name, step.get("name"))
        if forgiving:
            assert steps[installs[0]].get("id") == "install", name
        # A gate after the summary runs when the summary failed.
        gates = [s for s in later if "doctor --strict --since" in str(s.get("run", ""))]
        if any("strataml diff" in str(s.get("run", "")) for s in later):
            assert gates and all("!cancelled()" in str(s.get("if", "")) for s in gates), name
