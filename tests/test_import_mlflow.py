"""`strataml import mlflow`: runs made through MLflow's own client in a real sqlite store become
run records a fresh workspace's `doctor --strict` accepts; importing twice changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import edit_yaml, invoke, read_yaml, require_extra, without
from strataml.installed import extra_hint

pytestmark = pytest.mark.timeout(300)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", "-c", "core.fsmonitor=false", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, env=env).stdout


def fresh_workspace(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`strataml init` plus one dataset version, committed; returns that version's digest."""
    from strataml.cli.main import run

    assert run(["init", str(root)]) == 0
    (root / "iris.csv").write_text("sepal,species\n5.1,setosa\n6.2,virginica\n", "utf-8")
    code, _o, err = invoke(root, "dataset", "add", "iris", str(root / "iris.csv"), "--version", "1", "--license", "CC0-1.0",
                           "--source", "https://example.org/iris", capsys=capsys)
    assert code == 0, err
    (root / "iris.csv").unlink()
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "workspace")
    capsys.readouterr()
    return str(read_yaml(root / "datasets/iris/1/dataset.yaml")["digest"])


def make_store(where: Path, digest: str) -> dict[str, Any]:
    """An MLflow sqlite store with experiment `churn`: a finished run (params, step-wise metrics,
    tags, nested artifacts, one input matching the workspace's dataset and one matching nothing),
    a failed, a killed and a running run; a second experiment with one run."""
    from mlflow import MlflowClient
    from mlflow.entities import Dataset, DatasetInput, Metric, Param, RunTag

    uri = f"sqlite:///{where / 'mlflow.db'}"
    client = MlflowClient(uri)
    exp = client.create_experiment("churn", artifact_location=(where / "artifacts").as_uri())
    other = client.create_experiment("other", artifact_location=(where / "artifacts-other").as_uri())
    files = where / "files"
    (files / "model").mkdir(parents=True)
    (files / "notes.txt").write_text("trained on iris\n", "utf-8")
    (files / "model" / "weights.bin").write_bytes(bytes(range(256)) * 8)
    (files / "model" / "MLmodel").write_text("flavors: {}\n", "utf-8")

    done = client.create_run(exp, run_name="best", start_time=1_790_000_000_000, tags={"team": "growth"})
    rid = done.info.run_id
    client.log_batch(
        rid,
        metrics=[Metric("loss", 1.0 / (s + 1), 1_790_000_000_000 + s, s) for s in range(5)]
        + [Metric("test_accuracy", 0.93, 1_790_000_001_000, 0)],
        params=[Param("C", "1.0"), Param("max_iter", "500"), Param("seed", "7"), Param("layers", "[64, 32]"),
                Param("early_stop", "True"), Param("solver", "lbfgs"), Param("class_weight", "None")],
        tags=[RunTag("mlflow.source.git.commit", "a" * 40), RunTag("mlflow.note.content", "line one\nline two")],
    )
    client.log_artifact(rid, str(files / "notes.txt"))
    client.log_artifacts(rid, str(files / "model"), "model")
    client.log_inputs(rid, [
        DatasetInput(Dataset(name="iris", digest=digest[:36], source_type="local", source="datasets/iris/1")),
        DatasetInput(Dataset(name="elsewhere", digest="0badc0de", source_type="local", source="/data/x")),
    ])
    client.set_terminated(rid, "FINISHED", end_time=1_790_000_060_000)

    failed = client.create_run(exp, run_name="broken", start_time=1_790_000_100_000)
    client.log_param(failed.info.run_id, "C", "0.1")
    client.log_metric(failed.info.run_id, "loss", float("nan"))
    client.set_terminated(failed.info.run_id, "FAILED", end_time=1_790_000_110_000)

    killed = client.create_run(exp, run_name="stopped", start_time=1_790_000_200_000)
    client.set_terminated(killed.info.run_id, "KILLED", end_time=1_790_000_201_000)

    running = client.create_run(exp, run_name="still-going", start_time=1_790_000_300_000)
    stray = client.create_run(other, run_name="elsewhere", start_time=1_790_000_400_000)
    client.set_terminated(stray.info.run_id, "FINISHED", end_time=1_790_000_401_000)
    return {"uri": uri, "done": rid, "failed": failed.info.run_id, "killed": killed.info.run_id,
            "running": running.info.run_id, "other": stray.info.run_id, "client": client, "exp": exp}


@pytest.fixture
def store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict[str, Any]]:
    require_extra("mlflow", "mlflow")
    root = tmp_path / "lab"
    digest = fresh_workspace(root, capsys)
    made = make_store(tmp_path / "mlflow", digest)
    made["digest"] = digest
    return root, made


