"""Run the rules over a Workspace, apply selection and severity policy, build the Report."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strataml import gitfacts, schemas
from strataml.aside import Aside
from strataml.cache import Cache, stat_key
from strataml.contracts import registry
from strataml.controls import undecodable
from strataml.doctor.finding import Finding, Repeats, Report
from strataml.errors import Refusal, StrataError
from strataml.gitfacts import GitFacts
from strataml.hashing import PARALLEL_BYTES, Background, HeadStart, hash_files
from strataml.loading import Loaded
from strataml.nogc import bulk
from strataml.paths import unsafe
from strataml.records import Record
from strataml.rootdir import MANAGED
from strataml.schemas import SchemaIssue
from strataml.workspace import SIGNATURE_SUFFIX, Entry, Workspace, record_folder

if TYPE_CHECKING:
    from strataml.preload import Stream
    from strataml.trust import Trust

SEVERITIES = ("error", "warning", "info")
# Past this many paths, git ls-files lists the whole workspace folder and the doctor keeps the
# paths it asked for: matching thousands of pathspecs costs git paths x pathspecs.
WHOLE_LISTING = 2000
# Past this many walked paths a full run asks git when the tracking rule does, not ahead: git's
# answers for 100,000 files, held while the other rules run, raised the peak memory 273-279 ->
# 291-293 MiB (against the 300 MB it is held to).
AHEAD_ENTRIES = 50_000


@dataclass(frozen=True)
class Options:
    """How thorough a doctor run is; the CLI's flags, as data."""

    require_content: bool = False  # an LFS pointer without local content is an error, not an info
    since: str | None = None  # a git revision: check what changed since it, plus history rules
    use_git: bool = True  # ask git about tracking and LFS routing (when the workspace is in a repository)
    shard: tuple[int, int] | None = None  # (K, N): check only shard K of N (doctor.shards)


