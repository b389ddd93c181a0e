"""`strataml export model-card`: checked by huggingface_hub's own ModelCard, offline."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import uuid
from pathlib import Path

import pytest

from conftest import copy_example, edit_yaml, invoke, read_yaml, require_extra, without
from strataml.installed import extra_hint


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("export") / "example")


def models_of(root: Path) -> list[str]:
    return sorted(read_yaml(p)["ref"] for p in root.glob("models/*/*/model.yaml"))


def load_card(path: Path):  # type: ignore[no-untyped-def]
    from huggingface_hub import ModelCard

    # ignore_metadata_errors=False: a model-index the Hub's parser cannot read raises here.
    return ModelCard.load(path, ignore_metadata_errors=False)


@pytest.mark.parametrize("where", ["example", "generated"])
def test_every_model_card_is_read_back_by_huggingface_hub(
    example: Path, ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    require_extra("huggingface_hub", "modelcard")
    root = example if where == "example" else ws
    refs = models_of(root)
    assert refs
    for ref in refs:
        out = tmp_path / ref.replace(":", "_").replace("@", "_") / "README.md"
        code, said, err = invoke(root, "export", "model-card", ref, "-o", str(out), "--license", "Apache-2.0",
                                 "--format", "json", capsys=capsys)
        assert code == 0, err
        summary = json.loads(said)
        model = read_yaml(root / f"models/{ref.split(':')[1].replace('@', '/')}/model.yaml")
        metrics = model["evaluation"]["metrics"]
        card = load_card(out)
        assert card.data.license == "apache-2.0" and summary["license"] == "apache-2.0"
        assert card.data.model_name == ref.split(":")[1].split("@")[0]
        results = {r.metric_type: r for r in card.data.eval_results}
        assert {k: r.metric_value for k, r in results.items()} == pytest.approx(metrics)
        dataset = model["inputs"][0]
        assert {r.dataset_revision for r in results.values()} == {dataset["digest"]}
        assert {r.dataset_name for r in results.values()} == {dataset["ref"].split(":")[1].split("@")[0]}
        assert card.data.datasets is None  # (the Hub would read a name as a Hub dataset id and link it)
        assert summary["metrics"] == len(metrics) and summary["ref"] == ref
        for section in ("## Lineage", "## Evaluation", "## Gate receipt", "## Lifecycle", "## Signatures"):
            assert section in card.text
        assert model["produced_by"].split(":")[1].replace("-", "\\-") in card.text


def test_the_card_says_what_the_records_say(example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_extra("huggingface_hub", "modelcard")
    code, text, err = invoke(example, "export", "model-card", "model:iris-classifier@1", capsys=capsys)
    assert code == 0, err
    assert "lifecycle state **production**" in text
    assert "Status **PASS**" in text and "test\\_f1\\_macro \\>\\= 0\\.90" in text
    assert "shadow week matched the baseline" in text  # the ledger's reasons
    assert "license:" not in text.split("---")[1]  # none recorded, none given: left out, and said
    code, _o, err = invoke(example, "export", "model-card", "model:iris-classifier@1", "-o", str(tmp_path / "c.md"),
                           capsys=capsys)
    assert code == 0 and "no licence recorded" in err


def test_repository_text_cannot_break_the_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A licence with Markdown and a front-matter fence in it stays text: the metadata still parses."""
    require_extra("huggingface_hub", "modelcard")
    root = copy_example(tmp_path / "ws")
    edit_yaml(root / "datasets/iris/1/dataset.yaml", lambda d: d.update(license="x\n---\n<img src=x onerror=alert(1)> [a](javascript:1)"))
    edit_yaml(root / "models/iris-classifier/1/model.yaml", lambda d: d.setdefault("tags", {}).update(license="mit\n---\nowned: true"))
    out = tmp_path / "README.md"
    code, _o, err = invoke(root, "export", "model-card", "model:iris-classifier@1", "-o", str(out), capsys=capsys)
    assert code == 0, err
    card = load_card(out)
    assert "owned" not in card.data.to_dict()
    assert not re.search(r"(?<!\\)<img", card.text) and not re.search(r"(?<!\\)\]\(javascript", card.text)
    assert "\\<img src\\=x onerror\\=alert\\(1\\)\\>" in card.text


