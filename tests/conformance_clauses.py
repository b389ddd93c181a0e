"""The conformance suite's clause cases: for each rule of several clauses, one case per clause
(the golden negative cases reach one each). tests/conformance_gen.py builds them with the rest."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gpgkeys
import models_helpers
from conftest import TEST_DATA, edit_yaml

from strataml import lifecycle
from strataml.hashing import dataset_digest

SPEC = "experiments/flowers-logreg.yaml"
GATE = "models/sales-model/1/gate.json"
MODEL_META = "models/sales-model/1/model.yaml"
DATASET = "datasets/flowers/1/dataset.yaml"
CSV = "datasets/flowers/1/flowers.csv"
RUN = "runs/20260101T000000Z-sales-forecast-a1b2c3/run.yaml"
LEDGER = models_helpers.LEDGER
AT = "2026-01-02T00:00:00Z"
# A small experiment spec of our own, so a case can append what it breaks after it.
SMALL_SPEC = (
    "schema: strataml/experiment/v1\nname: flowers-logreg\nplugin: sklearn\n"
    "data: {dataset: 'dataset:flowers@1'}\nmodel: {type: logistic_regression}\n"
)


@dataclass(frozen=True)
class Spec:
    why: str
    change: Callable[[Path], None]  # the working tree's last edits
    commits: tuple[Callable[[Path], None], ...] | None = None  # None: no repository
    since: int | None = None
    require_content: bool = False


def write(rel: str, content: str | bytes) -> Callable[[Path], None]:
    def change(ws: Path) -> None:
        path = ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return change


def replace(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def change(ws: Path) -> None:
        text = (ws / rel).read_text()
        assert old in text, (rel, old)
        (ws / rel).write_text(text.replace(old, new, 1))

    return change


def repin_gate(ws: Path) -> None:
    """The model pins its receipt's digest: after a receipt edit, pin the new one (else TFC0004-E003 too)."""
    digest = "sha256:" + hashlib.sha256((ws / GATE).read_bytes()).hexdigest()
    edit_yaml(ws / MODEL_META, lambda d: d["gate"].update(digest=digest))


def gate_text(change: Callable[[str], str]) -> Callable[[Path], None]:
    def apply(ws: Path) -> None:
        (ws / GATE).write_text(change((ws / GATE).read_text()))
        repin_gate(ws)

    return apply


def gate_doc(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(ws: Path) -> None:
        doc = json.loads((ws / GATE).read_text())
        change(doc)
        (ws / GATE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        repin_gate(ws)

    return apply


def recorded(path: str, sha: str | None = None, size: int = 137) -> Callable[[Path], None]:
    """One more file entry in the flowers dataset (its digest recomputed), pointing at `path`."""

    def change(ws: Path) -> None:
        digest = sha or hashlib.sha256((ws / CSV).read_bytes()).hexdigest()

        def add(d: dict) -> None:
            d["files"].append({"path": path, "sha256": digest, "size": size})
            d["digest"] = dataset_digest([(f["path"], f["sha256"]) for f in d["files"]])

        edit_yaml(ws / DATASET, add)

    return change


def entries(ws: Path, *moves: tuple[str, str, str, str | None], ref: str | None = None, seq: int = 1,
            prev: str | None = None) -> bytes:
    """Ledger lines, chained: moves are (from, to, at, gate); gate "pinned" is the version's own."""
    out = []
    for number, (before, to, at, gate) in enumerate(moves, seq):
        pinned = models_helpers.gate_digest(ws, 1) if gate == "pinned" else gate
        entry = lifecycle.make_entry(number, prev, ref or models_helpers.ref(1), to, at, "Test <t@example.org>",
                                     "test", pinned, before)
        prev = entry["hash"]
        out.append(lifecycle.canonical(entry) + b"\n")
    return b"".join(out)


def ledger(*moves: tuple[str, str, str, str | None], **kw: object) -> Callable[[Path], None]:
    return lambda ws: (ws / LEDGER).write_bytes(entries(ws, *moves, **kw))  # type: ignore[arg-type]


def both(*changes: Callable[[Path], None]) -> Callable[[Path], None]:
    def change(ws: Path) -> None:
        for one in changes:
            one(ws)

    return change


def moved_aside(rel: str, to: str, link: str) -> Callable[[Path], None]:
    """`rel` moved to `to`, and a symlink (pointing at `link`) left in its place."""

    def change(ws: Path) -> None:
        shutil.move(str(ws / rel), str(ws / to))
        (ws / rel).symlink_to(link)

    return change


def pointer_text(ws: Path, size: int | None = None, extra: str = "") -> str:
    data = (ws / CSV).read_bytes()
    oid = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data) if size is None else size}\n{extra}"