def imported(root: Path) -> dict[str, dict[str, Any]]:
    return {read_yaml(p)["tracking"]["mlflow_run_id"]: read_yaml(p) for p in root.glob("runs/*/run.yaml")}


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.relative_to(root).parts}


def test_an_experiment_imported_into_a_fresh_workspace_passes_doctor_strict(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, made = store
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            capsys=capsys)
    assert code == 1, err  # warnings: a running run skipped, an input that matches nothing, a NaN metric
    assert "3 runs imported, 0 already here, 1 skipped, 0 could not be imported" in out
    step = out.split("Next: `")[1].split("`")[0]
    assert step.endswith("&& git commit -qm 'import MLflow experiment churn'"), out
    assert sorted(w for w in step.split() if w.startswith("runs/")) == sorted(
        f"runs/{p.name}" for p in (root / "runs").iterdir() if p.is_dir()), step
    assert "'elsewhere' (digest '0badc0de') matches no dataset version here" in err
    assert "metric 'loss' is nan" in err
    runs = imported(root)
    assert set(runs) == {made["done"], made["failed"], made["killed"]}

    best = runs[made["done"]]
    folder = root / "runs" / best["ref"].split(":")[1]
    assert folder.name == f"20260921T141320Z-churn-{made['done'][:6]}"
    assert best["status"] == "succeeded" and best["seed"] == 7
    assert best["started_at"] == "2026-09-21T14:13:20.000Z" and best["ended_at"] == "2026-09-21T14:14:20.000Z"
    assert best["params"] == {"C": 1.0, "max_iter": 500, "seed": 7, "layers": [64, 32], "early_stop": True,
                              "solver": "lbfgs", "class_weight": None}
    assert best["metrics"] == {"loss": 0.2, "test_accuracy": 0.93}
    assert best["tags"]["team"] == "growth" and best["tags"]["mlflow.note.content"] == "line one\nline two"
    assert best["inputs"] == [{"ref": "dataset:iris@1", "digest": made["digest"]}]
    assert best["tracking"] == {"mlflow_run_id": made["done"], "mlflow_experiment": "churn"}
    assert best["plugin"]["key"] == "mlflow-import"
    recorded = {a["path"]: a for a in best["artifacts"]}
    assert set(recorded) == {"mlflow/notes.txt", "mlflow/model/weights.bin", "mlflow/model/MLmodel",
                             "summary/tracking.json"}
    for path, entry in recorded.items():
        data = (folder / path).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    assert (folder / "mlflow/model/weights.bin").read_bytes() == bytes(range(256)) * 8
    tracking = json.loads((folder / "summary/tracking.json").read_text("utf-8"))
    assert [p["value"] for p in tracking["metrics"]["loss"]] == pytest.approx([1, 0.5, 1 / 3, 0.25, 0.2])
    assert [p["step"] for p in tracking["metrics"]["loss"]] == [0, 1, 2, 3, 4]
    assert tracking["params"]["C"] == "1.0"  # MLflow's own text beside the typed values

    failed = runs[made["failed"]]
    assert failed["status"] == "failed" and failed["error"]["type"] == "MLflowRunFailed"
    assert failed["metrics"] == {} and failed["seed"] == 0
    assert runs[made["killed"]]["status"] == "cancelled"

    git(root, "add", "-A")
    code, out, err = invoke(root, "doctor", "--strict", capsys=capsys)
    assert code == 0, out + err
    # As a pull request's gate: the imported runs' metrics are their series' last points (TFC0003-E011),
    # so nothing is unchecked (TFC0003-W001) or said to disagree.
    code, out, err = invoke(root, "doctor", "--strict", "--since", "HEAD", capsys=capsys)
    assert code == 0, out + err
    code, out, _e = invoke(root, "show", best["ref"], capsys=capsys)
    assert code == 0 and "dataset:iris@1" in out
    code, out, _e = invoke(root, "lineage", "dataset:iris@1", capsys=capsys)
    assert code == 0 and best["ref"] in out

    # Importing again changes nothing: every run is found by its MLflow id.
    git(root, "commit", "-qm", "imported")
    before = tree(root)
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            "--format", "json", capsys=capsys)
    summary = json.loads(out)
    assert code == 1 and summary["imported"] == 0 and summary["present"] == 3 and summary["skipped"] == 1
    assert tree(root) == before and git(root, "status", "--porcelain") == ""