def test_usage_errors_say_what_to_do(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _o, err = invoke(example, "export", "model-card", "dataset:iris@1", capsys=capsys)
    assert code == 3 and "is not a model version" in err
    code, _o, err = invoke(example, "export", "model-card", "model:iris-clasifier@1", capsys=capsys)
    assert code == 3 and "did you mean" in err
    code, _o, err = invoke(example, "export", "model-card", "model:iris-classifier@1", "--format", "json", capsys=capsys)
    assert code == 3 and "-o FILE" in err


def test_without_the_extra_the_error_names_it(example: Path) -> None:
    done = without(("huggingface_hub",), "-C", str(example), "export", "model-card", "model:iris-classifier@1")
    assert done.returncode == 3 and extra_hint("modelcard") in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------------
# OpenLineage


def ol_events(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    code, out, err = invoke(root, "export", "openlineage", *args, capsys=capsys)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def revalidate(event: dict) -> None:
    """The event's core fields through openlineage-python's own classes and their validators
    (runId a UUID, eventTime ISO 8601 with a time, producer and schemaURL URIs)."""
    from openlineage.client import event_v2 as ol

    ol.RunEvent(
        eventType=ol.RunState(event["eventType"]),
        eventTime=event["eventTime"],
        run=ol.Run(runId=event["run"]["runId"]),
        job=ol.Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
        producer=event["producer"],
        inputs=[ol.InputDataset(namespace=d["namespace"], name=d["name"]) for d in event["inputs"]],
        outputs=[ol.OutputDataset(namespace=d["namespace"], name=d["name"]) for d in event["outputs"]],
    )
    facets = [*event["run"]["facets"].values(), *event["job"]["facets"].values()]
    facets += [f for d in event["inputs"] + event["outputs"] for f in d["facets"].values()]
    for facet in facets:
        assert facet["_producer"].startswith("https://strataml.dev/strataml/")
        assert facet["_schemaURL"].startswith(("https://openlineage.io/spec/facets/", "https://strataml.dev/schemas/"))


def test_every_run_is_a_start_and_an_end_the_package_accepts(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_extra("openlineage.client", "openlineage")
    events = ol_events(example, capsys)
    runs = {read_yaml(p)["ref"]: read_yaml(p) for p in example.glob("runs/*/run.yaml")}
    assert len(events) == 2 * len(runs)
    for event in events:
        revalidate(event)
    by_run: dict[str, list[dict]] = {}
    for event in events:
        by_run.setdefault(event["run"]["facets"]["strataml"]["ref"], []).append(event)
    assert set(by_run) == set(runs)
    for ref, (start, end) in by_run.items():
        run = runs[ref]
        assert (start["eventType"], end["eventType"]) == ("START", "COMPLETE")
        assert start["run"]["runId"] == end["run"]["runId"] and uuid.UUID(start["run"]["runId"]).version == 5
        assert start["job"]["name"] == run["experiment"].split(":")[1]
        own = end["run"]["facets"]["strataml"]
        assert own["metrics"] == pytest.approx(run["metrics"]) and own["code"]["commit"] == run["code"]["commit"]
        inputs = {d["name"]: d["facets"] for d in end["inputs"]}
        for item in run["inputs"]:
            name = "datasets/" + item["ref"].split(":")[1].split("@")[0]
            assert inputs[name]["version"]["datasetVersion"] == item["digest"]
            dataset = read_yaml(example / f"datasets/{item['ref'].split(':')[1].replace('@', '/')}/dataset.yaml")
            assert [f["name"] for f in inputs[name]["schema"]["fields"]] == [c["name"] for c in dataset["columns"]]
    registered = {read_yaml(p)["produced_by"]: read_yaml(p)["ref"] for p in example.glob("models/*/*/model.yaml")}
    for run_ref, model_ref in registered.items():
        end = by_run[run_ref][1]
        name, version = model_ref.split(":")[1].split("@")
        assert [(d["name"], d["facets"]["version"]["datasetVersion"]) for d in end["outputs"]] == [(f"models/{name}", version)]
    # Idempotent for a catalogue: the same events, byte for byte, every time.
    code, again, _ = invoke(example, "export", "openlineage", capsys=capsys)
    assert [json.loads(line) for line in again.splitlines()] == events


def test_a_failed_run_ends_in_fail_with_its_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_extra("openlineage.client", "openlineage")
    root = copy_example(tmp_path / "ws")
    run_yaml = next(root.glob("runs/*synthetic*/run.yaml"))
    edit_yaml(run_yaml, lambda d: d.update(status="failed", error={"type": "ValueError", "message": "diverged"}))
    events = ol_events(root, capsys)
    ref = read_yaml(run_yaml)["ref"]
    end = [e for e in events if e["run"]["facets"]["strataml"]["ref"] == ref][-1]
    assert end["eventType"] == "FAIL" and end["run"]["facets"]["errorMessage"]["message"] == "diverged"
    revalidate(end)


class _Catalogue:
    """A real HTTP server on a loopback port that keeps what is POSTed to /api/v1/lineage."""

    def __init__(self, status: int = 201, prefix: str = "") -> None:
        import http.server
        import threading

        received: list[dict] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == f"{prefix}/api/v1/lineage" and status < 300:
                    received.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.received = received
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_url_posts_every_event_to_a_catalogue(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_extra("openlineage.client", "openlineage")
    events = ol_events(example, capsys)
    catalogue = _Catalogue()
    try:
        code, out, err = invoke(example, "export", "openlineage", "--url", catalogue.url, "--format", "json",
                                capsys=capsys)
        assert code == 0, err
        assert json.loads(out)["sent"] == len(events)
        assert catalogue.received == events
    finally:
        catalogue.close()
    behind = _Catalogue(prefix="/lineage/ol")  # a catalogue behind a reverse proxy's path
    try:
        code, out, err = invoke(example, "export", "openlineage", "--url", behind.url + "/lineage/ol", capsys=capsys)
        assert code == 0 and behind.received == events, err
    finally:
        behind.close()
    # (The last three made urlsplit raise: an internal error.)
    for bad in ("file:///tmp", "127.0.0.1:5000", "http://", f"{catalogue.url}/?q=1", "http://[::1", "http://[zz]:5000",
                "http://host:99999"):
        code, _o, err = invoke(example, "export", "openlineage", "--url", bad, capsys=capsys)
        assert code == 3 and "Invalid value for '--url'" in err and "internal error" not in err, err
    refusing = _Catalogue(status=500)
    try:
        code, _o, err = invoke(example, "export", "openlineage", "--url", refusing.url, capsys=capsys)
        assert code == 3 and "did not accept event 1" in err and "Traceback" not in err
        # (named by the run's ref, which the user knows, beside the derived runId)
        assert re.search(r"\(START of run:[^,]+, runId [0-9a-f-]{36}\)", err), err
    finally:
        refusing.close()


def test_since_exports_only_the_runs_that_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_extra("openlineage.client", "openlineage")
    from test_git_rules import commit_all, git

    root = copy_example(tmp_path / "ws")
    git(root, "init", "-q")
    base = commit_all(root, "base")
    run_yaml = next(root.glob("runs/*iris*/run.yaml"))
    edit_yaml(run_yaml, lambda d: d["tags"].update(reviewed="yes"))
    events = ol_events(root, capsys, "--since", base)
    assert {e["run"]["facets"]["strataml"]["ref"] for e in events} == {read_yaml(run_yaml)["ref"]}
    assert ol_events(root, capsys, "--since", "HEAD") == events  # uncommitted edits count, as for doctor --since


def test_openlineage_usage_errors(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _o, err = invoke(example, "export", "openlineage", "-o", "x.jsonl", "--url", "http://127.0.0.1:9", capsys=capsys)
    assert code == 3 and "not both" in err
    code, _o, err = invoke(example, "export", "openlineage", "--format", "json", capsys=capsys)
    assert code == 3 and "-o FILE" in err
    done = without(("openlineage",), "-C", str(example), "export", "openlineage")
    assert done.returncode == 3 and extra_hint("openlineage") in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------------
# Croissant


def test_every_example_dataset_is_a_croissant_mlcroissant_loads_and_reads(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_extra("mlcroissant", "croissant")
    import mlcroissant as mlc

    for meta in sorted(example.glob("datasets/*/*/dataset.yaml")):
        record = read_yaml(meta)
        ref = record["ref"]
        # Beside its files (a copy of the folder): mlcroissant then reads the rows through it.
        folder = tmp_path / meta.parent.relative_to(example)
        folder.mkdir(parents=True)
        for f in record["files"]:
            (folder / f["path"]).write_bytes((meta.parent / f["path"]).read_bytes())
        out = folder / "croissant.json"
        code, said, err = invoke(example, "export", "croissant", ref, "-o", str(out), "--format", "json", capsys=capsys)
        assert code == 0, err
        assert json.loads(said)["files"] == len(record["files"])
        dataset = mlc.Dataset(jsonld=str(out))  # its own validation: raises on an error
        doc = json.loads(out.read_text())
        assert {d["contentUrl"]: (d["sha256"], d["contentSize"]) for d in doc["distribution"]} == {
            f["path"]: (f["sha256"], f"{f['size']} B") for f in record["files"]
        }
        assert doc["strataml:digest"] == record["digest"] and doc["license"] == record["license"]
        name = ref.split(":")[1].split("@")[0]
        fields = doc["recordSet"][0]["field"]
        assert [f["name"] for f in fields] == [c["name"] for c in record["columns"]]
        rows = list(itertools.islice(dataset.records(name), 3))
        assert len(rows) == 3 and all(len(r) == len(fields) for r in rows)


def test_a_dataset_in_parts_with_every_column_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_extra("mlcroissant", "croissant")
    import mlcroissant as mlc

    root = copy_example(tmp_path / "ws")
    parts = tmp_path / "parts"
    parts.mkdir()
    header = "n,x,flag,label,kind,day,at\n"
    (parts / "part-1.csv").write_text(header + "1,0.5,true,alpha,a,2024-01-01,2024-01-01T10:00:00Z\n")
    (parts / "part-2.csv").write_text(header + "2,1.5,false,beta,b,2024-01-02,2024-01-02T11:00:00Z\n")
    code, _o, err = invoke(root, "dataset", "add", "every-type", str(parts / "part-1.csv"), str(parts / "part-2.csv"),
                           "--version", "1", "--license", "CC0-1.0", "--source", "made for this test", capsys=capsys)
    assert code == 0, err
    types = {"n": "integer", "x": "float", "flag": "boolean", "label": "string", "kind": "category", "day": "date",
             "at": "datetime"}
    edit_yaml(root / "datasets/every-type/1/dataset.yaml",
              lambda d: d.update(columns=[{"name": k, "type": v} for k, v in types.items()]))
    # Beside a copy of its files, as a hub holds them (-o refuses the version's own folder).
    folder = tmp_path / "published"
    shutil.copytree(root / "datasets/every-type/1", folder)
    out = folder / "croissant.json"
    code, _o, err = invoke(root, "export", "croissant", "dataset:every-type@1", "-o", str(out), capsys=capsys)
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert [d["@type"] for d in doc["distribution"]] == ["cr:FileObject", "cr:FileObject", "cr:FileSet"]
    assert [f["dataType"] for f in doc["recordSet"][0]["field"]] == [
        "sc:Integer", "sc:Float", "sc:Boolean", "sc:Text", "sc:Text", "sc:Date", "sc:DateTime"
    ]
    rows = list(mlc.Dataset(jsonld=str(out)).records("every-type"))
    assert len(rows) == 2


def test_a_record_the_doctor_finds_errors_in_is_not_exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An emptied model.yaml gave a card with no metrics and no gate, exit 0: what a card says
    reads as evidence, so a record that fails its contracts is refused (as sign and promote do),
    and the dashboard offers no export for it."""
    require_extra("huggingface_hub", "modelcard")
    require_extra("mlcroissant", "croissant")
    from strataml.export.embedded import documents
    from strataml.read import saved
    from strataml.read.query import Graph

    ws = copy_example(tmp_path / "example")
    (ws / "models/iris-classifier/1/model.yaml").write_text("")
    edit_yaml(ws / "datasets/iris/1/dataset.yaml", lambda d: d.update(colour="blue"))
    for args, ref in ((("model-card",), "model:iris-classifier@1"), (("croissant",), "dataset:iris@1")):
        out = tmp_path / "out.txt"
        code, _o, err = invoke(ws, "export", *args, ref, "-o", str(out), capsys=capsys)
        assert code == 2 and f"{ref} has doctor errors" in err and "strataml doctor" in err, err
        assert {"model-card": "TFC0004-E001", "croissant": "TFC0002-E001"}[args[0]] in err, err  # (named)
        assert not out.exists()
    offered = documents(Graph(saved.make(ws)), ["model-card", "croissant"])
    assert "model:iris-classifier@1" not in offered and "dataset:iris@1" not in offered
    assert "model:breast-cancer-classifier@1" in offered and "dataset:breast-cancer@1" in offered
    code, _o, err = invoke(ws, "dashboard", "--exports", "-o", str(tmp_path / "site.html"), capsys=capsys)
    assert code == 0 and "--exports: none for 2 versions the doctor finds errors in" in err, err


def test_croissant_usage_errors(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _o, err = invoke(example, "export", "croissant", "model:iris-classifier@1", capsys=capsys)
    assert code == 3 and "is not a dataset version" in err
    code, _o, err = invoke(example, "export", "croissant", "dataset:iris@1", "--format", "json", capsys=capsys)
    assert code == 3 and "-o FILE" in err
    done = without(("mlcroissant",), "-C", str(example), "export", "croissant", "dataset:iris@1")
    assert done.returncode == 3 and extra_hint("croissant") in done.stderr and "Traceback" not in done.stderr


def test_o_never_replaces_records_policy_keys_or_git(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example(tmp_path / "ws")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n", "utf-8")
    outside = tmp_path / "innocent.md"
    outside.symlink_to(root / "models/iris-classifier/1/model.yaml")
    targets = [str(root / t) for t in ("datasets/iris/1/dataset.yaml", "strataml.yaml", ".git/config",
                                        "tfc/keys/new.pub", "models/iris-classifier/lifecycle.jsonl")] + [str(outside)]
    before = {t: Path(t).read_bytes() for t in targets if Path(t).exists()}
    for target in targets:
        for args in (["doctor", "--format", "json", "-o", target], ["index", "-o", target],
                     ["dashboard", "-o", target]):
            code, _o, err = invoke(root, *args, capsys=capsys)
            assert code == 3 and "not writing" in err, (args, err)
    assert {t: Path(t).read_bytes() for t in before} == before and not (root / "tfc/keys/new.pub").exists()
    other = copy_example(tmp_path / "other")  # a file of another workspace than the one -C names
    code, _o, err = invoke(root, "index", "-o", str(other / "strataml.yaml"), capsys=capsys)
    assert code == 3 and "not writing" in err
    code, _o, err = invoke(root, "index", "-o", str(tmp_path / "elsewhere.json"), capsys=capsys)
    assert code == 0, err


def test_o_never_makes_a_file_the_readers_would_take_for_a_record(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example(tmp_path / "ws")
    before = invoke(root, "list", "models", "--format", "json", capsys=capsys)[1]
    ledger = (root / "models/iris-classifier/lifecycle.jsonl").read_bytes()
    for target in ("models/iris-classifier/9/model.yaml", "datasets/new/1/dataset.yaml", "runs/fake/run.yaml",
                   "experiments/new.yaml", "experiments/report.html", "models/iris-classifier/1/model.yaml.asc",
                   "models/iris-classifier/lifecycle.jsonl", "models/iris-classifier/1/Model.YAML",
                   "sub/.gitattributes", "sub/strataml.yaml"):
        for args in (["index", "-o", target], ["dashboard", "-o", target], ["doctor", "-o", target]):
            code, _o, err = invoke(root, *args, capsys=capsys)
            assert code == 3 and "not writing" in err, (args, err)
            assert not (root / target).exists() or target.endswith(".jsonl")  # (that ledger exists: unchanged)
    assert not any((root / f).exists() for f in ("models/iris-classifier/9", "datasets/new", "runs/fake", "sub"))
    assert invoke(root, "list", "models", "--format", "json", capsys=capsys)[1] == before
    assert (root / "models/iris-classifier/lifecycle.jsonl").read_bytes() == ledger
    # Any other new file in the record folders too, the first time as the second: one beside a
    # record's files would be TFC0006-W001, one in models/ or runs/ TFC0001-E002.
    for target in ("datasets/iris/1/notes.json", "models/report.txt", "runs/r.txt", "datasets/new.json"):
        for _ in range(2):
            code, _o, err = invoke(root, "doctor", "-o", target, capsys=capsys)
            assert code == 3 and "not writing" in err and "outside datasets/" in err, (target, err)
            assert not (root / target).exists()
    assert invoke(root, "doctor", "--strict", capsys=capsys)[0] == 0


def test_o_refuses_managed_names_in_any_case_and_ci_workflows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example(tmp_path / "ws")
    for target in ("TFC/keys/keys.yaml", ".GIT/config", ".github/workflows/x.yml", "Strataml.yaml", "CODEOWNERS",
                   "docs/CODEOWNERS", ".mailmap", ".gitlab-ci.yml", ".circleci/config.yml", ".gitea/workflows/ci.yml",
                   ".forgejo/workflows/ci.yml", "Jenkinsfile"):
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        if target == "Strataml.yaml":  # on Linux another file; on macOS and Windows the same
            (root / target).write_text("x\n", "utf-8")
        code, _o, err = invoke(root, "index", "-o", str(root / target), capsys=capsys)
        assert code == 3 and "not writing" in err, (target, err)


def test_o_never_replaces_the_ci_workflows_or_git_files_of_the_repository_a_workspace_is_a_folder_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A monorepo's ml/: the repository's .github/ and .gitattributes govern the workspace's CI and
    checkouts as its own would (init moves its workflow there); a report written over them exited 0."""
    top = tmp_path / "mono"
    (top / ".git").mkdir(parents=True)
    (top / ".github/workflows").mkdir(parents=True)
    files = {".github/workflows/ci.yml": "name: ci\n", ".gitattributes": "*.joblib filter=lfs\n"}
    for rel, text in files.items():
        (top / rel).write_text(text, "utf-8")
    root = copy_example(top / "ml")
    for target in ("../.github/workflows/ci.yml", "../.github/new.yml", "../.gitattributes", "../.lfsconfig",
                   "../docs/.gitignore", "../.pre-commit-config.yaml"):
        for args in (["doctor", "-o", target], ["index", "-o", target], ["dashboard", "-o", target]):
            code, _o, err = invoke(root, *args, capsys=capsys)
            assert code == 3 and "in the git repository" in err, (args, err)
    assert {rel: (top / rel).read_text("utf-8") for rel in files} == files
    assert not any((top / p).exists() for p in (".github/new.yml", ".lfsconfig", "docs", ".pre-commit-config.yaml"))
    code, _o, err = invoke(root, "index", "-o", "../reports/index.json", capsys=capsys)
    assert code == 0 and (top / "reports/index.json").is_file(), err


def test_o_is_never_written_through_a_symlink_in_the_repository_a_workspace_is_a_folder_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A monorepo's ml/: a symlink committed elsewhere in the repository (docs/notes.txt ->
    ~/.bashrc) had its target replaced by `-o ../docs/notes.txt`, with text the repository's
    folder names chose. The repository is written as the workspace is: never through a link."""
    top = tmp_path / "mono"
    (top / ".git").mkdir(parents=True)
    (top / "docs").mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n", "utf-8")
    (top / "docs/notes.txt").symlink_to(victim)
    (top / "docs/dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (top / "linked").symlink_to(tmp_path / "away", target_is_directory=True)
    (tmp_path / "away").mkdir()
    root = copy_example(top / "ml")
    for target in ("../docs/notes.txt", "../docs/dangling.txt", "../linked/report.txt"):
        for args in (["doctor", "-o", target], ["index", "-o", target], ["dashboard", "-o", target]):
            code, _o, err = invoke(root, *args, capsys=capsys)
            assert code == 3 and "symlink" in err, (args, err)
    # With no workspace to start from (a federation named from the repository's top), the
    # repository the path lies in is looked up from the path itself.
    code, _o, err = invoke(top, "dashboard", "--federate", f"team={root}", "-o", str(top / "docs/notes.txt"),
                           capsys=capsys)
    assert code == 3 and "symlink" in err, err
    assert victim.read_text("utf-8") == "mine\n"
    assert not (tmp_path / "nowhere.txt").exists() and not any((tmp_path / "away").iterdir())
    code, _o, err = invoke(root, "doctor", "-o", str(tmp_path / "outside.txt"), capsys=capsys)
    assert code == 0 and (tmp_path / "outside.txt").is_file(), err  # outside the repository: the user's choice


def test_o_is_never_written_through_a_repository_reached_through_a_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repository was looked up by the path's names, skipping linked folders: reached through
    the user's own link (~/proj -> ~/code/proj, /proc/self/cwd), it was "no repository", and the
    symlinks it holds were written through. Every link on the way is now judged where it lies."""
    repo = tmp_path / "R"
    (repo / ".git").mkdir(parents=True)
    (repo / "docs").mkdir()
    victim, away = tmp_path / "victim.txt", tmp_path / "away"
    victim.write_text("mine\n", "utf-8")
    away.mkdir()
    (repo / "docs/notes.txt").symlink_to(victim)
    (repo / "linked").symlink_to(away, target_is_directory=True)
    (tmp_path / "Rlink").symlink_to(repo, target_is_directory=True)  # the user's own link
    root = copy_example(tmp_path / "ws")
    monkeypatch.chdir(repo)
    for target in (tmp_path / "Rlink/docs/notes.txt", tmp_path / "Rlink/linked/new.txt", Path("/proc/self/cwd/docs/notes.txt")):
        code, _o, err = invoke(root, "doctor", "-o", str(target), capsys=capsys)
        assert code == 3 and "is a symlink the git repository" in err, (target, err)
    assert victim.read_text("utf-8") == "mine\n" and not any(away.iterdir())
    code, _o, err = invoke(root, "doctor", "-o", str(tmp_path / "Rlink/docs/real.txt"), capsys=capsys)
    assert code == 0 and (repo / "docs/real.txt").is_file(), err  # (the user's link itself is followed)


def test_export_makes_no_folder_through_a_symlink_the_repository_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """export made the missing folders of -o itself, before any check: `-o ../linked/sub/card.md`
    made sub/ wherever the committed symlink `linked` pointed, then was refused."""
    require_extra("huggingface_hub", "modelcard")
    top = tmp_path / "mono"
    (top / ".git").mkdir(parents=True)
    (tmp_path / "away").mkdir()
    (top / "linked").symlink_to(tmp_path / "away", target_is_directory=True)
    root = copy_example(top / "ml")
    code, _o, err = invoke(root, "export", "model-card", "model:iris-classifier@1", "-o", "../linked/sub/card.md",
                           capsys=capsys)
    assert code == 3 and "symlink" in err, err
    assert not any((tmp_path / "away").iterdir())


def test_o_dash_is_stdout_for_every_command_and_a_baseline_needs_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """index, dashboard and export took `-o -` as stdout; doctor, diff and report wrote a file named `-`."""
    root = copy_example(tmp_path / "ws")
    monkeypatch.chdir(root)
    for args in (["doctor", "-o", "-"], ["doctor", "--format", "sarif", "-o", "-"],
                 ["report", "experiment:iris-logreg", "-o", "-"], ["index", "-o", "-"]):
        code, out, err = invoke(root, *args, capsys=capsys)
        assert code == 0 and out.strip(), (args, err)
        assert not (root / "-").exists(), args
    for option in ("--write-baseline", "--baseline"):
        code, _o, err = invoke(root, "doctor", option, "-", capsys=capsys)
        assert code == 3 and "needs a file, not -" in err
        assert not (root / "-").exists()
    # A file named `-` is asked for as ./- (as with cat or rm): written, not printed.
    from strataml.cli.main import run

    for args in (["doctor", "--format", "json", "-o", "./-"], ["index", "-o", "./-"]):
        code = run(args)  # (from the workspace, no -C: `-C root` would make it root/./-)
        out, err = capsys.readouterr()
        assert code == 0 and not out.lstrip().startswith("{"), (args, out, err)
        assert json.loads((root / "-").read_text("utf-8")), args
        (root / "-").unlink()


def test_o_takes_a_file_name_as_long_as_the_system_allows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its temp file is named after it, 15 bytes longer: a 250-byte name was 'File name too long'."""
    root = copy_example(tmp_path / "ws")
    name = "r" * 250 + ".json"
    for target in (str(tmp_path / name), str(root / ".strataml" / name)):
        code, _o, err = invoke(root, "index", "-o", target, capsys=capsys)
        assert code == 0 and Path(target).is_file(), err
        assert sorted(p.name for p in Path(target).parent.iterdir() if p.name.endswith(".tmp")) == []


def test_the_task_is_what_the_model_was_evaluated_as(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """co2-rise-classifier (a 0/1 integer label, evaluated by accuracy) was carded as
    tabular-regression: the task came from the target column's type alone."""
    require_extra("huggingface_hub", "modelcard")
    from strataml.export.modelcard import _task

    for name in ("breast-cancer-classifier", "co2-rise-classifier", "iris-classifier"):
        code, text, err = invoke(example, "export", "model-card", f"model:{name}@1", capsys=capsys)
        assert code == 0, err
        assert "pipeline_tag: tabular-classification" in text, name
    columns = [{"name": "y", "type": "integer"}, {"name": "price", "type": "float"}, {"name": "kind", "type": "category"}]
    inputs = [{"attrs": {"columns": columns}}]
    assert _task({"target": "y"}, inputs, {"test_accuracy": 0.9}) == "tabular-classification"  # a 0/1 label
    assert _task({"target": "y"}, inputs, {"val/roc_auc": 0.9}) == "tabular-classification"
    assert _task({"target": "y"}, inputs, {"eval.mean_absolute_error": 2.0}) == "tabular-regression"  # counts
    assert _task({"target": "y"}, inputs, {}) == "tabular-regression"  # an integer, nothing else said: as before
    assert _task({"target": "y"}, inputs, {}, "sklearn") == "tabular-classification"  # it trains classifiers only
    assert _task({"target": "price"}, inputs, {"forecast_accuracy": 0.7}) == "tabular-regression"  # the type first
    assert _task({"target": "kind"}, inputs, {"test_rmse": 1.0}) == "tabular-classification"
    assert _task({"target": "y"}, inputs, {"accuracy": 1, "mae": 2}) == "tabular-regression"  # both said: an integer
    assert _task({"target": "gone"}, inputs, {"test-f1": 0.7}) == "tabular-classification"


def test_an_instant_outside_the_calendar_once_in_utc_is_no_event_time() -> None:
    """Found by an attacker: year 1 at +05:00 is year 0 in UTC, which Python cannot hold; the
    doctor accepts the text (it is a valid RFC 3339 time), and the export stopped with a traceback."""
    from strataml.export.openlineage import _instant

    assert _instant("0001-01-01T00:00:00+05:00") is None
    assert _instant("9999-12-31T23:59:59-05:00") is None
    assert _instant("2026-01-02T03:04:05+01:00") == "2026-01-02T02:04:05.000Z"


@pytest.mark.parametrize(("given", "written"), [
    ("MIT", ("mit", None)),
    ("GPL-3.0-only", ("gpl-3.0", None)),
    ("LGPL-2.1-only", ("lgpl-2.1", None)),
    ("AGPL-3.0-only", ("agpl-3.0", None)),
    ("GPL-3.0-or-later", ("other", "gpl-3.0-or-later")),
    ("Public-Domain", ("other", "public-domain")),
    ("MIT OR Apache-2.0", ("other", "mit-or-apache-2.0")),
    ("  ", (None, None)),
])
def test_a_licence_is_the_hub_s_id_or_other_with_its_name(given: str, written: tuple[str | None, str | None]) -> None:
    """Found by a new user: `GPL-3.0-only` was written `gpl-3.0-only`, an id the Hub does not list,
    so pushing the card failed the Hub's metadata check."""
    from strataml.export.modelcard import HUB_LICENCES, hub_licence

    assert hub_licence(given) == written
    assert written[0] is None or written[0] in HUB_LICENCES


def test_an_empty_licence_is_a_usage_error(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _o, err = invoke(example, "export", "model-card", "model:iris-classifier@1", "--license", "", capsys=capsys)
    assert code == 3 and "Invalid value for '--license': is empty" in err, err


@pytest.mark.parametrize(("version", "semver"), [("1", "1.0.0"), ("2024.01", "2024.1.0"), ("1.2", "1.2.0"),
                                                 ("1.2.3", "1.2.3"), ("2-rc1", "2-rc1")])
def test_a_numeric_version_is_a_semantic_version_in_croissant(version: str, semver: str) -> None:
    """Found by a new user: `2024.01` went out as it is, and mlcroissant warned on loading it."""
    from strataml.export.croissant import _semver

    assert _semver(version) == semver


def test_a_card_names_only_hub_datasets_in_its_metadata() -> None:
    """The Hub links each `datasets` entry as a Hub dataset id: a workspace's own `iris` would link
    to hf.co/datasets/iris. A dataset whose source is a Hub dataset is named by its id."""
    from strataml.export.modelcard import _hub_dataset

    def node(url: object) -> dict:
        return {"attrs": {"source": {"kind": "download", "url": url}}}

    assert _hub_dataset(node("https://huggingface.co/datasets/scikit-learn/iris")) == "scikit-learn/iris"
    assert _hub_dataset(node("https://huggingface.co/datasets/mnist/")) == "mnist"
    for other in ("https://archive.ics.uci.edu/dataset/53/iris", "https://huggingface.co/datasets/a/b/tree/main",
                  "https://huggingface.co/models/a", None, 3):
        assert _hub_dataset(node(other)) is None
    assert _hub_dataset({"attrs": {"source": "x"}}) is None


def test_a_run_whose_record_does_not_load_is_said_to_be_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run whose run.yaml does not load had no events, and the export said it wrote "18 events
    of 9 runs" with exit 0 in a workspace of 10 runs."""
    require_extra("openlineage.client", "openlineage")
    ws = copy_example(tmp_path / "example")
    broken = sorted(ws.glob("runs/*/run.yaml"))[0]
    broken.write_text("schema: [\n")
    code, out, err = invoke(ws, "export", "openlineage", "-o", str(tmp_path / "events.jsonl"), "--format", "json",
                            capsys=capsys)
    assert code == 1 and json.loads(out)["left_out"] == [f"run:{broken.parent.name}"], out
    assert f"left out 1 run whose run.yaml does not load or records no time: run:{broken.parent.name}" in err