def as_pointer(size: int | None = None, extra: str = "") -> Callable[[Path], None]:
    return lambda ws: (ws / CSV).write_text(pointer_text(ws, size, extra))


def layout_specs() -> dict[str, Spec]:
    """TFC-0001 to TFC-0006 and TFC-0008: clauses a folder (or a repository) can carry."""
    flowers_routed = both(write(".gitattributes", "datasets/flowers/1/flowers.csv filter=lfs diff=lfs merge=lfs -text\n"),
                          as_pointer())
    spec = {
        # TFC0001-E001
        "TFC0001-E001-empty": ("strataml.yaml holds nothing", write("strataml.yaml", "# nothing\n")),
        "TFC0001-E001-rules-too-old": ("doctor.rules pins a version older than the first rules",
                                       lambda ws: edit_yaml(ws / "strataml.yaml", lambda d: d["doctor"].update(rules="0.0.9"))),
        # TFC0001-E002: what may sit where
        "TFC0001-E002-experiments-other-file": ("a file in experiments/ that is not a spec", write("experiments/notes.txt", "x\n")),
        "TFC0001-E002-spec-not-a-file": ("an experiment spec that is a folder", write("experiments/other.yaml/sub", "x\n")),
        "TFC0001-E002-managed-folder-link": ("a managed folder that is a symlink", moved_aside("models", "models-real", "models-real")),
        "TFC0001-E002-ledger-not-a-file": ("a ledger that is a folder", write(f"{LEDGER}/x", "x")),
        "TFC0001-E002-version-level-file": ("a file where versions belong", write("datasets/flowers/notes.txt", "x\n")),
        "TFC0001-E002-runs-file": ("a file directly in runs/", write("runs/notes.txt", "x\n")),
        "TFC0001-E002-metadata-link": ("record metadata that is a symlink",
                                       moved_aside(DATASET, "elsewhere.yaml", "../../../elsewhere.yaml")),
        "TFC0001-E003-experiment-name": ("an experiment name outside the grammar",
                                         lambda ws: (ws / "experiments/flowers-.yaml").write_text(
                                             (ws / SPEC).read_text().replace("name: flowers-logreg", "name: flowers-"))),
        "TFC0001-E007-other-kind": ("a record declaring another kind's schema",
                                    replace(DATASET, "schema: strataml/dataset/v1", "schema: strataml/model/v1")),
        "TFC0001-E008-recorded-path": ("a control character in a path a record pins", recorded("gone\x1b.csv")),
        "TFC0001-E009-git-file": ("a nested repository's .git file", write("datasets/flowers/1/.git", "gitdir: ../../../elsewhere\n")),
        # Parsing (TFC0001-E101 to E110), YAML and JSON alike
        "TFC0001-E101-gate-receipt": ("a gate receipt above the size limit",
                                      gate_text(lambda t: t.rstrip()[:-1] + " " * (5 * 1024 * 1024) + "}\n")),
        "TFC0001-E105-two-documents": ("more than one YAML document", write(SPEC, SMALL_SPEC + "---\nseed: 1\n")),
        "TFC0001-E105-json-syntax": ("a gate receipt that is not JSON", gate_text(lambda t: t.rstrip()[:-1] + "\n")),
        "TFC0001-E105-complex-key": ("a mapping key that is not a scalar", write(SPEC, SMALL_SPEC + "? [a, b]\n: 1\n")),
        "TFC0001-E105-long-integer": ("an integer longer than a reader may parse", write(SPEC, SMALL_SPEC + "seed: " + "1" * 5000 + "\n")),
        "TFC0001-E105-typed-scalar": ("an explicitly typed scalar that is not of its type", write(SPEC, SMALL_SPEC + "seed: !!int abc\n")),
        "TFC0001-E106-anchor": ("an anchor on a mapping", write(SPEC, SMALL_SPEC + "seed: 1\ntags: &t {a: b}\n")),
        "TFC0001-E106-alias": ("an alias", write(SPEC, SMALL_SPEC + "seed: 1\ntags: {a: *s}\n")),
        "TFC0001-E107-json": ("a gate receipt nested too deeply", gate_doc(lambda g: g.update({"x-deep": json.loads("[" * 70 + "]" * 70)}))),
        "TFC0001-E108-mapping-value": ("a repeated key whose value is a mapping", write(SPEC, SMALL_SPEC + "seed: 1\ntags: {a: b}\ntags: {c: d}\n")),
        "TFC0001-E108-json": ("a repeated key in a gate receipt", gate_text(lambda t: t.replace('"schema"', '"status": "PASS",\n  "schema"', 1))),
        "TFC0001-E108-many": ("more repeated keys than are listed one by one",
                              write(SPEC, SMALL_SPEC + "seed: 1\ntags:\n" + "  k: v\n" * 200)),
        "TFC0001-E109-scalar": ("a tag on a value", write(SPEC, SMALL_SPEC + "seed: !custom 1\n")),
        "TFC0001-E109-key": ("a tag on a key", write(SPEC, SMALL_SPEC + "seed: 1\ntags: {!custom a: 1}\n")),
        "TFC0001-E110-json": ("a gate receipt of more nodes than the limit",
                              gate_text(lambda t: t.rstrip()[:-1].rstrip() + ',\n  "x-big": [' + "0," * 250_000 + "0]\n}\n")),
        # Records
        "TFC0002-E001-empty": ("an empty dataset.yaml", write(DATASET, "")),
        "TFC0002-W001-no-source": ("a dataset without a source", lambda ws: edit_yaml(ws / DATASET, lambda d: d.pop("source"))),
        "TFC0003-E001-empty": ("an empty run.yaml", write(RUN, "")),
        "TFC0003-E002-empty": ("an empty experiment spec", write(SPEC, "")),
        "TFC0003-E003-created-after-started": ("a run created after it started",
                                               lambda ws: edit_yaml(ws / RUN, lambda d: d.update(created_at="2026-01-01T00:00:05Z"))),
        "TFC0004-E001-empty": ("an empty model.yaml", write(MODEL_META, "")),
        "TFC0004-E002-unsafe-path": ("a gate receipt path that climbs out of the version",
                                     lambda ws: edit_yaml(ws / MODEL_META, lambda d: d["gate"].update(file="../1/gate.json"))),
        "TFC0004-E003-digest": ("a receipt whose digest is not the one the model pins",
                                lambda ws: edit_yaml(ws / MODEL_META, lambda d: d["gate"].update(digest="sha256:" + "ab" * 32))),
        "TFC0004-E003-run": ("a receipt naming another run",
                             gate_doc(lambda g: g.update(run="run:20260101T000000Z-sales-forecast-zzzzzz"))),
        "TFC0004-E003-metric": ("a criterion whose metric is not its expression's",
                                gate_doc(lambda g: g["criteria"][0].update(metric="train_accuracy"))),
        "TFC0004-E003-passed": ("a criterion marked passed that its observed value fails",
                                gate_doc(lambda g: g["criteria"][0].update(observed=0.25))),
        # Ledgers (TFC-0005)
        "TFC0005-E001-not-json": ("a ledger line that is not JSON", write(LEDGER, "not json\n")),
        "TFC0005-E001-repeated-key": ("a ledger line that repeats a key",
                                      lambda ws: (ws / LEDGER).write_bytes(
                                          b'{"seq":1,' + entries(ws, ("registered", "candidate", AT, "pinned"))[1:])),
        "TFC0005-E001-not-canonical": ("a valid entry not in its canonical form",
                                       lambda ws: (ws / LEDGER).write_text(
                                           json.dumps(json.loads(entries(ws, ("registered", "candidate", AT, "pinned")))) + "\n")),
        "TFC0005-E001-no-canonical-form": ("an entry that has no canonical form (a lone surrogate)",
                                           lambda ws: (ws / LEDGER).write_bytes(entries(ws, ("registered", "candidate", AT, "pinned"))
                                                                                .replace(b'"reason":"test"', b'"reason":"\\ud800"'))),
        "TFC0005-E001-too-deep": ("a ledger line nested beyond any reader", write(LEDGER, "[" * 100_000 + "]" * 100_000 + "\n")),
        "TFC0005-E001-not-utf8": ("a ledger line that is not UTF-8", write(LEDGER, b'{"a":"\xff"}\n')),
        "TFC0005-E002-seq": ("an entry whose seq is not its line number", ledger(("registered", "candidate", AT, "pinned"), seq=2)),
        "TFC0005-E002-prev": ("an entry whose prev is not the hash before it",
                              ledger(("registered", "candidate", AT, "pinned"), prev="sha256:" + "00" * 32)),
        "TFC0005-E003-from": ("an entry whose from is not the state the ledger left", ledger(("candidate", "staging", AT, "pinned"))),
        "TFC0005-E007-no-gate": ("a move to staging without the gate's digest",
                                 ledger(("registered", "candidate", AT, "pinned"), ("candidate", "staging", AT, None))),
        "TFC0005-E007-other-gate": ("a move to staging with another gate's digest",
                                    ledger(("registered", "candidate", AT, "pinned"), ("candidate", "staging", AT, "sha256:" + "ab" * 32))),
        "TFC0005-E008-no-such-time": ("an entry dated at a time that does not exist",
                                      ledger(("registered", "candidate", "2026-02-30T10:00:00Z", "pinned"))),
        "TFC0005-E008-future": ("an entry dated in the future", ledger(("registered", "candidate", "2099-01-01T00:00:00Z", "pinned"))),
        "TFC0005-E008-date-only": ("an entry dated by a day, not an instant", ledger(("registered", "candidate", "2026-11-23", "pinned"))),
        "TFC0005-E008-no-offset": ("an entry's time without its offset", ledger(("registered", "candidate", "2026-11-23T10:00:00", "pinned"))),
        "TFC0005-E008-before-registration": ("an entry dated before its version was registered (created_at)",
                                             ledger(("registered", "candidate", "2001-01-01T00:00:00Z", "pinned"))),
        "TFC0005-E009-other-model": ("a ledger line about another model",
                                     ledger(("registered", "candidate", AT, None), ref="model:other-model@1")),
        # Files (TFC-0006)
        "TFC0006-E001-folder": ("a recorded file that is a folder",
                                lambda ws: ((ws / CSV).unlink(), (ws / CSV).mkdir(), (ws / CSV / "x").write_text("x"))),
        "TFC0006-E004-nul": ("a recorded path holding NUL", recorded("a\x00b.csv")),
        "TFC0006-E010-size": ("a pointer whose size is not the recorded one", as_pointer(size=138)),
        "TFC0008-E004-own-metadata": ("a record that records its own metadata file", recorded("dataset.yaml", hashlib.sha256(b"x").hexdigest(), 1)),
        "TFC0008-E004-own-signature": ("a record that records its own signature file's name",
                                       both(recorded("dataset.yaml.asc"),
                                            lambda ws: shutil.copy(ws / CSV, ws / "datasets/flowers/1/dataset.yaml.asc"))),
        "TFC0008-E004-inputs": ("a run that lists one input twice", lambda ws: edit_yaml(ws / RUN, lambda d: d["inputs"].extend(json.loads(json.dumps(d["inputs"]))))),
        "TFC0008-E008-other-column": ("a time split on another column than the dataset's time range",
                                      lambda ws: edit_yaml(ws / "experiments/sales-forecast.yaml", lambda d: d["split"].update(column="store"))),
    }
    out = {name: Spec(why, change) for name, (why, change) in spec.items()}
    # In a repository: a pointer where .gitattributes routes nothing is the content, and wrong.
    out["TFC0006-E003-unrouted-pointer"] = Spec("a pointer where nothing routes the path through Git LFS", as_pointer(), ())
    out["TFC0006-E002-unrouted-pointer"] = Spec("pointer text of the recorded size where nothing routes the path through Git LFS",
                                                lambda ws: (ws / CSV).write_text(pointer_text(ws, extra="zz 12345\n")), ())
    out["TFC0006-I010-routed"] = Spec("a pointer committed where .gitattributes routes the path through Git LFS",
                                      lambda ws: None, (flowers_routed,))
    return out