def test_dry_run_writes_nothing_and_runs_picks_runs(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, made = store
    before = tree(root)
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            "--dry-run", "--format", "json", capsys=capsys)
    summary = json.loads(out)
    assert summary["dry_run"] and summary["would_import"] == 3 and summary["imported"] == 0
    assert {r["action"] for r in summary["runs"]} == {"import", "skip"}
    assert tree(root) == before and not list(root.glob("runs/.*.staging"))

    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            "--runs", f"{made['failed']},{made['killed']}", capsys=capsys)
    assert code == 1 and "metric 'loss' is nan" in err, err
    assert set(imported(root)) == {made["failed"], made["killed"]}
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            "--runs", made["done"], "--runs", made["failed"], capsys=capsys)
    assert code == 1 and "already here" in out  # the unmatched input warns
    assert set(imported(root)) == {made["done"], made["failed"], made["killed"]}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--experiment", "nope"], "no experiment 'nope' at this tracking URI\n  hint: experiments there: Default, churn"),
        # (It said "check --tracking-uri and that the store is readable": the store was read fine.)
        (["--experiment", "churn", "--runs", "0" * 32], f"MLflow has no run {'0' * 32} (the store at --tracking-uri was read)\n  hint: the runs of 'churn' include: "),
        (["--experiment", "churn", "--runs", "OTHER"], "is not in experiment 'churn'"),
    ],
)
def test_what_cannot_be_read_is_said_with_exit_3(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    root, made = store
    args = [made["other"] if a == "OTHER" else a for a in args]
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], *args, capsys=capsys)
    assert code == 3 and said in err and "Traceback" not in err, err
    assert not list(root.glob("runs/*/run.yaml")) and not list(root.glob("runs/.*.staging"))


# (file://.../x%00y: a NUL in the path, an internal error an attacker found)
@pytest.mark.parametrize("uri", ["sqlite:///{d}/typo.db", "{d}/mlruns-typo", "file://{d}/mlruns-typo", "file://{d}/x%00y"])
def test_a_store_that_is_not_there_is_not_created(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    root, _made = store
    code, _o, err = invoke(root, "import", "mlflow", "--tracking-uri", uri.format(d=tmp_path), "--experiment", "churn",
                           capsys=capsys)
    assert code == 3 and "no MLflow store at" in err, err
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "mlruns-typo").exists()


def test_an_artifact_name_the_workspace_cannot_hold_refuses_that_run_only(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, made = store
    client = made["client"]
    bad = client.create_run(made["exp"], run_name="odd", start_time=1_790_000_500_000)
    odd = tmp_path / "odd\x1bname.txt"
    odd.write_text("x", "utf-8")
    client.log_artifact(bad.info.run_id, str(odd))
    client.set_terminated(bad.info.run_id, "FINISHED", end_time=1_790_000_501_000)
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            capsys=capsys)
    assert code == 2, out + err
    assert f"could not import MLflow run {bad.info.run_id}: its artifact 'odd\\x1bname.txt' holds a control" in err
    assert set(imported(root)) == {made["done"], made["failed"], made["killed"]}
    assert not list(root.glob("runs/.*.staging"))


def test_a_run_whose_record_would_pass_the_node_cap_is_refused(
    store: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by an attacker: 126,000 params made a 1.5 MB run.yaml, under the byte cap, that the
    doctor then failed for its nodes (TFC0001-E110). (The cap lowered here: the same check.)"""
    from mlflow.entities import Param

    from strataml.imports import mlflow as importer

    root, made = store
    client = made["client"]
    wide = client.create_run(made["exp"], run_name="wide", start_time=1_790_000_500_000)
    for at in range(0, 300, 100):
        client.log_batch(wide.info.run_id, params=[Param(f"p{i}", "1") for i in range(at, at + 100)])
    client.set_terminated(wide.info.run_id, "FINISHED", end_time=1_790_000_501_000)
    monkeypatch.setattr(importer, "MAX_NODES", 600)
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            "--runs", wide.info.run_id, capsys=capsys)
    assert code == 2 and f"could not import MLflow run {wide.info.run_id}: its run.yaml would be" in err, out + err
    assert "YAML nodes" in err and not imported(root)


def test_an_artifact_named_as_git_s_own_files_refuses_that_run(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`* eol=crlf` in a run's .gitattributes passed the doctor where it was imported, and every
    fresh clone then failed it (TFC0006-E003): git read the artifact."""
    root, made = store
    client = made["client"]
    for name in (".gitattributes", ".gitmodules", ".GIT/config"):
        bad = client.create_run(made["exp"], run_name="odd", start_time=1_790_000_500_000)
        folder = tmp_path / bad.info.run_id
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("* eol=crlf\n", "utf-8")
        client.log_artifacts(bad.info.run_id, str(folder))
        client.set_terminated(bad.info.run_id, "FINISHED", end_time=1_790_000_501_000)
        code, _out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                                 "--runs", bad.info.run_id, capsys=capsys)
        said = name.split("/")[0]  # (a folder is named as it is listed, before its files)
        assert code == 2 and f"its artifact '{said}' is named as git's own files are" in err, err
    assert imported(root) == {} and [p.name for p in root.glob("runs/*")] == [".gitkeep"]