@dataclass
class Context:
    """What rules may ask besides the Workspace: providers that cache their answers."""

    workspace: Workspace
    options: Options = field(default_factory=Options)
    cache: Cache | None = None
    scope: frozenset[str] | None = None  # refs of the records to check; None: all of them
    progress: Callable[[int, int], Callable[[int], None] | None] | None = None
    _hashes: dict[str, tuple[str, int]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=lambda: {"files_hashed": 0, "bytes_hashed": 0, "files_cached": 0})
    _git: object = None
    _git_asked: Aside[GitFacts | None] | None = None  # git asked in a thread: see ask_git_ahead()
    _records: tuple[object, list[Record]] | None = None
    _since_config: Loaded | None = None  # see since_config()
    _trust: Trust | None = None  # see trust()
    since_tip: str | None = None  # --since REF's tip, resolved with since_commit (policy_commit())
    early: Background | None = None  # hashing started before the rules asked (see doctor())
    since_commit: str | None = None  # --since, resolved
    since_changed: set[str] = field(default_factory=set)  # workspace paths changed since then
    # The findings depend on more than the snapshot key covers (.git/lfs/objects for a pointer,
    # the clock for a key's expiry): a later run must not reuse them.
    volatile: bool = False
    signatures: dict[str, dict[str, object]] = field(default_factory=dict)  # see Report.signatures
    ledger_scope: frozenset[str] | None = None  # the ledgers to check whatever the scope (incremental runs)
    plugin_metrics: dict[str, Any] = field(default_factory=dict)  # plugin key -> runner.plugin.Declared, once per run
    _issues: dict[str, tuple[str, object, list[SchemaIssue]]] = field(default_factory=dict)  # see schema_issues()
    receipt_verdicts: dict[str, list[Finding]] = field(default_factory=dict)  # see rules.records.receipt_findings()

    def records(self) -> list[Record]:
        """The records this run checks (all, or those changed since --since)."""
        if self._records is None or self._records[0] is not self.scope:
            chosen = (
                list(self.workspace.records)
                if self.scope is None
                else [r for r in self.workspace.records if str(r.ref) in self.scope]
            )
            self._records = (self.scope, chosen)
        return self._records[1]

    def ledgers(self) -> list[str]:
        """The lifecycle ledgers this run checks (all, or those changed since --since, with their signature)."""
        if self.ledger_scope is not None:
            return [p for p in self.workspace.ledgers if p in self.ledger_scope]
        if self.scope is None:
            return list(self.workspace.ledgers)
        changed = self.since_changed
        return [p for p in self.workspace.ledgers if p in changed or p + SIGNATURE_SUFFIX in changed]

    def policy_commit(self) -> str:
        """The commit whose policy and pinned keys judge a --since run: REF as it stands now (the
        branch a change goes into), not where the change left it (since_commit, the merge base,
        which decides what changed). A branch forked before its base tightened the policy, or
        unpinned a compromised key, is judged by the base as it is."""
        if self.since_tip is None:
            self.since_tip = gitfacts.resolve_commit(self.workspace.root, self.options.since or "")
        return self.since_tip

    def since_config(self) -> Any:
        """strataml.yaml's data as the --since revision holds it now ({} if it has none), read
        once: the loaded one when it did not change since and REF did not move on."""
        return self._since_loaded().data

    def _since_loaded(self) -> Loaded:
        if self._since_config is None:
            from strataml.loading import load_bytes
            from strataml.rootdir import CONFIG

            loaded = self.workspace.config
            # A changed .gitattributes can make the checked-out file differ from the blob git
            # calls unchanged (working-tree-encoding, eol): then REF's blob is read as well.
            from strataml.doctor.rules.history import attributes

            policy = self.policy_commit()
            if policy != self.since_commit or CONFIG in self.since_changed or attributes(self.since_changed):
                raw = gitfacts.read_at(self.workspace.root, policy, [CONFIG]).get(CONFIG)
                loaded = load_bytes(raw) if raw is not None else Loaded({})
            self._since_config = loaded
        return self._since_config

    def config_in_force(self) -> dict[str, Any]:
        """The strataml.yaml whose policy judges this run: REF's with --since (a pull request must not
        choose its own rules, as with pinned keys), else the workspace's own."""
        data = self.loaded_in_force().data
        return data if isinstance(data, dict) else {}

    def loaded_in_force(self) -> Loaded:
        """config_in_force() as loaded, with its load problems (policy_for trusts only a clean one)."""
        return self._since_loaded() if self.options.since else self.workspace.config

    def trust(self) -> Trust:
        """The working tree's pinned keys and signing policy (trust.read), read once a run."""
        if self._trust is None:
            from strataml import trust

            self._trust = trust.read(self.workspace.root, self.workspace.config.data)
        return self._trust

    def trust_files(self) -> list[str]:
        """strataml.yaml, the key manifest and the key files it pins: what judges every signature
        and promotion, committed with the records (one on this machine only judges here alone)."""
        from strataml.rootdir import CONFIG, KEYS_MANIFEST

        keys = self.trust().key_files
        return [CONFIG, KEYS_MANIFEST, *(k for k in keys if unsafe(k, portable=False) is None)]

    def side_files(self) -> list[str]:
        """The ledgers and signature files this run checks: they are committed with the records
        (a promotion or a signature that exists on one machine only is in no clone)."""
        ledgers = self.ledgers()
        folders = None if self.scope is None else {r.folder for r in self.records() if r.folder}
        signatures = [
            p
            for p in self.workspace.signature_like
            if folders is None or record_folder(p) in folders or p.removesuffix(SIGNATURE_SUFFIX) in ledgers
        ]
        return [*ledgers, *signatures]

    def receipts(self) -> list[str]:
        """The gate receipts of the model versions this run checks (read as JSON, as metadata is)."""
        out = []
        for record in self.records():
            gate = record.data.get("gate") if record.kind == "model" and isinstance(record.data, dict) else None
            if record.folder and isinstance(gate, dict) and isinstance(gate.get("file"), str):
                rel = f"{record.folder}/{gate['file']}"
                if unsafe(rel) is None:
                    out.append(rel)
        return out

    def git(self) -> GitFacts | None:
        """Git's view of the in-scope records' files (None outside a repository), asked once."""
        if self._git is None:
            self._git = False
            asked = self._git_asked
            if asked is not None:
                self._git_asked = None
                self._git = asked.result() or False
            elif self.options.use_git:
                # A GitError goes up as it is (exit 3), never a gate that quietly skipped its git rules.
                # (Without git installed, the doctor command refuses before this: gitfacts.need_git.)
                paths, expected, whole, folders = self._git_question()
                self._git = gitfacts.facts(self.workspace.root, paths, expected, whole=whole, folders=folders) or False
        return self._git or None  # type: ignore[return-value]

    @property
    def without_repository(self) -> bool:
        """Whether git was asked and no repository answered: the rules that need git judged nothing."""
        return self._git is False and self.options.use_git

    def ask_git_ahead(self) -> None:
        """Start asking git (git()) in a thread while other rules run: git works on another core
        and the thread waits without the GIL, so the run does not wait for it (a reader's
        recheck after one change: 75 -> 55 ms).
        The question is made here, from the records as they stand; the thread touches nothing else."""
        if self._git is not None or self._git_asked is not None or not self.options.use_git:
            return
        root, (paths, expected, whole, folders) = self.workspace.root, self._git_question()
        # What git raises is raised by git(), as ever.
        self._git_asked = Aside(lambda: gitfacts.facts(root, paths, expected, whole=whole, folders=folders))

    def _git_question(self) -> tuple[list[str], dict[str, tuple[str, int]], bool, list[str]]:
        """(paths, expected (sha256, size) of recorded files, whether git lists the whole folder,
        and else the folders whose index entries it lists too: a submodule there is a file of
        none of the paths. Only a --since run lists part of the index (its records' paths and
        folders, and the changed paths: a submodule it adds is one of those). A shard or a
        recheck reports the submodules in no record's folder, wherever they are and whatever
        their folder holds, and only the whole index names them all."""
        # A recorded path that climbs out is the doctor's own finding (TFC0006-E004); handed
        # to git it would fail the whole run with git's "outside repository" instead.
        files = [(r.folder, f) for r in self.records() if r.folder for f in r.files if unsafe(f.path) is None]
        expected = {
            sys.intern(f"{folder}/{f.path}"): (f.sha256, f.size)
            for folder, f in files
            if f.sha256 and f.size is not None
        }
        # The same strings serve as paths and as keys: no second copy per file.
        paths = [r.meta for r in self.records()] + list(expected)
        paths += [p for folder, f in files if (p := f"{folder}/{f.path}") not in expected]
        paths += self.side_files()
        paths += self.trust_files()
        paths += self.receipts()
        if self.scope is None or not self.options.since or len(paths) > WHOLE_LISTING:
            return paths, expected, True, []
        folders = sorted({r.folder for r in self.records() if r.folder})
        # (git named these: only a path that climbs out is kept from it; `a\b` is a name here)
        folders += sorted(
            p for p in self.since_changed if p.split("/", 1)[0] in MANAGED and unsafe(p, portable=False) is None
        )
        return paths, expected, len(paths) + len(folders) > WHOLE_LISTING, folders

    def sha256(self, rel: str) -> tuple[str, int]:
        """(sha256, size) of a workspace file, hashed at most once per run (or never, when cached)."""
        if rel not in self._hashes:
            self.prefetch([rel])
        result = self._hashes[rel]
        return result

    def remember(self, rel: str, sha: str, size: int) -> None:
        """A hash a rule computed itself (small files it had to read anyway)."""
        self._hashes[rel] = (sha, size)
        self.stats["files_hashed"] += 1
        self.stats["bytes_hashed"] += size

    def prefetch(self, rels: list[str]) -> None:
        """Hash every file in `rels` not known yet: cache first, then all misses in parallel."""
        ws, cache = self.workspace, self.cache
        todo = []
        # (10k records: 10,000 files, all hashed early; what only a cache or a hashing here needs,
        # a stat key or a full path, is made only for them.)
        for rel in dict.fromkeys(rels):
            if rel in self._hashes:
                continue
            entry = ws.entries.get(rel)
            key = stat_key(entry) if cache is not None and entry is not None and entry.kind == "file" else None
            cached = cache.sha256(rel, key) if cache is not None and key else None
            if cached:
                self._hashes[rel] = (cached, key[0])  # type: ignore[index]
                self.stats["files_cached"] += 1
            else:
                todo.append((rel, entry.size if entry else 0, key))
        if not todo:
            return
        results: dict[str, tuple[str, int] | OSError] = {}
        if self.early is not None and any(rel in self.early.keys for rel, *_ in todo):
            results = self.early.results()
            self.early = None  # its results are about to move into self._hashes
        rest = [(rel, ws.fspath(rel), size) for rel, size, _ in todo if rel not in results]
        if rest:
            tick = self.progress(len(rest), sum(t[2] for t in rest)) if self.progress else None
            hash_files(rest, progress=tick, results=results)
            del rest
        hashes, files, size = self._hashes, 0, 0
        try:
            for rel, _size, key in todo:
                result = results[rel]
                if isinstance(result, OSError):
                    raise result
                hashes[rel] = result
                files += 1
                size += result[1]
                if cache is not None and key and key[0] == result[1]:
                    cache.put_sha256(rel, key, result[0])
        finally:
            self.stats["files_hashed"] += files
            self.stats["bytes_hashed"] += size

    def schema_issues(self, kind: str, rel: str, data: object, judged_from: object = None) -> list[SchemaIssue]:
        """Schema violations of the document `data` loaded from `rel`, cached while the file is unchanged
        (and held for this run: a model version's rules ask of its run before the records rule does).
        `judged_from`: the loaded document `data` was made from, when it is not that document
        (the fields of a later minor left out): what is held for this run goes by it."""
        source = data if judged_from is None else judged_from
        held = self._issues.get(rel)
        if held is not None and held[0] == kind and held[1] is source:
            return held[2]
        issues = self._schema_issues(kind, rel, data)
        self._issues[rel] = (kind, source, issues)
        return issues

    def _schema_issues(self, kind: str, rel: str, data: object) -> list[SchemaIssue]:
        key = None
        if self.cache is not None:
            entry = self.workspace.entries.get(rel)
            try:
                key = stat_key(entry if entry is not None else os.stat(self.workspace.abspath(rel)))
            except OSError:
                key = None
        if key is not None:
            cached = self.cache.schema_issues(rel, key)  # type: ignore[union-attr]
            if cached is not None:
                return [SchemaIssue(path, message, advice) for path, message, advice in cached]
        reader = self.workspace.reader
        judged = reader.valid.pop(rel, None) if reader is not None and reader.valid else None
        # (The very document strataml.preload found valid, not just an equal one.)
        issues = [] if judged is not None and judged[0] == kind and judged[1] is data else schemas.validate(kind, data)
        if key is not None:
            self.cache.put_schema_issues(rel, key, [(tuple(i.path), i.message, i.advice) for i in issues])  # type: ignore[union-attr]
        return issues