def signature_specs(keys: dict[str, gpgkeys.Key]) -> dict[str, Spec]:
    from test_signatures import pin, policy

    alice = keys["Alice"]
    key_file = f"tfc/keys/{alice.fingerprint}.asc"

    def pinned(*require: dict) -> Callable[[Path], None]:
        def change(ws: Path) -> None:
            pin(ws, alice, "models", "datasets", "ledger", "production")
            if require:
                policy(ws, *require)

        return change

    def expired_signature(ws: Path) -> None:
        pinned()(ws)
        gpgkeys.gpg(alice.home, "--default-sig-expire", "1d", "--local-user", alice.fingerprint, "--armor",
                    "--detach-sign", "--output", str(ws / f"{MODEL_META}.asc"), str(ws / MODEL_META))

    production = ("registered", "candidate", AT, "pinned"), ("candidate", "staging", AT, "pinned"), \
        ("staging", "production", AT, "pinned")
    specs = {
        "TFC0007-E001-datasets": ("a policy over datasets, and a dataset unsigned", pinned({"records": "datasets", "scope": "datasets"})),
        "TFC0007-E001-ledger": ("a policy over ledgers, and a ledger unsigned",
                                both(pinned({"records": "ledger", "scope": "ledger"}), ledger(("registered", "candidate", AT, "pinned")))),
        "TFC0007-E001-models-in-state": ("a policy over production models, and one in production unsigned",
                                         both(pinned({"records": "models", "state": "production", "scope": "production"}), ledger(*production))),
        "TFC0007-E005-signature-expired": ("a signature that has itself expired", expired_signature),
        "TFC0007-E006-folder": ("a signature file that is a folder", both(pinned(), write(f"{MODEL_META}.asc/x", "x"))),
        "TFC0007-E006-symlink": ("a signature file that is a symlink",
                                 both(pinned(), lambda ws: (ws / f"{MODEL_META}.asc").symlink_to("report.md"))),
        "TFC0007-E009-secret-key": ("a pinned key file holding a secret key",
                                    both(pinned(), write(key_file, (TEST_DATA / "conformance-keys/alice.key.asc").read_bytes()))),
        "TFC0007-E009-key-file-missing": ("a pinned key without its file", both(pinned(), lambda ws: (ws / key_file).unlink())),
        "TFC0007-E009-manifest-unreadable": ("keys.yaml that does not load", both(pinned(), write("tfc/keys/keys.yaml", "keys: [\n"))),
        "TFC0007-E009-manifest-schema": ("keys.yaml that breaks its schema",
                                         both(pinned(), write("tfc/keys/keys.yaml", "schema: strataml/keys/v1\nkeys: 3\n"))),
        "TFC0007-E009-listed-twice": ("a key pinned twice",
                                      both(pinned(), lambda ws: edit_yaml(ws / "tfc/keys/keys.yaml", lambda d: d["keys"].extend(d["keys"])))),
        "TFC0007-E010-keys-folder-link": ("tfc/keys that is a symlink", both(pinned(), moved_aside("tfc/keys", "tfc/real-keys", "real-keys"))),
    }
    out = {name: Spec(why, change) for name, (why, change) in specs.items()}
    # A trust path judged as the base has it: a symlink at REF is not trusted though the pull
    # request makes it a file again (the base's keys judge the pull request).
    out["TFC0007-E010-at-base"] = Spec(
        "keys.yaml that is a symlink at the base, whatever the change makes of it",
        lambda ws: (ws / "tfc/keys/keys.yaml").unlink() or shutil.copy(ws / "tfc/real-keys.yaml", ws / "tfc/keys/keys.yaml"),
        (both(pinned(), moved_aside("tfc/keys/keys.yaml", "tfc/real-keys.yaml", "../real-keys.yaml")),),
        since=1,
    )
    return out