def test_an_artifact_root_that_is_no_run_s_folder_is_refused(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store someone hands over names any folder as a run's artifacts (~/.aws): it was copied
    into runs/, pinned, and the next step said to commit it."""
    import sqlite3

    root, made = store
    secret = tmp_path / "home/.aws"
    secret.mkdir(parents=True)
    (secret / "credentials").write_text("AWS_SECRET_ACCESS_KEY=hunter2\n", "utf-8")
    run_id = made["done"]
    db = sqlite3.connect(made["uri"].removeprefix("sqlite:///"))
    (uri,) = db.execute("select artifact_uri from runs where run_uuid=?", (run_id,)).fetchone()
    for hostile in (secret.as_uri(), str(secret), f"{uri}/../../../home/.aws"):
        db.execute("update runs set artifact_uri=? where run_uuid=?", (hostile, run_id))
        db.commit()
        code, _out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                                 "--runs", run_id, capsys=capsys)
        assert code == 2 and f"could not import MLflow run {run_id}: its artifact root" in err, (hostile, err)
    own = Path(uri.removeprefix("file://"))
    # Its own folder with a link inside, to a file or a folder (MLflow before 3.7 followed them).
    (own / "creds").symlink_to(secret / "credentials")
    db.execute("update runs set artifact_uri=? where run_uuid=?", (uri, run_id))
    db.commit()
    code, _out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                             "--runs", run_id, capsys=capsys)
    assert code == 2 and "its artifact 'creds' is a symbolic link" in err, err
    (own / "creds").unlink()
    # Its own folder, but a symlink to the secret: refused too, however the path is spelled (MLflow
    # opens a plain path percent-decoded: %61 is a).
    shutil.rmtree(own)
    own.symlink_to(secret)
    spelled = own.parent.parent / "%61" / run_id / "artifacts"
    (own.parent.parent / "a").mkdir()
    (own.parent.parent / "a" / run_id).mkdir()
    (own.parent.parent / "a" / run_id / "artifacts").symlink_to(secret)
    for hostile in (uri, str(spelled), f"runs:/{made['failed']}"):
        db.execute("update runs set artifact_uri=? where run_uuid=?", (hostile, run_id))
        db.commit()
        code, _out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                                 "--runs", run_id, capsys=capsys)
        assert code == 2 and "its artifact root" in err, (hostile, err)
    assert imported(root) == {} and not any("hunter2" in p.read_text("utf-8", "replace")
                                            for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)


def test_a_remote_artifact_root_a_store_names_gets_no_credentials(
    store: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """MLflow sends MLFLOW_TRACKING_TOKEN (or ~/.mlflow/credentials) to any http(s) artifact root,
    listing included: a store someone hands over collected them, even in a dry run, and what its
    host served was copied into runs/. Such a root is refused unless the user names its host."""
    import http.server
    import sqlite3
    import threading

    heard: list[str | None] = []

    class Host(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            heard.append(self.headers.get("Authorization"))
            body = b'{"files": []}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Host)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host = f"127.0.0.1:{server.server_address[1]}"
        root, made = store
        run_id = made["done"]
        db = sqlite3.connect(made["uri"].removeprefix("sqlite:///"))
        db.execute("update runs set artifact_uri=? where run_uuid=?", (f"http://{host}/mlflow-artifacts/artifacts/x", run_id))
        db.commit()
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "s3cr3t-team-token")
        for dry in (["--dry-run"], []):
            code, _out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                                     "--runs", run_id, *dry, capsys=capsys)
            assert code == 2 and f"its artifact root is on {host}" in err and f"--allow-artifact-host {host}" in err, err
        assert heard == [] and imported(root) == {}
        # Named by the user, it is theirs: read as MLflow reads it (the token is MLflow's to send).
        code, _out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                                 "--runs", run_id, "--allow-artifact-host", host, capsys=capsys)
        assert code in (0, 1) and heard == ["Bearer s3cr3t-team-token"] and list(imported(root)) == [run_id], err
    finally:
        server.shutdown()
        server.server_close()


def test_a_run_id_that_names_no_folder_is_refused_and_nothing_is_written(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A store edited so a run's id holds a '/': the import wrote a nested runs/A/B/run.yaml (or,
    refused later, left runs/A behind), and said it had imported the run."""
    import sqlite3

    root, made = store
    run_id = made["done"]
    hostile = "aaaaa/bbbbbbbbcc"
    db = sqlite3.connect(made["uri"].removeprefix("sqlite:///"))
    tables = [name for (name,) in db.execute("select name from sqlite_master where type='table'")
              if any(col[1] == "run_uuid" for col in db.execute(f"pragma table_info({name})"))]
    for table in tables:
        db.execute(f"update {table} set run_uuid=? where run_uuid=?", (hostile, run_id))
    db.commit()
    before = tree(root)
    code, _out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                             capsys=capsys)
    assert code == 2 and "is not one MLflow makes" in err, err
    assert not any("aaaaa" in p.name for p in (root / "runs").iterdir()) if (root / "runs").exists() else True
    assert {k: v for k, v in tree(root).items() if not k.startswith("runs/")} == {
        k: v for k, v in before.items() if not k.startswith("runs/")}


