"""Model versions and ledgers for tests: more versions of the fixture model, failing gates, ledgers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import edit_yaml
from strataml import lifecycle
from strataml.hashing import sha256_file

MODEL_DIR = "models/sales-model"
LEDGER = f"{MODEL_DIR}/lifecycle.jsonl"


def ref(version: int | str = 1) -> str:
    return f"model:sales-model@{version}"


def add_version(ws: Path, version: int) -> str:
    """models/sales-model/VERSION: a copy of version 1 that names itself (a clean record)."""
    target = ws / MODEL_DIR / str(version)
    shutil.copytree(ws / MODEL_DIR / "1", target)
    edit_gate(ws, version, lambda g: g.update(model=ref(version)))
    edit_yaml(target / "model.yaml", lambda d: d.update(ref=ref(version)))
    return ref(version)


def edit_gate(ws: Path, version: int | str, change) -> None:
    """Change a version's gate receipt and re-pin its digest in model.yaml (nothing else)."""
    folder = ws / MODEL_DIR / str(version)
    data = json.loads((folder / "gate.json").read_text())
    change(data)
    (folder / "gate.json").write_text(json.dumps(data, indent=2))
    sha, _ = sha256_file(folder / "gate.json")
    edit_yaml(folder / "model.yaml", lambda d: d["gate"].update(digest=f"sha256:{sha}"))


def fail_gate(ws: Path, version: int | str = 1) -> None:
    """A consistent FAIL receipt: the criterion asks for more than the run reached."""
    def change(g: dict) -> None:
        g["criteria"][0].update(expression="test_accuracy >= 0.9", passed=False)
        g.update(status="FAIL", reasons=["test_accuracy 0.75 fails >= 0.9"])
    edit_gate(ws, version, change)
    edit_yaml(ws / MODEL_DIR / str(version) / "model.yaml", lambda d: d["gate"].update(status="FAIL"))


def gate_digest(ws: Path, version: int | str = 1) -> str:
    sha, _ = sha256_file(ws / MODEL_DIR / str(version) / "gate.json")
    return f"sha256:{sha}"


def entries_for(ws: Path, moves: list[tuple[str, str]], times: list[str] | None = None) -> list[dict]:
    """A valid hash chain for `moves` [(ref, to), ...] (the moves themselves need not be legal),
    dated `times` (one per move; default: all at one past moment)."""
    out, states, prev = [], {}, None
    for seq, (r, to) in enumerate(moves, start=1):
        version = r.rsplit("@", 1)[1]
        digest = gate_digest(ws, version) if (ws / MODEL_DIR / version / "gate.json").exists() else None
        at = times[seq - 1] if times else "2026-11-22T10:00:00Z"
        entry = lifecycle.make_entry(seq, prev, r, to, at, "Test <t@example.org>", "test",
                                     digest, states.get(r, "registered"))
        states[r] = to
        prev = entry["hash"]
        out.append(entry)
    return out


def write_ledger(ws: Path, moves: list[tuple[str, str]], times: list[str] | None = None) -> Path:
    path = ws / LEDGER
    path.write_bytes(b"".join(lifecycle.canonical(e) + b"\n" for e in entries_for(ws, moves, times)))
    return path


ROUTE = {"registered": [], "candidate": ["candidate"], "staging": ["candidate", "staging"],
         "production": ["candidate", "staging", "production"], "archived": ["candidate", "staging", "production", "archived"],
         "rejected": ["rejected"]}


def reach(ws: Path, state: str, r: str | None = None) -> None:
    """A legal ledger that leaves `r` in `state`."""
    if ROUTE[state]:  # registered: no ledger at all
        write_ledger(ws, [(r or ref(1), s) for s in ROUTE[state]])


def tamper(ws: Path, change) -> None:
    path = ws / LEDGER
    path.write_text(change(path.read_text()))