@dataclass(frozen=True)
class Policy:
    """Which findings are reported and at what severity."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)

    def effective(self, code: str) -> str | None:
        if self.select and not code.startswith(self.select):
            return None
        if self.ignore and code.startswith(self.ignore):
            return None
        level = self.severity.get(code) or registry()[code].severity
        return None if level == "off" else level


def policy_for(config: Workspace | Loaded, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> Policy:
    """Merge command-line selection with the `doctor:` settings of a workspace's strataml.yaml (a
    Workspace, or the config as loaded). A config that does not load cleanly or breaks its schema
    sets no policy: which of its settings were meant is not known, and it must not hide its own error."""
    known = registry()
    for prefix in (*select, *ignore):
        if not any(code.startswith(prefix.upper()) for code in known):
            raise StrataError(f"no rule code starts with {prefix!r}", "see `strataml doctor --list-rules`")
    loaded = config.config if isinstance(config, Workspace) else config
    data = loaded.data
    if loaded.problems or not isinstance(data, dict) or schemas.validate("workspace", data):
        data = {}
    doctor: dict[str, Any] = data["doctor"] if isinstance(data.get("doctor"), dict) else {}
    overrides: dict[str, Any] = doctor.get("severity") or {}
    severity = {c: s for c, s in overrides.items() if c in known}
    pinned = version(doctor.get("rules"))
    if pinned is not None and pinned < FIRST_RULES:
        pinned, severity, doctor = None, {}, {}  # a TFC0001-E001 of its own: no policy either
    if pinned is not None:
        # Rules newer than the pin are seen, not enforced: info until the team moves the pin
        # (a change to strataml.yaml, which --since judges by the base's and reports for review).
        for code, rule in known.items():
            since = version(rule.enforced_note.removeprefix("since ").strip())
            if since is not None and since > pinned and code not in severity and not (rule.replaces or rule.kept):
                severity[code] = "info"
    return Policy(
        select=tuple(p.upper() for p in select),
        ignore=tuple(p.upper() for p in (*ignore, *(doctor.get("ignore") or ()))),
        severity=severity,
    )


FIRST_RULES = (0, 1, 0)  # the first release of the rules: a pin below it pins as it


def version(text: object) -> tuple[int, ...] | None:
    """`X.Y.Z` as a comparable tuple; None for anything else."""
    if not isinstance(text, str):
        return None
    parts = text.split(".")
    return tuple(int(p) for p in parts) if len(parts) == 3 and all(p.isascii() and p.isdigit() for p in parts) else None


def run(
    workspace: Workspace,
    policy: Policy | None = None,
    *,
    strict: bool = False,
    options: Options | None = None,
    cache: Cache | None = None,
    progress: Callable[[int, int], Callable[[int], None] | None] | None = None,
) -> Report:
    policy = policy or policy_for(workspace)
    raw, stats, _ctx = check(workspace, options or Options(), cache, progress)
    if cache is not None:
        cache.save()
    return Report(apply(policy, raw), stats, strict, _ctx.signatures)


def check(
    workspace: Workspace,
    options: Options,
    cache: Cache | None = None,
    progress: Callable[[int, int], Callable[[int], None] | None] | None = None,
    since: tuple[str, set[str], str] | None = None,
    early: Background | None = None,
    scope: frozenset[str] | None = None,
    ledgers: frozenset[str] | None = None,
    ready: Callable[[Workspace], None] | None = None,
) -> tuple[list[Finding], dict[str, int], Context]:
    """Every rule over the workspace: raw findings (no severity yet), stats, and the context used.

    `scope`: refs of the only records to check (as --since chooses them, but given).
    `ledgers`: the lifecycle ledgers to check (default: all, or with a scope those --since changed).
    `ready`: called with the workspace in a full run once every record is loaded, before the rules
    (read.lend forks then: the rules' first pass over the records pays for the pages it copies).
    """
    from strataml.doctor.rules import CHECKS

    ctx = Context(workspace, options, cache, scope=scope, progress=progress, early=early, ledger_scope=ledgers)
    if since is not None:
        ctx.since_commit, ctx.since_changed, ctx.since_tip = since
    if options.since:
        from strataml.doctor.rules.history import scope_since

        ctx.scope = scope_since(ctx)
    known = registry()
    raw: list[Finding] = []
    repeats = Repeats()  # its last "rule" counts the findings it held back
    if ready is not None and ctx.scope is None:
        for record in workspace.records:
            record.loaded  # noqa: B018  (as the layout rule would: every record in a full run)
        ready(workspace)
    for rule in (*CHECKS, repeats.rest):
        if rule is CHECKS[1] and (ctx.scope is not None or len(workspace.entries) <= AHEAD_ENTRIES):
            # The layout rule has loaded every record in scope: what git is asked is known, and
            # git works on the core the loading no longer needs (cold doctor on 10k records: -3%).
            ctx.ask_git_ahead()
        for finding in repeats.admit(rule(ctx)):
            if finding.code not in known:
                raise AssertionError(f"rule emitted unregistered code {finding.code}")
            # File names that are not UTF-8 reach us as surrogates; every format shows their bytes
            # as escapes. Control characters stay: text output escapes them, JSON and SARIF keep them.
            raw.append(
                replace(
                    finding,
                    path=undecodable(finding.path),
                    message=undecodable(finding.message),
                    hint=undecodable(finding.hint),
                )
            )
    # A partial (--since) workspace does not know how many records the others hold: no totals then.
    totals = (
        {}
        if workspace.partial
        else {
            "records": len(workspace.records),
            **{f"{k}s": len(workspace.of_kind(k)) for k in ("dataset", "experiment", "run", "model")},
        }
    )
    stats = {**totals, "records_checked": len(ctx.records()), **ctx.stats}
    if ctx.without_repository:
        stats["no_repository"] = 1
    return raw, stats, ctx


def record_errors(workspace: Workspace, record: Record, allow: tuple[str, ...] = ()) -> list[Finding]:
    """The errors the doctor finds in one record's folder (severity as the workspace sets it),
    less codes starting with one of `allow`: what sign and promote refuse to go past."""
    raw, _stats, _ctx = check(workspace, Options(), scope=frozenset({str(record.ref)}))
    folder = record.folder or record.meta
    return [
        f
        for f in apply(policy_for(workspace), raw)
        if f.severity == "error"
        and not (allow and f.code.startswith(allow))
        and (f.path in (folder, record.meta) or f.path.startswith(folder + "/"))
    ]


def refuse_errors(
    workspace: Workspace,
    record: Record,
    so: str,
    hint: str,
    allow: tuple[str, ...] = (),
    refusal: type[Refusal] = Refusal,
) -> None:
    """Refuse (exit 2) to act on a record the doctor finds errors in, naming them: "REF has doctor
    errors, so `so`" (what sign, promote and register each would not do)."""
    bad = record_errors(workspace, record, allow)
    if bad:
        raise refusal(f"{record.ref} has doctor errors, so {so}: {brief(bad)}", hint)


MAX_LISTED = 10  # findings a refusal lists before "... and N more"


def refuse_staged(root: Path, rel: str, staging: Path, ref: str, action: str, hint: str) -> str | None:
    """Refuse (a Refusal, exit 2) a record a command built in `staging` for the record folder `rel` when the
    doctor would reject it once published: the record rules run on the staged folder as if it
    were already `rel` (its names, its files, collisions with what is there). Nothing is written.

    A signature the signing policy asks for is no reason: only a record that is there can be
    signed (a policy over every dataset made `dataset add` impossible). What the policy asks is
    returned instead, for the command to say next; None when it asks nothing."""
    from strataml.trust import SIGNATURE_MISSING
    from strataml.workspace import load_staged

    ws = load_staged(root, rel, staging)
    record = ws.get(ref)
    if record is None:  # the staged folder is not where such a record can be: a bug here
        raise StrataError(f"internal: the staged record {rel} is not {ref}")
    errors = record_errors(ws, record)
    bad = [f for f in errors if f.code != SIGNATURE_MISSING]
    if bad:
        more = f"; ... and {len(bad) - MAX_LISTED:,} more" if len(bad) > MAX_LISTED else ""
        raise Refusal(f"{ref} was not {action}: the doctor would reject it: {brief(bad, MAX_LISTED)}{more}", hint)
    unsigned = [f for f in errors if f.code == SIGNATURE_MISSING]
    return f"{ref} is {unsigned[0].message}: sign it (`strataml sign {ref}`) before committing it" if unsigned else None


def brief(findings: Sequence[Finding], n: int = 3) -> str:
    """The first `n` findings on one line, for a refusal message."""
    return "; ".join(f"{f.code} {f.path}: {f.message}" for f in findings[:n])


def apply(policy: Policy, raw: Iterable[Finding]) -> tuple[Finding, ...]:
    """Selection and severities applied to raw findings, sorted and without duplicates."""
    kept = []
    for finding in raw:
        level = policy.effective(finding.code)
        if level:
            kept.append(replace(finding, severity=level))
    return tuple(_dedupe(kept))


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in sorted(findings, key=Finding.sort_key):
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out


@bulk
def doctor(
    root: Path,
    *,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    strict: bool = False,
    options: Options | None = None,
    use_cache: bool = False,
    progress: Callable[[int, int], Callable[[int], None] | None] | None = None,
    entries: dict[str, Entry] | None = None,
    again: Callable[[Workspace, Cache | None], Report | None] | None = None,
    stream: Stream | None = None,
    ready: Callable[[Workspace], None] | None = None,
) -> Report:
    """Load the workspace at `root` and check it: the whole of `strataml doctor` minus rendering.

    `entries`: a walk of `root` the caller already made (ignored with --since, which walks its own way).
    `again`: when the last run's findings cannot be reused whole, a caller that knows what changed
    since an earlier run may answer from it (doctor.incremental); None from it means a full run.
    `stream`: the records the caller's walk (`entries`) began loading (preload.stream_for()).
    `ready`: called with the workspace once a full run has loaded every record, before the rules.

    With the cache, a run whose every input is unchanged since the last one (each walked
    file's stat, the config, git's index and HEAD, the options) reuses that run's findings
    without reading a single record.
    """
    from strataml.snapshot import snapshot_key
    from strataml.workspace import load_config, walk

    options = options or Options()
    root = Path(root).resolve()
    cache = Cache(root, enabled=True) if use_cache else None
    try:
        if options.since:
            raw, stats, ctx = _since(root, options, cache, progress)
            workspace = ctx.workspace
        else:
            if entries is None:
                stream = _stream(root, cache is not None, options, again)
                entries = walk(root, stream.take if stream is not None else None)
            key = snapshot_key(root, entries, options) if cache is not None else None
            if key is not None:
                hit = cache.report(key)  # type: ignore[union-attr]
                if hit is not None:
                    raw, stats = hit
                    policy = policy_for(load_config(root, cache), select, ignore)
                    return Report(
                        apply(policy, raw),
                        {
                            **stats,
                            "files_hashed": 0,
                            "bytes_hashed": 0,
                            "files_cached": stats.get("files_checked", 0),
                            "snapshot": 1,
                        },
                        strict,
                    )
            loaded = None
            if again is not None:
                from strataml.workspace import load

                loaded = load(root, cache, entries)
                answer = again(loaded, cache)
                if answer is not None:
                    if cache is not None:
                        cache.save()
                    return answer
            if options.shard is not None:
                raw, stats, ctx = _sharded(root, entries, options, cache, progress)
            else:
                raw, stats, ctx = _checked(
                    root, entries, None, options, cache, progress, workspace=loaded, stream=stream, ready=ready
                )
            workspace = ctx.workspace
            if key is not None and not ctx.volatile:
                cache.put_report(key, raw, {**stats, "files_checked": stats["files_hashed"] + stats["files_cached"]})  # type: ignore[union-attr]
    finally:
        if stream is not None:
            stream.stop()  # (stopped already, unless the run ended before its records were loaded)
    if cache is not None:
        cache.save()
    policy = policy_for(ctx.loaded_in_force(), select, ignore)
    return Report(
        apply(policy, raw),
        stats,
        strict,
        ctx.signatures,
        workspace,
        volatile=ctx.volatile,
        policy_commit=ctx.since_tip if options.since else None,
        since_base=ctx.since_commit if options.since else None,
    )


def _since(
    root: Path,
    options: Options,
    cache: Cache | None,
    progress: Callable[[int, int], Callable[[int], None] | None] | None,
) -> tuple[list[Finding], dict[str, int], Context]:
    """A --since run. git lists the changes in processes of its own (started by the CLI already,
    or here): the records its diff names are checked while git still walks the tree for
    untracked files, and checked again with them if it finds any (rare in CI)."""
    from strataml.doctor.rules.history import deep_folders, everything, is_ledger, owners, resting
    from strataml.workspace import walk, walk_changed, walk_top

    listing = gitfacts.changes_since(root, options.since or "")
    top = walk_top(root)

    def run(changed: set[str]) -> tuple[list[Finding], dict[str, int], Context]:
        if everything(root, changed):  # (a changed .gitattributes, a record or spec gone)
            return _checked(root, walk(root), None, options, cache, progress, (listing.commit, changed, listing.tip))
        owned = owners(changed)
        # (and the versions registered from a run running at the base that changed: see resting())
        deep = deep_folders(root, owned) | resting(root, listing.commit, changed)
        names = {o.rsplit("/", 1)[0] for o in owned if is_ledger(o)}
        entries = walk_changed(root, deep, top, names)
        return _checked(root, entries, deep, options, cache, progress, (listing.commit, changed, listing.tip))

    tracked = listing.tracked()
    result = run(tracked)
    untracked = listing.untracked()
    return result if untracked <= tracked else run(tracked | untracked)


def _checked(
    root: Path,
    entries: dict[str, Entry],
    deep: set[str] | None,
    options: Options,
    cache: Cache | None,
    progress: Callable[[int, int], Callable[[int], None] | None] | None,
    since: tuple[str, set[str], str] | None = None,
    workspace: Workspace | None = None,
    stream: Stream | None = None,
    ready: Callable[[Workspace], None] | None = None,
) -> tuple[list[Finding], dict[str, int], Context]:
    """Load the walked workspace (unless given) and run every rule, hashing big files in the
    background meanwhile; `stream`: the records the walk began loading (preload.Stream);
    `ready`: called with the workspace when a full run has loaded every record, before the rules."""
    from strataml.workspace import load

    # A doctor whose second core loads records now (a Stream's helper) has one free core for
    # the rules' whole run after; an index build's copy takes it then (read.lend).
    loading = len(stream.found) if stream is not None and stream.started and ready is None else 0
    early = _hash_early(
        root, entries, cache, progress, loading=loading, head_start=stream.head_start if stream else None
    )
    if stream is not None and stream.started:
        # Imported while the second core loads records (~12 ms that the rules, on one core, would wait for).
        import strataml.doctor.rules  # noqa: F401
    try:
        workspace = load(root, cache, entries, deep) if workspace is None else workspace
        if deep is None and not options.since:  # a full run: every record will be loaded
            from strataml.preload import preload

            preload(workspace, cache, hashing=early.total if early is not None else 0, stream=stream)
        else:
            ready = None
        raw, stats, ctx = check(workspace, options, cache, progress, since, early, ready=ready)
    finally:
        if early is not None:
            early.close()  # no helper left hashing after a failure (or the switch interval changed)
    return raw, stats, ctx


def _stream(root: Path, use_cache: bool, options: Options, again: Callable[..., Report | None] | None) -> Stream | None:
    """A preload.Stream for the walk of a full run that will load every record itself: one
    process on the whole tree (no shard), no earlier index lending records, nothing cached."""
    if options.shard is not None or again is not None:
        return None
    from strataml.preload import stream_for

    return stream_for(root, use_cache)


def _sharded(
    root: Path,
    entries: dict[str, Entry],
    options: Options,
    cache: Cache | None,
    progress: Callable[[int, int], Callable[[int], None] | None] | None,
) -> tuple[list[Finding], dict[str, int], Context]:
    """One shard of a full run: its records checked completely (their files hashed, nothing
    else's), every rule run, and only the findings that are this shard's kept (doctor.shards)."""
    from strataml.doctor import shards
    from strataml.workspace import load

    assert options.shard is not None
    index, total = options.shard
    workspace = load(root, cache, entries)
    assignment = shards.plan(workspace.records, total)
    mine = frozenset(ref for ref, k in assignment.items() if k == index)
    folders = {r.folder for r in workspace.records if r.folder and str(r.ref) in mine}
    early = _hash_early(root, entries, cache, progress, only=folders)
    try:
        # Ledgers are metadata: every shard reads them all, and keeps the findings that are its own.
        raw, stats, ctx = check(
            workspace, options, cache, progress, None, early, scope=mine, ledgers=frozenset(workspace.ledgers)
        )
    finally:
        if early is not None:
            early.close()
    owners = workspace.owners
    kept = [f for f in raw if shards.shard_of_finding(owners.of(f.path), assignment) == index]
    planned = shards.planned_bytes(workspace.records, assignment, total)
    return kept, {**stats, "shard": index, "shards": total, "bytes_planned": planned[index - 1]}, ctx


def _hash_early(
    root: Path,
    entries: dict[str, Entry],
    cache: Cache | None,
    progress: Callable[[int, int], Callable[[int], None] | None] | None,
    only: set[str] | None = None,
    loading: int = 0,
    head_start: HeadStart | None = None,
) -> Background | None:
    """Start hashing what record folders hold (workspace.hashed_ahead) while their metadata is
    read and checked. `loading`: the records a helper loads meanwhile; unless the hashing
    outweighs them (then preload stops that helper), it takes what the loading and the rules
    leave idle (Background's `modest`). `head_start`: the hashing the walk began (preload.Stream), taken over."""
    from strataml.preload import outweighed
    from strataml.workspace import hashed_ahead, record_folder

    base = os.path.join(str(root), "")
    items = []
    for path, entry in entries.items():
        # (Folders, most of what a walk lists, skipped before the call: 40k entries, ~3 ms.)
        if entry.kind != "file" or not hashed_ahead(path, "file", entry.size):
            continue
        if only is not None and record_folder(path) not in only:
            continue
        if cache is not None and cache.sha256(path, stat_key(entry)):
            continue
        items.append((path, base + path, entry.size))
    total = sum(i[2] for i in items)
    if total < PARALLEL_BYTES and not (head_start is not None and head_start.helpers):
        return None
    tick = progress(len(items), total) if progress else None
    return Background(items, tick, modest=loading > 0 and not outweighed(total, loading), head_start=head_start)