def test_a_run_id_of_the_store_s_choosing_cannot_aim_the_artifact_root_at_a_private_folder(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The artifact root must be a folder RUN_ID/artifacts: a store that chose its run's id
    (`proj`) named ../private/proj/artifacts, and a credentials file was copied into runs/ for
    the next commit to publish. MLflow's ids are 32 hex digits; another is refused first."""
    import sqlite3

    root, made = store
    private = tmp_path / "private/proj/artifacts"
    private.mkdir(parents=True)
    (private / "credentials").write_text("aws_secret_access_key=XYZ\n")
    db = sqlite3.connect(made["uri"].removeprefix("sqlite:///"))
    tables = [name for (name,) in db.execute("select name from sqlite_master where type='table'")
              if any(col[1] == "run_uuid" for col in db.execute(f"pragma table_info({name})"))]
    for table in tables:
        db.execute(f"update {table} set run_uuid='proj' where run_uuid=?", (made["done"],))
    db.execute("update runs set artifact_uri=? where run_uuid='proj'", (str(private),))
    db.commit()
    db.close()
    code, _out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                             capsys=capsys)
    assert code == 2 and "proj" in err and "is not one MLflow makes (32 hexadecimal digits)" in err, err
    assert not [p for p in root.rglob("credentials")]


def test_a_symlinked_runs_folder_stops_the_import_once_with_exit_3(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, made = store
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(root / "runs", ignore_errors=True)
    (root / "runs").symlink_to(outside)
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            capsys=capsys)
    assert code == 3, out + err
    assert "refusing to write runs/: runs is a symlink" in err
    assert err.count("refusing") == 1 and "could not import" not in err
    assert list(outside.iterdir()) == []


def test_without_the_extra_the_error_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "lab"
    fresh_workspace(root, capsys)
    done = without(("mlflow", "mlflow.tracking"), "-C", str(root), "import", "mlflow",
                   "--tracking-uri", "sqlite:///x.db", "--experiment", "e", cwd=tmp_path)
    assert done.returncode == 3 and extra_hint("mlflow") in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.db").exists()


def test_a_run_mlflow_cannot_hand_over_whole_is_refused_and_the_others_come(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, made = store
    client = made["client"]
    odd = {}
    # An artifact the store holds as a symlink (to a file outside it): MLflow will not copy it.
    linked = client.create_run(made["exp"], run_name="linked", start_time=1_790_000_600_000)
    (tmp_path / "secret.txt").write_text("not for the workspace", "utf-8")
    (tmp_path / "plain.txt").write_text("x", "utf-8")
    client.log_artifact(linked.info.run_id, str(tmp_path / "plain.txt"))
    client.set_terminated(linked.info.run_id, "FINISHED", end_time=1_790_000_601_000)
    stored = Path(linked.info.artifact_uri.removeprefix("file://")) / "plain.txt"
    stored.unlink()
    stored.symlink_to(tmp_path / "secret.txt")
    odd["linked"] = linked.info.run_id
    # Ended before it started; two artifact names one checkout cannot hold apart (NFC and NFD).
    backwards = client.create_run(made["exp"], run_name="backwards", start_time=1_790_000_700_000)
    client.set_terminated(backwards.info.run_id, "FINISHED", end_time=1_790_000_600_000)
    odd["backwards"] = backwards.info.run_id
    twins = client.create_run(made["exp"], run_name="twins", start_time=1_790_000_800_000)
    for i, name in enumerate(("caf\u00e9.txt", "cafe\u0301.txt")):
        folder = tmp_path / f"t{i}"
        folder.mkdir()
        (folder / name).write_text(str(i), "utf-8")
        client.log_artifact(twins.info.run_id, str(folder / name))
    client.set_terminated(twins.info.run_id, "FINISHED", end_time=1_790_000_801_000)
    odd["twins"] = twins.info.run_id
    # Params past what one metadata file may hold.
    from mlflow.entities import Param

    huge = client.create_run(made["exp"], run_name="huge", start_time=1_790_000_900_000)
    for chunk in range(8):
        client.log_batch(huge.info.run_id, params=[Param(f"p{chunk}-{i}", "v" * 6000) for i in range(100)])
    client.set_terminated(huge.info.run_id, "FINISHED", end_time=1_790_000_901_000)
    odd["huge"] = huge.info.run_id

    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            "--format", "json", capsys=capsys)
    assert code == 2, err
    rows = {r["mlflow_run_id"]: r for r in json.loads(out)["runs"]}
    assert {rows[m]["action"] for m in odd.values()} == {"refuse"}, rows
    assert "ended before it started" in rows[odd["backwards"]]["reason"]
    assert "Unicode form" in rows[odd["twins"]]["reason"]
    assert "metadata file may hold" in rows[odd["huge"]]["reason"]
    assert set(imported(root)) == {made["done"], made["failed"], made["killed"]}
    assert not list(root.glob("runs/.*.staging"))
    assert "not for the workspace" not in "".join(p.read_text("utf-8", "replace") for p in root.rglob("*.txt"))
    git(root, "add", "-A")
    code, out, err = invoke(root, "doctor", "--strict", capsys=capsys)
    assert code == 0, out + err
    # As a pull request's gate: the imported runs' metrics are their series' last points (TFC0003-E011),
    # so nothing is unchecked (TFC0003-W001) or said to disagree.
    code, out, err = invoke(root, "doctor", "--strict", "--since", "HEAD", capsys=capsys)
    assert code == 0, out + err


