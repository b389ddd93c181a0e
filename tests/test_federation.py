"""One view over many workspaces: `strataml index|dashboard|serve --federate`.

Three real git repositories made from the example workspace: team-a, team-b (the same datasets,
its own runs: "team B trains on team A's published dataset") and team-c, whose iris dataset is
recorded under another name (flowers) with the same digest. Lineage must cross them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import age, copy_example, edit_yaml, require_extra
from strataml import schemas
from strataml.errors import StrataError
from strataml.read.dashboard import read_payload
from strataml.read.query import Graph

GIT = ["git", "-c", "user.email=fed@example.org", "-c", "user.name=Fed", "-c", "commit.gpgsign=false"]


def commit(root: Path, message: str = "state") -> None:
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", message, "--no-verify"], cwd=root, check=True)


def make_member(target: Path, name: str, rename_iris: str | None = None) -> Path:
    root = copy_example(target)
    edit_yaml(root / "strataml.yaml", lambda d: d.update(name=name))
    if rename_iris:
        (root / "datasets/iris").rename(root / f"datasets/{rename_iris}")
        for rel in (
            f"datasets/{rename_iris}/1/dataset.yaml",
            "experiments/iris-logreg.yaml",
            *(str(p.relative_to(root)) for p in root.glob("runs/*iris*/run.yaml")),
            "models/iris-classifier/1/model.yaml",
        ):
            path = root / rel
            path.write_text(path.read_text("utf-8").replace("dataset:iris@1", f"dataset:{rename_iris}@1"), "utf-8")
    age(root)
    commit(root)
    return root


def cli(exe: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*exe, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("fed")
    make_member(top / "a", "team-a")
    b = make_member(top / "b", "team-b")
    # Team B's record of the same bytes says something else about them: shown per name, not lost.
    edit_yaml(b / "datasets/iris/1/dataset.yaml", lambda d: d.update(description="Team B's copy of iris."))
    age(b)
    commit(b, "describe")
    make_member(top / "c", "team-c", rename_iris="flowers")
    return top


@pytest.fixture(scope="module")
def joined(members: Path, strataml_exe: list[str]) -> dict[str, Any]:
    done = cli(strataml_exe, "index", "--federate", "a", "b", "c", "-o", "fed.json", cwd=members)
    assert done.returncode == 0, done.stderr
    assert "3 workspaces" in done.stderr
    return json.loads((members / "fed.json").read_text("utf-8"))


def test_refs_are_namespaced_and_every_member_is_fresh(joined: dict[str, Any]) -> None:
    assert [w["name"] for w in joined["workspaces"]] == ["team-a", "team-b", "team-c"]
    assert {w["status"] for w in joined["workspaces"]} == {"fresh"}
    assert all(len(w["commit"]) == 40 and w["health"]["errors"] == 0 for w in joined["workspaces"])
    ids = {n["id"] for n in joined["nodes"]}
    assert "team-b/model:iris-classifier@1" in ids and "team-c/experiment:iris-logreg" in ids
    assert all(n["id"].startswith(n["workspace"] + "/") for n in joined["nodes"])
    # References inside the records follow the namespace (readers look them up in the federation).
    run = next(n for n in joined["nodes"] if n["id"].startswith("team-b/run:") and "iris" in n["id"])
    assert run["attrs"]["experiment"] == "team-b/experiment:iris-logreg"
    assert run["attrs"]["inputs"][0]["ref"] == "team-a/dataset:iris@1"  # the joined dataset's canonical id
    assert schemas.validate("federation", joined) == []


def test_a_digest_in_three_workspaces_is_one_dataset_with_every_name(joined: dict[str, Any]) -> None:
    iris = next(n for n in joined["nodes"] if n["id"] == "team-a/dataset:iris@1")
    assert [(x["ref"], x["workspace"], x["path"]) for x in iris["names"]] == [
        ("team-a/dataset:iris@1", "team-a", "datasets/iris/1"),
        ("team-b/dataset:iris@1", "team-b", "datasets/iris/1"),
        ("team-c/dataset:flowers@1", "team-c", "datasets/flowers/1"),
    ]
    assert joined["aliases"]["team-c/dataset:flowers@1"] == "team-a/dataset:iris@1"
    ids = {n["id"] for n in joined["nodes"]}
    assert "team-c/dataset:flowers@1" not in ids and "team-b/dataset:iris@1" not in ids
    assert iris["differ"] == ["description"]
    assert iris["names"][1]["attrs"]["description"] == "Team B's copy of iris."
    assert iris["attrs"]["description"] == iris["names"][0]["attrs"]["description"] != "Team B's copy of iris."
    graph = Graph(joined)
    assert graph.find("team-c/dataset:flowers@1")["id"] == "team-a/dataset:iris@1"
    assert graph.find("dataset:flowers@1")["id"] == "team-a/dataset:iris@1"  # one member has that name
    assert graph.find("dataset:iris@1")["id"] == "team-a/dataset:iris@1"  # three names, one record
    with pytest.raises(StrataError, match="several workspaces"):
        graph.find("experiment:iris-logreg")
    from strataml.read.query import rows, select

    team_c = {r["id"] for r in select(rows(graph, "datasets"), ["workspace=team-c"], None, False, None)}
    assert "team-a/dataset:iris@1" in team_c and len(team_c) == 3  # the joined dataset is team-c's too
    downstream = {s.node for s in graph.lineage("team-a/dataset:iris@1", "down")}
    for team in ("team-a", "team-b", "team-c"):
        assert f"{team}/model:iris-classifier@1" in downstream  # lineage crosses the repositories
    cross = [e for e in joined["edges"] if e.get("cross")]
    assert cross and all(e["from"].split("/")[0] != e["to"].split("/")[0] for e in cross)
    assert {e["to"].split("/")[0] for e in cross} == {"team-b", "team-c"}
    upstream = {s.node for s in graph.lineage("team-c/model:iris-classifier@1", "up")}
    assert "team-a/dataset:iris@1" in upstream


def test_the_federated_index_is_deterministic_whatever_the_argument_order(
    members: Path, joined: dict[str, Any], strataml_exe: list[str]
) -> None:
    first = (members / "fed.json").read_bytes()
    done = cli(strataml_exe, "index", "--federate", "c", "a", "b", "-o", "-", cwd=members)
    assert done.returncode == 0, done.stderr
    assert done.stdout.encode("utf-8") != b""
    again = json.loads(done.stdout)
    assert [w["source"] for w in again["workspaces"]] == ["a", "b", "c"]
    assert done.stdout.encode("utf-8") == first


def test_the_schema_refuses_what_a_federation_cannot_hold(joined: dict[str, Any]) -> None:
    fast = schemas._fast("federation")  # the compiled check agrees with jsonschema both ways
    assert fast is not None and fast(joined)
    changes = [
        lambda d: d["nodes"][0].update(id=d["nodes"][0]["id"].split("/", 1)[1]),  # not namespaced
        lambda d: d["workspaces"][0].update(status="fine"),
        lambda d: d.pop("workspaces"),
        lambda d: d["nodes"][0]["findings"].update(errors=-1),  # the index's own node fields still hold
        lambda d: d["edges"][0].update(cross=False),
        lambda d: d["findings"].append({"code": "X", "severity": "fatal", "path": "", "line": None}),
    ]
    for change in changes:
        broken = json.loads(json.dumps(joined))
        change(broken)
        assert schemas.validate("federation", broken) and not fast(broken)
    bundled = json.dumps(schemas.bundled("federation"))
    assert "index.schema.json" not in bundled and "common.schema.json" not in bundled


def test_missing_broken_and_stale_members_are_shown_never_dropped(
    members: Path, joined: dict[str, Any], strataml_exe: list[str], tmp_path: Path
) -> None:
    (tmp_path / "not-a-workspace").mkdir()
    (tmp_path / "garbage.json").write_text("{not json", "utf-8")
    (tmp_path / "other.json").write_text(json.dumps({"schema": "strataml/index/v1", "nodes": 3}), "utf-8")
    assert not (members / "b/.strataml").exists()  # the federation writes nothing in a member
    assert cli(strataml_exe, "-C", str(members / "b"), "index", "-o", str(tmp_path / "copy.json"), cwd=tmp_path).returncode == 0
    stale_ws, fresh_ws = tmp_path / "d", tmp_path / "e"
    for copied in (stale_ws, fresh_ws):
        shutil.copytree(members / "a", copied, symlinks=True)
        age(copied)
        age(copied / ".git")
        assert cli(strataml_exe, "-C", str(copied), "index", cwd=tmp_path).returncode == 0
    edit_yaml(stale_ws / "experiments/iris-logreg.yaml", lambda d: d.update(description="changed after indexing"))
    age(stale_ws)  # a change a moment old cannot be judged at all (unverified): this one can
    done = cli(
        strataml_exe,
        "index",
        "--federate",
        f"gone={tmp_path / 'nowhere'}",
        f"plain={tmp_path / 'not-a-workspace'}",
        f"garbage={tmp_path / 'garbage.json'}",
        f"other={tmp_path / 'other.json'}",
        f"copy={tmp_path / 'copy.json'}",
        f"old={stale_ws / '.strataml/index.json'}",
        f"fresh={fresh_ws / '.strataml/index.json'}",
        "-o",
        str(tmp_path / "out.json"),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr  # a member is missing or broken: scripts hear it
    out = json.loads((tmp_path / "out.json").read_text("utf-8"))  # ... and the index is written all the same
    status = {w["name"]: (w["status"], w.get("message", "")) for w in out["workspaces"]}
    assert status["gone"][0] == "missing" and "nowhere" in status["gone"][1]
    assert status["plain"][0] == "invalid" and "strataml.yaml" in status["plain"][1]
    assert status["garbage"][0] == "invalid" and "not JSON" in status["garbage"][1]
    assert status["other"][0] == "invalid" and "index schema" in status["other"][1]
    assert status["copy"][0] == "unverified"
    assert status["old"][0] == "stale" and f"run `strataml -C {stale_ws} index`" in status["old"][1]
    # (the hint named the folder alone, `d`: pasted, it rebuilt nothing; with -C and its path it works)
    assert subprocess.run([*strataml_exe, "-C", str(stale_ws), "index"], capture_output=True).returncode == 0
    assert status["fresh"] == ("fresh", "")
    for name in ("gone", "plain", "garbage", "other"):
        assert f"{name}: " in done.stderr
    shown = {n["workspace"] for n in out["nodes"]} | {
        x["workspace"] for n in out["nodes"] for x in n.get("names", ())
    }
    assert shown == {"copy", "old", "fresh"}  # a stale member's records are shown, marked by its status
    assert schemas.validate("federation", out) == []


def test_names_must_differ_and_can_be_given(members: Path, strataml_exe: list[str], tmp_path: Path) -> None:
    twin = tmp_path / "a2"
    shutil.copytree(members / "a", twin, symlinks=True)  # another checkout of team-a: the same name
    twice = cli(strataml_exe, "index", "--federate", str(members / "a"), str(twin), "-o", "-", cwd=members)
    assert twice.returncode == 3 and "both named 'team-a'" in twice.stderr and "NAME=PATH" in twice.stderr
    assert "Traceback" not in twice.stderr
    named = cli(strataml_exe, "index", "--federate", "x=a", f"y={twin}", "-o", "-", cwd=members)
    assert named.returncode == 0, named.stderr
    assert [w["name"] for w in json.loads(named.stdout)["workspaces"]] == ["x", "y"]
    same = cli(strataml_exe, "index", "--federate", "a", "./a/", "-o", "-", cwd=members)
    assert same.returncode == 3 and "are the same member" in same.stderr
    for bad in ("=a", "Team-A=a", "team a=a"):
        refused = cli(strataml_exe, "index", "--federate", bad, "b", "-o", "-", cwd=members)
        assert refused.returncode == 3 and "NAME=PATH" in refused.stderr, (bad, refused.stderr)


def test_usage_errors_say_what_to_do(members: Path, strataml_exe: list[str]) -> None:
    loose = cli(strataml_exe, "index", "a", "b", cwd=members)
    assert loose.returncode == 3 and "--federate" in loose.stderr
    nowhere = cli(strataml_exe, "index", "--federate", "a", "b", cwd=members)  # members/ is no workspace
    assert nowhere.returncode == 3 and "-o" in nowhere.stderr
    empty = cli(strataml_exe, "index", "--federate", "-o", "-", cwd=members)
    assert empty.returncode != 0 and "--federate needs" in empty.stderr
    # -C runs as if started there: the members' paths too (as git -C takes every relative path).
    inside = cli(strataml_exe, "-C", "a", "index", "--federate", ".", "other=../b", cwd=members)
    assert inside.returncode == 0, inside.stderr
    written = json.loads((members / "a/.strataml/federation.json").read_text("utf-8"))
    assert written["schema"] == "strataml/federation/v1"
    assert {m["status"] for m in written["workspaces"]} == {"fresh"} and "other" in {m["name"] for m in written["workspaces"]}
    page = cli(strataml_exe, "-C", "a", "dashboard", "--federate", ".", "other=../b", "-o", "fed.html", cwd=members)
    assert page.returncode == 0 and (members / "a/fed.html").is_file(), page.stderr
    astray = cli(strataml_exe, "-C", "a", "index", "--federate", "a", "b", "-o", "-", cwd=members)  # a/a, a/b: none
    assert astray.returncode == 1 and "a/a" in astray.stderr and "a/b" in astray.stderr, astray.stderr


def test_a_dataset_its_member_could_not_verify_is_not_joined(members: Path, tmp_path: Path) -> None:
    from strataml.read import federate

    bad = tmp_path / "bad"
    shutil.copytree(members / "b", bad, symlinks=True)
    shutil.rmtree(bad / ".strataml", ignore_errors=True)
    csv = bad / "datasets/iris/1/iris.csv"
    csv.write_bytes(csv.read_bytes().replace(b"setosa", b"setosb", 1))  # content no longer its recorded sha256
    age(bad)
    joined = federate.federate(federate.read_members([str(members / "a"), f"bad={bad}"]))
    ids = {n["id"] for n in joined["nodes"]}
    assert "bad/dataset:iris@1" in ids  # shown as its own node, its error with it
    assert "bad/dataset:iris@1" not in joined["aliases"] and "team-a/dataset:iris@1" not in joined["aliases"]
    # Its verified datasets still join (the canonical name is the smallest: bad/ before team-a/).
    assert joined["aliases"]["team-a/dataset:breast-cancer@1"] == "bad/dataset:breast-cancer@1"


def test_a_member_that_holds_only_pointers_joins_nothing(members: Path, tmp_path: Path) -> None:
    """Found by an attacker: a member with no data bytes, only LFS pointers written from the
    sha256 another team publishes, was joined as a verified copy; named to sort first, its
    description and licence headed the joined dataset and every other team's runs hung off it."""
    import hashlib

    from strataml.read import federate

    evil = tmp_path / "evil"
    shutil.copytree(members / "b", evil, symlinks=True)
    shutil.rmtree(evil / ".strataml", ignore_errors=True)
    csv = evil / "datasets/iris/1/iris.csv"
    data = csv.read_bytes()
    csv.write_text(f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n")
    (evil / ".gitattributes").write_text("datasets/**/*.csv filter=lfs diff=lfs merge=lfs -text\n")
    age(evil)
    commit(evil, "pointers where the data was")
    joined = federate.federate(federate.read_members([str(members / "a"), f"0evil={evil}"]))
    assert "team-a/dataset:iris@1" not in joined["aliases"] and "0evil/dataset:iris@1" not in joined["aliases"]
    assert joined["aliases"]["team-a/dataset:breast-cancer@1"] == "0evil/dataset:breast-cancer@1"  # (its content: joined)


def test_a_hostile_index_file_is_data(members: Path, tmp_path: Path) -> None:
    from strataml.read import federate

    index = _index_of(members, "a")
    index["workspace"] = "../../etc/\x1b[31mevil"
    index["nodes"][0]["attrs"]["description"] = "</script><script>alert(1)</script>"
    (tmp_path / "evil.json").write_text(json.dumps(index), "utf-8")
    [member] = federate.read_members([str(tmp_path / "evil.json")])
    assert member.name == "etc-31mevil" and member.status == "unverified"
    joined = federate.federate([member])
    assert all(n["id"].startswith("etc-31mevil/") for n in joined["nodes"])
    assert schemas.validate("federation", joined) == []


def test_the_dashboard_shows_every_workspace_and_lineage_across_them(
    members: Path, joined: dict[str, Any], strataml_exe: list[str]
) -> None:
    done = cli(
        strataml_exe, "dashboard", "--federate", "a", "b", "c", "gone=nowhere", "-o", "site/", "--format", "json",
        cwd=members,
    )
    assert done.returncode == 1, done.stderr  # a member is missing: shown, and the exit code says it
    summary = json.loads(done.stdout)
    assert [(w["name"], w["status"]) for w in summary["workspaces"]] == [
        ("gone", "missing"), ("team-a", "fresh"), ("team-b", "fresh"), ("team-c", "fresh")
    ]
    data = read_payload((members / "site/index.html").read_text("utf-8"))
    assert [w["name"] for w in data["workspaces"]] == ["gone", "team-a", "team-b", "team-c"]
    assert data["aliases"] == joined["aliases"]
    assert data["workspace"]["repo_link"] is None  # the members' files live in other repositories
    assert {row["workspace"] for row in data["tables"]["runs"]} == {"team-a", "team-b", "team-c"}
    assert [e for e in data["edges"] if len(e) == 4] == [
        [e["from"], e["to"], e["kind"], True] for e in joined["edges"] if e.get("cross")
    ]
    production = {p["ref"] for w in data["workspaces"] for p in w.get("production", ())}
    assert production == {f"{t}/model:iris-classifier@1" for t in ("team-a", "team-b", "team-c")}
    iris = data["records"]["team-a/dataset:iris@1"]
    assert len(iris["names"]) == 3
    assert iris["findings"] == {"errors": 0, "warnings": 0, "infos": 0}


@pytest.fixture(scope="module")
def fed_server(members: Path, strataml_exe: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require_extra("fastapi", "serve")
    require_extra("uvicorn", "serve")
    from serving import Server

    server = Server(
        strataml_exe,
        members,
        tmp_path_factory.mktemp("fedlogs"),
        ("--federate", *(str(members / m) for m in "abc")),
    ).start(timeout=120)
    try:
        yield server
    finally:
        server.stop()


def test_the_api_serves_the_federation_and_follows_a_member_that_changes(
    fed_server: Any, members: Path, joined: dict[str, Any]
) -> None:
    workspaces = fed_server.ok_json("/api/v1/workspaces")
    assert [w["name"] for w in workspaces] == ["team-a", "team-b", "team-c"]
    assert fed_server.ok_json("/api/v1/workspace")["workspaces"] == ["team-a", "team-b", "team-c"]
    record = fed_server.ok_json("/api/v1/records/team-c/dataset:flowers@1")
    assert record["id"] == "team-a/dataset:iris@1" and len(record["names"]) == 3
    runs = fed_server.ok_json("/api/v1/runs?filter=workspace=team-b")
    assert runs["total"] == sum(1 for n in joined["nodes"] if n["kind"] == "run" and n["workspace"] == "team-b") > 0
    lineage = fed_server.ok_json("/api/v1/lineage/team-c/model:iris-classifier@1?direction=up")
    assert "team-a/dataset:iris@1" in json.dumps(lineage)
    assert fed_server.ok_json("/api/v1/index")["schema"] == "strataml/federation/v1"
    # A member changes: the served federation follows within the watcher's look.
    import time

    edit_yaml(members / "b/experiments/iris-logreg.yaml", lambda d: d.update(description="team b's own words"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = fed_server.ok_json("/api/v1/records/team-b/experiment:iris-logreg")
        if found["attrs"].get("description") == "team b's own words":
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the served federation never showed team-b's change")
    single = fed_server.get("/api/v1/records/run:nothing-like-this")
    assert single.status == 404
    # A member that goes away is shown as missing, not served as it was.
    (members / "c").rename(members / "c.away")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = {w["name"]: w["status"] for w in fed_server.ok_json("/api/v1/workspaces")}
            if status.get("c") == "missing":  # named after its folder: its own name went with it
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"a removed member is still served: {status}")
        assert fed_server.get("/api/v1/records/team-c/model:iris-classifier@1").status == 404
    finally:
        (members / "c.away").rename(members / "c")


def test_one_workspace_server_has_no_members(members: Path, strataml_exe: list[str], tmp_path: Path) -> None:
    require_extra("fastapi", "serve")
    require_extra("uvicorn", "serve")
    from serving import Server

    server = Server(strataml_exe, members / "a", tmp_path / "logs").start(timeout=120)
    try:
        answer = server.get("/api/v1/workspaces")
        assert answer.status == 404 and answer.json()["code"] == "not-federated"
        assert "workspaces" not in server.ok_json("/api/v1/workspace")
    finally:
        server.stop()


def test_a_federation_writes_nothing_in_any_member(members: Path, tmp_path: Path) -> None:
    from strataml.read import federate

    fresh = tmp_path / "untouched"
    shutil.copytree(members / "a", fresh, symlinks=True)
    shutil.rmtree(fresh / ".strataml", ignore_errors=True)
    before = sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*"))
    [member] = federate.read_members([str(fresh)])
    assert member.status == "fresh" and member.index is not None and member.joins
    assert sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*")) == before
    assert not os.path.exists(fresh / ".strataml")
    # A member's .strataml/ that is a symlink, or a FIFO where its saved index goes: read past, never through.
    os.symlink(tmp_path, fresh / ".strataml")
    [member] = federate.read_members([str(fresh)])
    assert member.status == "fresh" and member.index is not None


def _index_of(members: Path, name: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "strataml", "-C", str(members / name), "index", "-o", "-"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("decoy", [None, "path", "partial"])
def test_a_member_s_own_saved_index_cannot_join_a_dataset_its_files_do_not_hold(
    members: Path, tmp_path: Path, decoy: str | None
) -> None:
    """Found by an attacker: a member's saved index is read when its freshness proof holds, but
    the member's owner writes both (.strataml/index.json and the sha256 index.walk keeps). One
    copying team A's iris node (sha256s, digest, no findings) over its own other bytes headed the
    joined dataset with its own licence. A member whose saved index would join a dataset is built
    again here (reviews found a node's own `path` aimed at a decoy copy, and a node listing one
    of its record's two files, rehashed, joined)."""
    import hashlib

    from strataml.hashing import dataset_digest
    from strataml.read import federate

    forged = tmp_path / "forged"
    shutil.copytree(members / "b", forged, symlinks=True)
    shutil.rmtree(forged / ".strataml", ignore_errors=True)
    if decoy == "partial":  # (iris.csv is team A's bytes; the record holds one more file)
        (forged / "datasets/iris/1/poison.csv").write_bytes(b"not,the,data\n")
        edit_yaml(forged / "datasets/iris/1/dataset.yaml", lambda d: (
            d["files"].append({"path": "poison.csv", "sha256": hashlib.sha256(b"not,the,data\n").hexdigest(), "size": 13}),
            d.update(digest=dataset_digest([(f["path"], f["sha256"]) for f in d["files"]]))))
    else:
        (forged / "datasets/iris/1/iris.csv").write_bytes(b"not,the,data\n")
    commit(forged, "other bytes")
    age(forged)  # (a proof of freshness is written only for what is out of the racy window)
    saved = subprocess.run([sys.executable, "-m", "strataml", "-C", str(forged), "index"], capture_output=True, text=True)
    assert saved.returncode == 0, saved.stderr  # (its own index, saved where its readers read it)
    theirs = next(n for n in _index_of(members, "a")["nodes"] if n["id"] == "dataset:iris@1")
    index_file, walk_file = forged / ".strataml/index.json", forged / ".strataml/index.walk"
    index = json.loads(index_file.read_text("utf-8"))
    decoys = forged / "decoy"  # (a copy of team A's bytes elsewhere in the member)
    shutil.copytree(members / "a/datasets/iris/1", decoys)
    for node in index["nodes"]:
        if node["id"] == "dataset:iris@1":
            node.update(files=theirs["files"], findings={"errors": 0, "warnings": 0, "infos": 0})
            node["attrs"].update(digest=theirs["attrs"]["digest"], license="LicenseRef-Ours")
            if decoy == "path":
                node["path"] = "decoy"
    index["findings"] = [f for f in index["findings"] if not f["path"].startswith("datasets/iris/")]
    raw = json.dumps(index, sort_keys=True, indent=1).encode()
    index_file.write_bytes(raw)
    walk = walk_file.read_bytes()
    cut = walk.index(b"\n")
    head = json.loads(walk[:cut]) | {"index_sha256": hashlib.sha256(raw).hexdigest()}
    walk_file.write_bytes(json.dumps(head, separators=(",", ":")).encode() + walk[cut:])
    read = federate.read_members([str(members / "a"), f"0b={forged}"])
    assert [m.status for m in read] == ["fresh", "fresh"]
    assert next(m for m in read if m.name == "0b").index == index  # (its saved index was read)
    joined = federate.federate(read)
    assert "team-a/dataset:iris@1" not in joined["aliases"] and "0b/dataset:iris@1" not in joined["aliases"]
    assert joined["aliases"]["team-a/dataset:breast-cancer@1"] == "0b/dataset:breast-cancer@1"  # (its bytes: joined)


def test_an_index_file_cannot_join_a_dataset_by_claiming_its_digest(members: Path, tmp_path: Path) -> None:
    """Anyone can write an index file: its datasets are shown, never joined to a verified one,
    whatever digest, files and finding counts it claims."""
    from strataml.read import federate

    spoof = _index_of(members, "a")
    iris = next(n for n in spoof["nodes"] if n["id"] == "dataset:iris@1")
    iris["id"] = "dataset:poisoned@1"
    iris["attrs"]["description"] = "not iris at all"
    spoof["nodes"] = [iris]
    spoof["edges"], spoof["findings"] = [], []
    (tmp_path / "aaa.json").write_text(json.dumps(spoof), "utf-8")
    joined = federate.federate(federate.read_members([f"aaa={tmp_path / 'aaa.json'}", str(members / "a")]))
    assert joined["aliases"] == {}
    assert "aaa/dataset:poisoned@1" in {n["id"] for n in joined["nodes"]}
    assert not any(e.get("cross") for e in joined["edges"])


def test_a_workspace_that_relaxes_integrity_rules_joins_nothing(
    members: Path, joined: dict[str, Any], tmp_path: Path
) -> None:
    """A member whose own policy turns the digest and content rules off (so a dataset can claim
    another's digest without an error) proves nothing by its digests; one that only raises a
    severity still joins. A digest its files do not give never joins either."""
    from strataml.read import federate

    evil = tmp_path / "evil"
    shutil.copytree(members / "b", evil, symlinks=True)
    digest = next(n for n in joined["nodes"] if n["id"] == "team-a/dataset:iris@1")["attrs"]["digest"]
    edit_yaml(evil / "datasets/co2-weekly/1/dataset.yaml", lambda d: d.update(digest=digest))
    edit_yaml(evil / "strataml.yaml", lambda d: d.update(name="evil", doctor={"severity": {"TFC0002-E002": "off"}}))
    age(evil)
    fed = federate.federate(federate.read_members([str(evil), str(members / "a")]))
    [member] = [w for w in fed["workspaces"] if w["name"] == "evil"]
    assert member["status"] == "fresh" and "TFC0002-E002" in member["message"]
    assert fed["aliases"] == {}
    # The digest the files give is checked as well, whatever the policy says.
    edit_yaml(evil / "strataml.yaml", lambda d: d.update(doctor={"severity": {"TFC0006-W001": "error"}}))
    age(evil)
    fed = federate.federate(federate.read_members([str(evil), str(members / "a")]))
    assert "evil/dataset:co2-weekly@1" not in fed["aliases"] and "team-a/dataset:co2-weekly@1" not in fed["aliases"]
    assert fed["aliases"]["team-a/dataset:breast-cancer@1"] == "evil/dataset:breast-cancer@1"


@pytest.mark.parametrize(
    "change,said",
    [
        (lambda i: i["nodes"][0].update(id="nocolon"), "is not a"),
        (lambda i: i["nodes"][0].update(id=i["nodes"][0]["id"] + "\nx"), "is not a"),
        (lambda i: i["nodes"][0].update(kind="model"), "is not a model ref"),
        (lambda i: i["edges"].append({"from": "x", "to": "dataset:iris@1", "kind": "input"}), "joins no refs"),
        (lambda i: i["nodes"][0]["attrs"].update(deep=json.loads("[" * 900 + "]" * 900)), "nested more than"),
        (lambda i: i.update(schema="strataml/federation/v1"), "federations do not nest"),
        (lambda i: i["nodes"].append(dict(i["nodes"][0])), "is listed twice"),
        # Python's json writes Infinity and NaN bare; a page's JSON.parse and the API cannot carry them.
        (lambda i: next(n for n in i["nodes"] if n["kind"] == "run")["attrs"].update(metrics={"test_accuracy": float("inf")}),
         "holds Infinity, which JSON has no number for"),
        (lambda i: i["nodes"][0]["attrs"].update(x=float("nan")), "holds NaN"),
    ],
)
def test_an_index_file_that_is_no_index_is_invalid_not_a_crash(
    members: Path, tmp_path: Path, strataml_exe: list[str], change: Any, said: str
) -> None:
    index = _index_of(members, "a")
    change(index)
    (tmp_path / "odd.json").write_text(json.dumps(index), "utf-8")
    for command in ("index", "dashboard"):
        done = cli(strataml_exe, command, "--federate", f"odd={tmp_path / 'odd.json'}", "-o", str(tmp_path / "out"), cwd=tmp_path)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert said in done.stderr, done.stderr


def test_names_are_settled_before_any_workspace_is_indexed(members: Path, tmp_path: Path, monkeypatch) -> None:
    from strataml.read import federate

    twin = tmp_path / "twin"
    shutil.copytree(members / "a", twin, symlinks=True)
    indexed: list[str] = []
    monkeypatch.setattr(federate, "_workspace", lambda name, source, path: indexed.append(source))
    with pytest.raises(StrataError, match="both named"):
        federate.read_members([str(members / "a"), str(twin)])
    assert indexed == []


def test_a_fifo_member_never_blocks(tmp_path: Path) -> None:
    from strataml.read import federate

    os.mkfifo(tmp_path / "index.json")
    [member] = federate.read_members([f"f={tmp_path / 'index.json'}"])
    assert member.status == "invalid"


def test_a_number_that_overflows_is_no_number_either(members: Path, tmp_path: Path) -> None:
    """1e999 is valid JSON text, and Python reads it as infinity: as invalid as Infinity spelt out."""
    from strataml.read import federate

    index = _index_of(members, "a")
    next(n for n in index["nodes"] if n["kind"] == "run")["attrs"]["metrics"] = {"overflowing": 0.5}
    text = json.dumps(index).replace('"overflowing": 0.5', '"overflowing": 1e999', 1)
    assert "1e999" in text
    (tmp_path / "odd.json").write_text(text, "utf-8")
    [member] = federate.read_members([f"odd={tmp_path / 'odd.json'}"])
    assert member.status == "invalid" and "holds 1e999, a number past what a double holds" in (member.message or "")


def test_a_member_whose_change_the_federation_cannot_join_leaves_it_stale_and_says_why(
    members: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by an attacker: a member renamed to another member's name made every later look
    fail, silently: the served view froze for every member, still said to be fresh. The answers
    go on from the last join, marked stale, and the server's log says why, once."""
    from strataml.read.api import FederatedLive

    d = tmp_path / "d"
    shutil.copytree(members / "c", d, symlinks=True)
    edit_yaml(d / "strataml.yaml", lambda doc: doc.update(name="team-d"))
    age(d)
    live = FederatedLive([str(members / "a"), str(d)])
    try:
        first, stale = live.get()
        assert not stale
        edit_yaml(d / "strataml.yaml", lambda doc: doc.update(name="team-a"))  # another member's name
        age(d)
        live.look()
        live.look()
        snap, stale = live.get()
        assert stale and snap is first
        err = capsys.readouterr().err
        assert err.count("strataml serve: the index could not be rebuilt:") == 1 and "team-a" in err, err
        edit_yaml(d / "strataml.yaml", lambda doc: doc.update(name="team-d"))
        age(d)
        live.look()
        assert live.get()[1] is False
        assert "the index is rebuilt again" in capsys.readouterr().err
    finally:
        live.close()


def test_an_index_file_too_big_is_refused_unread(members: Path, tmp_path: Path) -> None:
    """Found by an attacker: a 3 GiB (sparse) file given as a member was read up to the limit,
    512 MiB, before it was refused; `serve` did so again at every look."""
    import tracemalloc

    from strataml.read import federate

    huge = tmp_path / "huge.json"
    with open(huge, "wb") as fh:
        fh.truncate(3 << 30)
    tracemalloc.start()
    try:
        (member,) = [m for m in federate.read_members([str(members / "a"), f"huge={huge}"]) if m.name == "huge"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert member.status == "invalid" and "is over 512 MiB" in (member.message or ""), member
    assert peak < 64 << 20, peak
