"""`strataml doctor --shard K/N`: N jobs check together exactly what one run checks."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from conftest import edit_yaml, invoke
from strataml import conformance
from strataml.doctor import engine, shards
from strataml.workspace import load


# A ledger entry dated ahead is reported with the time of the run ("now 2026-...Z"): two runs a
# second apart say it differently, and only that part of the message may differ.
_NOW = re.compile(r"\(now \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ;")


def findings(root: Path, shard: tuple[int, int] | None = None) -> Counter:
    report = engine.doctor(root, options=engine.Options(shard=shard))
    return Counter((f.code, f.path, f.severity, _NOW.sub("(now ...;", f.message), f.line) for f in report.findings)


def test_every_record_is_in_exactly_one_shard_and_stays_there(ws: Path) -> None:
    records = load(ws).records
    for total in (1, 2, 3, 8):
        plan = shards.plan(records, total)
        assert set(plan) == {str(r.ref) for r in records} and set(plan.values()) <= set(range(1, total + 1))
    before = shards.plan(records, 4)
    shutil.copytree(ws / "datasets/flowers/1", ws / "datasets/flowers/2")
    edit_yaml(
        ws / "datasets/flowers/2/dataset.yaml",
        lambda d: d.update(ref="dataset:flowers@2", created_at="2030-01-01T00:00:00Z"),  # made after the rest
    )
    after = shards.plan(load(ws).records, 4)
    assert {ref: after[ref] for ref in before} == before  # nothing moved because a record appeared
    assert len(after) == len(before) + 1


def test_shards_are_balanced_by_the_bytes_recorded() -> None:
    """Greedy in creation order onto the lightest shard: the largest shard holds at most the mean
    plus one record, however skewed the sizes (a few big records among many small ones)."""
    import random
    from types import SimpleNamespace

    rng = random.Random(5)
    records = []
    for i in range(2000):
        size = rng.choice([4 << 10] * 14 + [1 << 20] * 5 + [16 << 20])
        records.append(
            SimpleNamespace(
                ref=f"run:r{i:05d}",
                data={"created_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"},
                files=[SimpleNamespace(size=size)],
            )
        )
    for total in (2, 4, 8, 16):
        plan = shards.plan(records, total)
        loads = shards.planned_bytes(records, plan, total)
        mean = sum(loads) / total
        assert max(loads) <= mean + (16 << 20), (total, loads)
        assert max(loads) / mean <= 1.1, (total, max(loads) / mean)
        counts = Counter(plan.values())
        assert set(counts) == set(range(1, total + 1))
    # A record with no readable time goes last, so it moves no dated record.
    dated = shards.plan(records, 8)
    undated = SimpleNamespace(ref="run:zzz", data={"created_at": "not a time"}, files=[SimpleNamespace(size=1 << 30)])
    more = shards.plan([undated, *records], 8)
    assert {ref: more[ref] for ref in dated} == dated


@pytest.mark.slow
@pytest.mark.parametrize("total", [2, 5])
def test_the_shards_together_find_what_one_run_finds(tmp_path: Path, total: int) -> None:
    """Over the conformance suite's cases (every rule and clause, git's routing and tracking
    rules in real repositories): the multiset union of the N shards' findings is the full
    run's, exactly."""
    checked = 0
    for case in conformance.cases():
        if case.since is not None or case.require_content:
            continue  # history rules need --since, which shards do not take
        where = tmp_path / case.name
        conformance.build(case, conformance.SUITE / "base", where)
        full = findings(where)
        union: Counter = Counter()
        for k in range(1, total + 1):
            union += findings(where, (k, total))
        assert union == full, case.name
        checked += 1
    assert checked > 150


def test_shards_agree_with_the_full_run_when_git_lists_the_whole_folder(tmp_path: Path, monkeypatch) -> None:
    """A shard of many files asks git for the workspace folder's listing and keeps its own paths
    (pathspecs by the thousand cost git quadratic time): the same findings, in git repositories."""
    monkeypatch.setattr(engine, "WHOLE_LISTING", 0)
    checked = 0
    for case in conformance.cases():
        if case.commits is None or case.since is not None or case.require_content:
            continue
        where = tmp_path / case.name
        conformance.build(case, conformance.SUITE / "base", where)
        union: Counter = Counter()
        for k in (1, 2, 3):
            union += findings(where, (k, 3))
        assert union == findings(where), case.name
        checked += 1
    assert checked >= 5