def test_deleted_runs_and_an_empty_runs_option(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, made = store
    made["client"].delete_run(made["killed"])
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            "--runs", made["killed"], "--format", "json", capsys=capsys)
    assert code == 1 and json.loads(out)["runs"][0]["reason"].startswith("deleted in MLflow"), out + err
    code, _o, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                           "--runs", ",,", capsys=capsys)
    assert code == 3 and "names no run id" in err and not list(root.glob("runs/*/run.yaml"))


@pytest.mark.parametrize("uri", ["sqlite+pysqlite:///{d}/new.db", "sqlite:///{d}/empty.db", "sqlite:///{d}/foreign.db"])
def test_a_file_that_is_no_mlflow_store_is_left_alone(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    import sqlite3

    root, _made = store
    (tmp_path / "empty.db").write_bytes(b"")
    db = sqlite3.connect(tmp_path / "foreign.db")  # someone else's database with a table of that name
    db.execute("create table experiments (id integer, note text)")
    db.commit()
    db.close()
    foreign = (tmp_path / "foreign.db").read_bytes()
    code, _o, err = invoke(root, "import", "mlflow", "--tracking-uri", uri.format(d=tmp_path), "--experiment", "churn",
                           capsys=capsys)
    assert code == 3 and "no MLflow store at" in err, err
    assert not (tmp_path / "new.db").exists() and (tmp_path / "empty.db").read_bytes() == b""
    assert (tmp_path / "foreign.db").read_bytes() == foreign


def test_a_store_without_an_experiment_is_not_written_even_by_a_dry_run(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every table there but no experiment row: MLflow wrote its Default experiment (an artifact
    folder under where the command ran) into the store `--tracking-uri` reads, --dry-run too."""
    import shutil
    import sqlite3

    root, made = store
    path = tmp_path / "bare.db"
    shutil.copy(made["uri"].removeprefix("sqlite:///"), path)
    db = sqlite3.connect(path)
    db.execute("pragma foreign_keys=off")
    for table in ("experiment_tags", "tags", "params", "metrics", "latest_metrics", "runs", "experiments"):
        db.execute(f"delete from {table}")
    db.commit()
    db.close()
    before = path.read_bytes()
    code, _o, err = invoke(root, "import", "mlflow", "--tracking-uri", f"sqlite:///{path}", "--experiment", "x",
                           "--dry-run", capsys=capsys)
    assert code == 3 and "no MLflow store at" in err and "the Default experiment" in err, err
    assert path.read_bytes() == before
    # Other experiments there, but not MLflow's Default (0): it wrote that one all the same.
    shutil.copy(made["uri"].removeprefix("sqlite:///"), path)
    db = sqlite3.connect(path)
    db.execute("pragma foreign_keys=off")
    db.execute("delete from experiments where experiment_id = 0")
    db.commit()
    db.close()
    before = path.read_bytes()
    code, _o, err = invoke(root, "import", "mlflow", "--tracking-uri", f"sqlite:///{path}", "--experiment", "churn",
                           "--dry-run", capsys=capsys)
    assert code == 3 and "the Default experiment" in err, err
    assert path.read_bytes() == before
    # A folder that is no folder store: MLflow made its .trash in it.
    (tmp_path / "emptydir").mkdir()
    code, _o, err = invoke(root, "import", "mlflow", "--tracking-uri", str(tmp_path / "emptydir"), "--experiment",
                           "x", "--dry-run", capsys=capsys)
    assert code == 3 and "no MLflow store at" in err and ".trash" in err, err
    assert list((tmp_path / "emptydir").iterdir()) == []


def test_the_store_checked_is_the_file_mlflow_opens(
    store: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sqlite:///store.db#x`: split as a URL the check found store.db, while SQLAlchemy opened
    (and MLflow created, tables and Default experiment) `store.db#x`, --dry-run too."""
    import shutil

    root, made = store
    shutil.copy(made["uri"].removeprefix("sqlite:///"), tmp_path / "store.db")
    code, _o, err = invoke(root, "import", "mlflow", "--tracking-uri", f"sqlite:///{tmp_path}/store.db#x",
                           "--experiment", "churn", "--dry-run", capsys=capsys)
    assert code == 3 and "no MLflow store at" in err and "store.db#x" in err, err
    assert not (tmp_path / "store.db#x").exists()


def test_files_past_the_lfs_threshold_are_said_before_they_are_copied(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, made = store
    edit_yaml(root / "strataml.yaml", lambda d: d.setdefault("lfs", {}).update(threshold_bytes=1000))
    code, out, _e = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                           "--runs", made["done"], "--dry-run", "--format", "json", capsys=capsys)
    [row] = json.loads(out)["runs"]
    assert code == 1 and any("1 artifact exceeds lfs.threshold_bytes (1,000)" in w for w in row["warnings"]), row


def test_a_database_file_given_as_a_path_is_told_how_to_name_it(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, made = store
    path = made["uri"].removeprefix("sqlite:///")
    code, _o, err = invoke(root, "import", "mlflow", "--tracking-uri", path, "--experiment", "churn", capsys=capsys)
    assert code == 3 and f"{path} is an SQLite file, not a folder store" in err, err
    assert f"--tracking-uri sqlite:///{path}" in err


def test_a_tracking_server_that_does_not_answer_is_not_waited_on_for_minutes(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow retries 7 times with a growing back-off by default (minutes on a closed port); the
    import asks for 2 retries and 30 s a request, unless the user set MLflow's own variables."""
    import socket

    root, _made = store
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.setenv(name, "")  # (recorded, so what the import sets is undone after the test)
        monkeypatch.delenv(name)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")  # the user's choice stays
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        code, _o, err = invoke(root, "import", "mlflow", "--tracking-uri", f"http://127.0.0.1:{port}",
                               "--experiment", "churn", capsys=capsys)
    assert code == 3 and "MLflow failed" in err and "Traceback" not in err, err
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "30"
    assert os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] == "0"


def test_a_long_mlflow_error_is_cut_visibly() -> None:
    from strataml.errors import StrataError
    from strataml.imports.mlflow import _call

    def fails() -> None:
        raise RuntimeError("Max retries exceeded with url: /api/2.0/mlflow/experiments/get-by-name " + "x" * 400)

    with pytest.raises(StrataError) as caught:
        _call("reading", fails)
    # (Cut mid-word at 300 characters, the message looked whole.)
    assert caught.value.message.endswith("…") and len(caught.value.message) < 340


def test_a_tracking_uri_that_is_not_a_uri_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from strataml.cli.main import run

    require_extra("mlflow", "mlflow")  # (without it, the import says it needs MLflow first)

    assert run(["init", str(tmp_path / "ws")]) == 0
    capsys.readouterr()
    code = run(["-C", str(tmp_path / "ws"), "import", "mlflow", "--tracking-uri", "http://[::1", "--experiment", "x"])
    err = capsys.readouterr().err
    assert code == 3 and "--tracking-uri http://[::1 is not a URI" in err and "internal error" not in err, err


def test_an_imported_run_has_no_model_to_register(store: tuple[Path, dict[str, Any]],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root, made = store
    code, _out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                             "--runs", made["done"], capsys=capsys)
    assert code in (0, 1), err
    run = next(p.name for p in (root / "runs").iterdir() if p.is_dir())
    code, _out, err = invoke(root, "model", "register", f"run:{run}", "--name", "churn", capsys=capsys)
    assert code == 2 and "has no model artifacts under models/" in err, err  # refused, as a failed run is
    assert not (root / "models/churn").exists()


def test_a_run_id_from_the_store_reaches_the_terminal_escaped(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The store is another team's (or a file anyone could write): a run id holding an escape
    sequence set the terminal's title and cleared its screen when the import named the run."""
    import sqlite3

    root, made = store
    hostile = "\x1b]0;PWNED\x07\x1b[2J"
    db = sqlite3.connect(made["uri"].removeprefix("sqlite:///"))
    try:
        db.execute("UPDATE runs SET run_uuid = ? WHERE run_uuid = ?", (hostile, made["failed"]))
        db.commit()
    finally:
        db.close()
    _code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                             "--dry-run", capsys=capsys)
    assert "\x1b" not in out + err and "\\x1b]0;PWNED" in out + err, out + err


@pytest.mark.parametrize(("store", "root", "allowed"), [
    ("http://mlflow.internal:5000", "http://mlflow.internal:5000/api/2.0/mlflow-artifacts/artifacts/x", True),
    ("http://mlflow.internal:5000", "HTTP://MLFLOW.internal:5000/x", True),
    ("http://mlflow.internal:5000", "mlflow-artifacts:/x", True),
    ("http://mlflow.internal:5000", "s3://team-bucket/x", True),
    ("http://mlflow.internal:5000", "wasbs://c@acct.blob.core.windows.net/x", True),
    ("databricks", "dbfs:/databricks/mlflow-tracking/1/x", True),
    # A backslash or user information: parsers disagree on the host (urllib3 went to 127.0.0.1:9911).
    ("http://mlflow.internal:5000", "http://127.0.0.1:9911\\@mlflow.internal:5000/x", False),
    ("http://mlflow.internal:5000", "http://user@mlflow.internal:5000/x", False),
    # An object store whose endpoint the URI names, another host, another Azure account host.
    ("http://mlflow.internal:5000", "r2://bucket@evil.example.com/x", False),
    ("http://mlflow.internal:5000", "hdfs://evil:8020/x", False),
    ("http://mlflow.internal:5000", "http://evil/x", False),
    ("http://mlflow.internal:5000", "wasbs://c@evil.example.com/x", False),
    # A store read from a file names any host it likes.
    ("sqlite:///mlflow.db", "s3://bucket/x", False),
    ("sqlite:///mlflow.db", "dbfs:/x", False),
    # A database store holds whatever roots were written into it, as a file does.
    ("postgresql://db.corp:5432/mlflow", "http://db.corp:5432/x", False),
])
def test_which_remote_artifact_roots_are_read(store: str, root: str, allowed: bool) -> None:
    from strataml.imports.mlflow import Remote

    said = Remote(store).refuses(root, root.split(":")[0].lower())
    assert (said == "") is allowed, said
    if not allowed and "with no host named" not in said and "not a plain host" not in said:
        assert "--allow-artifact-host" in said  # (and naming it lets it through)
        host = said.split("--allow-artifact-host ")[1]
        assert Remote(store, frozenset({host})).refuses(root, root.split(":")[0].lower()) == ""


@pytest.mark.parametrize("root", ["file://evil.example/share/RUN/artifacts", "//evil.example/share/RUN/artifacts",
                                  "\\\\evil.example\\share\\RUN\\artifacts"])
def test_an_artifact_root_on_another_machine_s_share_is_refused(root: str) -> None:
    """On Windows, file://HOST/... and \\\\HOST\\share are a network share: reaching it hands the
    host the user's login (NTLM)."""
    from types import SimpleNamespace

    from strataml.imports.mlflow import Remote, _foreign_root

    said = _foreign_root(SimpleNamespace(artifact_uri=root, run_id="RUN"), Remote("sqlite:///mlflow.db"))
    assert "another machine's share" in said, said


def test_a_run_whose_mlflow_params_say_a_time_split_imports_and_passes(
    store: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`strataml run` logs split.kind to MLflow: such a run, imported (MLflow holds no split of
    it), broke the rule that a run whose params say a time split repeats it."""
    from strataml.doctor import engine

    root, made = store
    client = made["client"]
    timed = client.create_run(made["exp"], run_name="timed", start_time=1_790_000_700_000)
    client.log_param(timed.info.run_id, "split.kind", "time")
    client.log_metric(timed.info.run_id, "test_accuracy", 0.8)
    client.set_terminated(timed.info.run_id, "FINISHED", end_time=1_790_000_701_000)
    code, out, err = invoke(root, "import", "mlflow", "--tracking-uri", made["uri"], "--experiment", "churn",
                            "--runs", timed.info.run_id, capsys=capsys)
    assert code == 0, out + err
    assert timed.info.run_id in imported(root)
    assert not [f for f in engine.doctor(root).findings if f.code == "TFC0003-E001"]