def test_shard_options_on_the_command_line(ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    (ws / "datasets/flowers/1/flowers.csv").write_text("changed\n")  # one error, in one shard
    codes = []
    for k in (1, 2):
        code, out, _ = invoke(ws, "doctor", "--shard", f"{k}/2", "--format", "json", capsys=capsys)
        doc = json.loads(out)
        assert doc["stats"]["shard"] == k and doc["stats"]["shards"] == 2
        codes.append(code)
        listed = json.loads(invoke(ws, "doctor", "--shard", f"{k}/2", "--list-files", "--format", "json", capsys=capsys)[1])
        assert listed["shard"] == f"{k}/2"
    assert sorted(codes) == [0, 2]
    files = [invoke(ws, "doctor", "--shard", f"{k}/2", "--list-files", capsys=capsys)[1].split() for k in (1, 2)]
    assert not set(files[0]) & set(files[1]) and "datasets/flowers/1/flowers.csv" in files[0] + files[1]
    monkeypatch.setenv("CI_NODE_INDEX", "2")
    monkeypatch.setenv("CI_NODE_TOTAL", "2")
    code, out, _ = invoke(ws, "doctor", "--shard", "auto", "--format", "json", capsys=capsys)
    assert json.loads(out)["stats"]["shard"] == 2


@pytest.mark.parametrize("value,said", [
    ("3/2", "K must be 1 to N"), ("0/2", "K must be 1 to N"), ("x", "is not K/N"), ("1/999", "N 1 to 256"),
    ("auto", "CI_NODE_INDEX and CI_NODE_TOTAL are not set"),
])
def test_a_bad_shard_is_a_usage_error(ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch, value: str, said: str) -> None:
    monkeypatch.delenv("CI_NODE_INDEX", raising=False)
    monkeypatch.delenv("CI_NODE_TOTAL", raising=False)
    code, _out, err = invoke(ws, "doctor", "--shard", value, capsys=capsys)
    assert code == 3 and said in err and "Traceback" not in err


def test_shard_with_since_or_list_files_alone_is_refused(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(ws, "doctor", "--shard", "1/2", "--since", "HEAD", capsys=capsys)[0] == 3
    code, _out, err = invoke(ws, "doctor", "--list-files", capsys=capsys)
    assert code == 3 and "give --shard K/N" in err


@pytest.fixture
def broken_repo(ws: Path) -> Path:
    """A repository with findings in several records and one about no record."""
    from test_git_rules import commit_all, git

    (ws / "datasets/flowers/1/flowers.csv").write_text("changed\n")
    edit_yaml(ws / "datasets/sales/1/dataset.yaml", lambda d: d.pop("license"))
    (ws / "experiments/notes.txt").write_text("x\n")
    spec = ws / "experiments/flowers-logreg.yaml"
    spec.write_text(spec.read_text() + "tags: {a: x}\ntags: {b: y}\n")
    (ws / ".gitignore").write_text(".strataml/\n")
    git(ws, "init", "-q")
    commit_all(ws, "broken")
    return ws


def shard_reports(repo: Path, capsys, total: int, tmp_path: Path, *extra: str) -> list[Path]:
    out = []
    for k in range(1, total + 1):
        target = tmp_path / f"shard-{k}.json"
        code, _o, err = invoke(repo, "doctor", "--shard", f"{k}/{total}", "--format", "json", "-o", str(target), *extra, capsys=capsys)
        assert code in (0, 1, 2), err
        out.append(target)
    return out


def test_merged_shards_are_the_full_report(broken_repo: Path, capsys, tmp_path: Path) -> None:
    files = shard_reports(broken_repo, capsys, 3, tmp_path)
    full_code, full, _ = invoke(broken_repo, "doctor", "--format", "json", capsys=capsys)
    code, merged, err = invoke(broken_repo, "report", "merge", *map(str, files), "--format", "json", capsys=capsys)
    assert code == full_code == 2, err
    full_doc, merged_doc = json.loads(full), json.loads(merged)
    assert merged_doc["findings"] == full_doc["findings"] and merged_doc["summary"] == full_doc["summary"]
    assert merged_doc["stats"]["records_checked"] == full_doc["stats"]["records_checked"]
    _c, full_sarif, _ = invoke(broken_repo, "doctor", "--format", "sarif", capsys=capsys)
    _c, merged_sarif, _ = invoke(broken_repo, "report", "merge", *map(str, files), "--format", "sarif", capsys=capsys)
    assert merged_sarif == full_sarif  # byte for byte: the same findings in the same order
    _c, full_md, _ = invoke(broken_repo, "doctor", "--format", "markdown", capsys=capsys)
    _c, merged_md, _ = invoke(broken_repo, "report", "merge", *map(str, files), "--format", "markdown", capsys=capsys)
    rows = [line for line in full_md.splitlines() if line.startswith("| ")]
    assert len(rows) > 3 and rows == [line for line in merged_md.splitlines() if line.startswith("| ")]
    # --strict on the merge: warnings fail too.
    assert invoke(broken_repo, "report", "merge", *map(str, files), "--strict", capsys=capsys)[0] == 2


def test_merge_refuses_what_is_not_one_run(broken_repo: Path, capsys, tmp_path: Path) -> None:
    from test_git_rules import commit_all

    files = shard_reports(broken_repo, capsys, 3, tmp_path)
    code, _o, err = invoke(broken_repo, "report", "merge", str(files[0]), str(files[1]), capsys=capsys)
    assert code == 3 and "shard 3/3 missing" in err
    code, _o, err = invoke(broken_repo, "report", "merge", *map(str, files), str(files[0]), capsys=capsys)
    assert code == 3 and "shard 1/3 given twice" in err
    other = tmp_path / "other"
    other.mkdir()
    two = shard_reports(broken_repo, capsys, 2, other)
    code, _o, err = invoke(broken_repo, "report", "merge", str(files[0]), str(two[1]), capsys=capsys)
    assert code == 3 and "differ in shard counts" in err
    strict = tmp_path / "strict"
    strict.mkdir()
    [s1, _s2, _s3] = shard_reports(broken_repo, capsys, 3, strict, "--strict")
    code, _o, err = invoke(broken_repo, "report", "merge", str(s1), str(files[1]), str(files[2]), capsys=capsys)
    assert code == 3 and "differ in options" in err
    (broken_repo / "README.md").write_text("later\n")
    commit_all(broken_repo, "later")
    later = tmp_path / "later"
    later.mkdir()
    [l1, _l2, _l3] = shard_reports(broken_repo, capsys, 3, later)
    code, _o, err = invoke(broken_repo, "report", "merge", str(l1), str(files[1]), str(files[2]), capsys=capsys)
    assert code == 3 and "differ in commits" in err
    head = json.loads(l1.read_text())["shard"]["commit"]
    code, _o, err = invoke(broken_repo, "report", "merge", *map(str, files), "--commit", head, capsys=capsys)
    assert code == 3 and "checked commit" in err and f"not {head}" in err
    code, _o, err = invoke(broken_repo, "report", "merge", *map(str, files), "--commit", head[:7], capsys=capsys)
    assert code == 3 and f"{head[:7]} is not a full commit id: give all its hex digits, 40" in err, err
    (tmp_path / "junk.json").write_text("{}")
    code, _o, err = invoke(broken_repo, "report", "merge", str(tmp_path / "junk.json"), capsys=capsys)
    assert code == 3 and "is not a shard's report" in err and "Traceback" not in err
    # Edited reports: each says what is wrong with it, never a comparison of a file with itself.
    doc = json.loads(files[0].read_text())
    for name, change, said in (
        ("nan.json", lambda d: d["stats"].update(records=float("nan")), "holds NaN, which JSON has no number for"),
        ("findings.json", lambda d: d.update(findings="x"), "its findings are not a list"),
        ("options.json", lambda d: d["shard"].update(options=None), "its shard's options are not a mapping"),
        ("options2.json", lambda d: d["shard"].update(options={"strict": True}), "strict: false vs true"),
        # What a merge puts before every path in SARIF and GitHub annotations: a folder, never a command.
        ("folder.json", lambda d: d["shard"].update(folder="ml/\n::error::x/"), "is not a folder of a repository"),
        ("folder2.json", lambda d: d["shard"].update(folder="../"), "is not a folder of a repository"),
        ("folder3.json", lambda d: d["shard"].update(folder="ml/"), 'workspace folders ("" vs "ml/")'),
    ):
        edited = json.loads(json.dumps(doc))
        change(edited)
        (tmp_path / name).write_text(json.dumps(edited))
        code, _o, err = invoke(broken_repo, "report", "merge", str(tmp_path / name), str(files[1]), str(files[2]),
                               capsys=capsys)
        assert code == 3 and said in err and "Traceback" not in err, (name, err)
        assert "{'" not in err, err  # JSON, not a Python repr


def test_init_ci_shards_writes_a_matrix_whose_commands_work(tmp_path: Path, capsys) -> None:
    import os
    import re
    import subprocess
    import sys

    import yaml

    from strataml.cli.main import run

    assert run(["init", str(tmp_path / "lab"), "--ci-shards", "3"]) == 0
    lab = tmp_path / "lab"
    text = (lab / ".github/workflows/strataml.yml").read_text()
    flow = yaml.safe_load(text)
    assert flow["jobs"]["shard"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert flow["jobs"]["shard"]["strategy"]["fail-fast"] is False
    assert flow["jobs"]["merge"]["needs"] == "shard" and flow["jobs"]["merge"]["if"] == "${{ !cancelled() }}"
    upload = next(s for s in flow["jobs"]["merge"]["steps"] if "upload-sarif" in str(s.get("uses")))
    assert upload["continue-on-error"] is True  # no code scanning (a fork, a private repository): the gate runs
    assert "{n}" not in text and "{shards}" not in text
    # Every step of the jobs that runs strataml, run here as a job would: its whole `run:` block
    # in bash -e (K from the matrix, RUNNER_TEMP and GITHUB_SHA as Actions sets them; no LFS here).
    from test_git_rules import commit_all, git

    git(lab, "init", "-q")
    sha = commit_all(lab, "lab")
    runner_temp = tmp_path / "runner"
    (runner_temp / "shards").mkdir(parents=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # this strataml
           "RUNNER_TEMP": str(runner_temp), "GITHUB_SHA": sha}
    shard_steps = [str(st["run"]) for st in flow["jobs"]["shard"]["steps"]
                   if "strataml" in str(st.get("run", "")) and "pip install" not in str(st.get("run"))]
    assert any("--lfs-include" in r for r in shard_steps)
    # A pull request that commits stand-ins for the reports changes nothing: they are written elsewhere.
    (lab / "shard-1.json").symlink_to("/etc/hostname")
    for k in (1, 2, 3):
        for block in shard_steps:
            done = subprocess.run(["bash", "-e", "-c", block.replace("${{ matrix.shard }}", str(k))], cwd=lab,
                                  capture_output=True, text=True, env=env)
            assert done.returncode == 0, (block, done.stderr)
        # upload-artifact / download-artifact, as the jobs hand the report on
        (runner_temp / f"shard-{k}.json").rename(runner_temp / "shards" / f"shard-{k}.json")
    merge_steps = [str(st["run"]) for st in flow["jobs"]["merge"]["steps"] if "report merge" in str(st.get("run", ""))]
    assert len(merge_steps) == 2 and all('--commit "$GITHUB_SHA"' in m and "--shards 3" in m for m in merge_steps)
    for block in merge_steps:
        done = subprocess.run(["bash", "-e", "-c", block], cwd=lab, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    # Reports of another run (another commit), one or all of them, are refused by the gate.
    for k in (2, 1, 3):
        forged = json.loads((runner_temp / f"shards/shard-{k}.json").read_text())
        forged["shard"]["commit"] = "0" * 40
        (runner_temp / f"shards/shard-{k}.json").write_text(json.dumps(forged))
        done = subprocess.run(["bash", "-e", "-c", merge_steps[-1]], cwd=lab, capture_output=True, text=True, env=env)
        assert done.returncode == 3 and "commit" in done.stderr, done.stderr
    assert f"not {sha}" in done.stderr  # all three forged alike: what they checked is not this checkout
    assert re.search(r"--require-content", text)
    # A pull request is judged against its base too, a push against the tip it replaced:
    # history, which no shard checks.
    changes = flow["jobs"]["changes"]
    assert "if" not in changes
    assert any('--strict --since "$BASE"' in str(step.get("run", "")) for step in changes["steps"])
    assert any('--strict --since "$BEFORE"' in str(step.get("run", "")) for step in changes["steps"])


def test_the_workflows_init_writes_pass_the_github_workflow_schema(tmp_path: Path) -> None:
    """Checked by SchemaStore's GitHub workflow schema as check-jsonschema vendors it (offline)."""
    import subprocess
    import sys

    from conftest import require_extra
    from strataml.cli.main import run

    require_extra("check_jsonschema", "dev")
    assert run(["init", str(tmp_path / "one")]) == 0
    assert run(["init", str(tmp_path / "sharded"), "--ci-shards", "4"]) == 0
    flows = [tmp_path / name / ".github/workflows/strataml.yml" for name in ("one", "sharded")]
    broken = tmp_path / "broken.yml"
    broken.write_text(flows[1].read_text().replace("runs-on:", "runs_on:"))  # a control that must fail
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
    for flow in flows:
        done = subprocess.run([*check, str(flow)], capture_output=True, text=True)
        assert done.returncode == 0, (flow, done.stdout, done.stderr)
    done = subprocess.run([*check, str(broken)], capture_output=True, text=True)
    assert done.returncode == 1 and "runs_on" in done.stdout + done.stderr


@pytest.mark.slow
def test_a_matrix_of_clones_each_pulling_only_its_shard_verifies_the_workspace(ws: Path, tmp_path: Path, capsys) -> None:
    """What the CI matrix does, with real git-lfs: the workspace's CSVs in Git LFS, pushed to a
    remote; each job a fresh clone with pointers only that pulls just its shard's files
    (`--list-files` -> `git lfs pull --include`), checks its shard with --require-content and
    hands in its report; the merged report gates. A job that pulled nothing fails (the control)."""
    from test_git_rules import commit_all, git, need_lfs

    need_lfs()
    # A file name git-lfs would read as globs and separators, were it not escaped.
    odd = tmp_path / "odd,name [x]*?.csv"
    odd.write_text("a,b\n1,2\n")
    code, _o, err = invoke(ws, "dataset", "add", "odd", str(odd), "--version", "1", "--license", "CC0-1.0",
                           "--source", "made for this test", capsys=capsys)
    assert code == 0, err
    git(ws, "init", "-q", "-b", "main")
    git(ws, "lfs", "install", "--local")
    (ws / ".gitattributes").write_text("*.csv filter=lfs diff=lfs merge=lfs -text\n")
    (ws / ".gitignore").write_text(".strataml/\n")
    commit_all(ws, "workspace with its data in Git LFS")
    routed = set(git(ws, "lfs", "ls-files", "-n").split("\n"))
    assert len(routed) >= 2, routed
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(ws, "push", "-q", remote.as_uri(), "main")  # the LFS objects go too (file:// transfer)
    total, reports, pulled_by = 2, [], {}
    for k in range(1, total + 1):
        job = tmp_path / f"job-{k}"
        git(tmp_path, "clone", "-q", remote.as_uri(), str(job), env={"GIT_LFS_SKIP_SMUDGE": "1"})
        git(job, "lfs", "install", "--local")
        code, listed, err = invoke(job, "doctor", "--shard", f"{k}/{total}", "--list-files", capsys=capsys)
        assert code == 0, err
        mine = {p for p in listed.split("\n") if p}
        code, includes, err = invoke(job, "doctor", "--shard", f"{k}/{total}", "--lfs-include", capsys=capsys)
        assert code == 0, err
        for include in includes.splitlines():  # as the workflow does: one pull per line
            git(job, "lfs", "pull", "--include", include)
        present = {p for p in routed if not (job / p).read_bytes().startswith(b"version https://git-lfs")}
        assert present == mine & routed, (k, present, mine)  # this job's part, and nothing else
        pulled_by[k] = present
        out = tmp_path / f"shard-{k}.json"
        code, _o, err = invoke(job, "doctor", "--shard", f"{k}/{total}", "--require-content", "--strict",
                               "--format", "json", "-o", str(out), capsys=capsys)
        assert code == 0, err
        reports.append(str(out))
    assert pulled_by[1] | pulled_by[2] == routed and not pulled_by[1] & pulled_by[2]
    assert "datasets/odd/1/odd,name [x]*?.csv" in routed
    code, _o, err = invoke(ws, "report", "merge", *reports, "--strict", capsys=capsys)
    assert code == 0, err
    # The control: a job that skipped its pull fails its shard, content being required.
    lazy = tmp_path / "lazy"
    git(tmp_path, "clone", "-q", remote.as_uri(), str(lazy), env={"GIT_LFS_SKIP_SMUDGE": "1"})
    shard = next(k for k, files in pulled_by.items() if files)
    code, out, _e = invoke(lazy, "doctor", "--shard", f"{shard}/{total}", "--require-content", "--format", "json",
                           capsys=capsys)
    assert code == 2 and "TFC0006" in out


def test_lfs_include_values_escape_globs_and_stay_short() -> None:
    from strataml.lfs import include_patterns

    assert include_patterns(["a/b.csv", "c/odd,name [x]*?.csv", "d/!bang", "e/\\back"]) == [
        "a/b.csv,c/odd?name \\[x\\]\\*\\?.csv,d/!bang,e/\\\\back"
    ]
    assert include_patterns(["!top", "#top"]) == ["\\!top,\\#top"]
    many = [f"runs/{i:06d}/model.bin" for i in range(5000)]
    values = include_patterns(many, limit=1000)
    assert all(len(v) <= 1000 for v in values) and len(values) > 50
    assert [p for v in values for p in v.split(",")] == many


def test_a_signature_of_no_ledger_is_found_by_the_shards_and_by_since(ws: Path) -> None:
    """models/NAME/lifecycle.jsonl.asc with no ledger (and no version, or versions): about no
    record in scope; a full run reports it, and so must the shards together and --since."""
    from test_git_rules import commit_all, git

    git(ws, "init", "-q")
    base = commit_all(ws, "base")
    (ws / "models/ghost").mkdir(parents=True)
    (ws / "models/ghost/lifecycle.jsonl.asc").write_text("-----BEGIN PGP SIGNATURE-----\n")
    ledger_of_versions = next(p for p in sorted((ws / "models").iterdir()) if p.is_dir() and p.name != "ghost")
    (ledger_of_versions / "lifecycle.jsonl").unlink(missing_ok=True)
    (ledger_of_versions / "lifecycle.jsonl.asc").write_text("-----BEGIN PGP SIGNATURE-----\n")
    commit_all(ws, "signatures of nothing")
    full = findings(ws)
    assert sum(1 for f in full if f[0] == "TFC0007-E007") == 2, full
    for total in (2, 3, 5):
        union: Counter = Counter()
        for k in range(1, total + 1):
            union += findings(ws, (k, total))
        assert union == full, total
    since = engine.doctor(ws, options=engine.Options(since=base))
    assert sorted(f.path for f in since.findings if f.code == "TFC0007-E007") == sorted(
        f[1] for f in full if f[0] == "TFC0007-E007"
    )


_FOUND = {"code": "TFC0006-E003", "path": "datasets/x/1/x.csv", "message": "m", "hint": "h", "severity": "error"}


@pytest.mark.parametrize(
    "change,said",
    [
        (lambda d: d["shard"].update(total=0), "names shard"),
        (lambda d: d["shard"].update(total=True), "names shard"),
        (lambda d: d["shard"].update(total=10**12), "names shard"),
        (lambda d: d["shard"].update(index=[1]), "names shard"),
        (lambda d: d["shard"].update(index=4), "names shard"),
        (lambda d: d["shard"].update(index=2.0), "names shard"),
        (lambda d: d.update(stats=[]), "stats are not counts"),
        (lambda d: d["stats"].update(records_checked="1e400"), "stats are not counts"),
        (lambda d: d["stats"].update(records_checked=-1), "stats are not counts"),
        (lambda d: d["findings"].append({"code": "X", "path": "p", "message": "m", "severity": "ERROR"}), "not one"),
        (lambda d: d["stats"].update(records_checked=0), "the shards checked"),
        (lambda d: d["tool"].update(version="0.0.1"), "holds a report of StrataML 0.0.1, not of this StrataML"),
        # Each was an internal error (AttributeError; KeyError in SARIF) or a dict printed as a hint.
        (lambda d: d["shard"].update(options=[]), "options are not a mapping"),
        (lambda d: d["findings"].append({"code": "X", "path": "p", "message": "m", "severity": "error"}), "no rule"),
        (lambda d: d["findings"].append({"code": "TFC0006-E003", "path": "p", "message": "m", "severity": "error",
                                         "hint": {"a": 1}}), "not one"),
        # Found by a new user: an edited report merged into counts no run made.
        (lambda d: d["findings"].append(_FOUND), "its summary counts"),
        (lambda d: (d["findings"].extend([_FOUND, _FOUND]), d["summary"].update(errors=d["summary"]["errors"] + 2)),
         "a finding given twice"),
    ],
)
def test_merge_refuses_reports_no_shard_wrote(broken_repo: Path, capsys, tmp_path: Path, change, said: str) -> None:
    files = shard_reports(broken_repo, capsys, 2, tmp_path)
    doc = json.loads(files[0].read_text())
    change(doc)
    files[0].write_text(json.dumps(doc))
    for fmt in ("text", "sarif"):
        code, _out, err = invoke(broken_repo, "report", "merge", *map(str, files), "--format", fmt, capsys=capsys)
        assert code == 3 and said in err and "Traceback" not in err and "internal error" not in err, err
    alone = invoke(broken_repo, "report", "merge", str(files[0]), capsys=capsys)
    assert alone[0] == 3


def test_a_workspace_below_its_repository_root_is_merged_with_its_folder(ws: Path, capsys, tmp_path: Path) -> None:
    """In a monorepo (the workspace in ml/), doctor names files from the repository's root in
    SARIF and GitHub annotations; the merge of its shards named them from the workspace, files
    that do not exist for code scanning or the pull request's annotations."""
    from test_git_rules import commit_all, git

    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.move(str(ws), str(repo / "ml"))
    (repo / "ml/datasets/flowers/1/flowers.csv").write_text("changed\n")
    git(repo, "init", "-q")
    commit_all(repo, "monorepo")
    files = shard_reports(repo / "ml", capsys, 2, tmp_path)
    for fmt in ("sarif", "github"):
        _c, full, _ = invoke(repo / "ml", "doctor", "--format", fmt, capsys=capsys)
        code, merged, err = invoke(tmp_path, "report", "merge", *map(str, files), "--format", fmt, capsys=capsys)
        assert code == 2 and merged == full, err
        assert "ml/datasets/flowers/1/flowers.csv" in merged
    _c, text, _ = invoke(tmp_path, "report", "merge", *map(str, files), capsys=capsys)
    assert "ml/datasets" not in text  # (text and JSON name files from the workspace, as doctor does)


def test_merged_shards_keep_what_the_baseline_hid(broken_repo: Path, capsys, tmp_path: Path) -> None:
    """Each shard said how many findings the baseline hid; the merge said nothing of it, so the
    merged report claimed fewer findings than the full run accounted for."""
    baseline = tmp_path / "baseline.json"
    assert invoke(broken_repo, "doctor", "--write-baseline", str(baseline), capsys=capsys)[0] in (0, 1)
    files = shard_reports(broken_repo, capsys, 2, tmp_path, "--baseline", str(baseline))
    code, full, _ = invoke(broken_repo, "doctor", "--baseline", str(baseline), "--format", "json", capsys=capsys)
    mcode, merged, err = invoke(broken_repo, "report", "merge", *map(str, files), "--format", "json", capsys=capsys)
    assert mcode == code, err
    assert json.loads(merged)["baseline"] == json.loads(full)["baseline"] and json.loads(full)["baseline"]["hidden"] > 1
    _c, text, _ = invoke(broken_repo, "report", "merge", *map(str, files), capsys=capsys)
    assert f"older findings hidden by the baseline {baseline}" in text
    doc = json.loads(files[0].read_text())
    doc["baseline"]["file"] = "other.json"
    files[0].write_text(json.dumps(doc))
    code, _o, err = invoke(broken_repo, "report", "merge", *map(str, files), capsys=capsys)
    assert code == 3 and "differ in baselines" in err
    # What the job summary shows of it is a path, never Markdown a report file chose.
    for forged in files:
        doc = json.loads(forged.read_text())
        doc["baseline"]["file"] = "x](https://evil.example/) ![t](https://evil.example/p.png)"
        forged.write_text(json.dumps(doc))
    code, _o, err = invoke(broken_repo, "report", "merge", *map(str, files), capsys=capsys)
    assert code == 3 and "its baseline is not one" in err
