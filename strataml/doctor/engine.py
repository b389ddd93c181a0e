"""Run the rules over a Workspace, apply selection and severity policy, build the Report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from strataml.contracts import registry
from strataml.doctor.finding import Finding, Report
from strataml.errors import StrataError
from strataml.hashing import sha256_file
from strataml.workspace import Workspace

SEVERITIES = ("error", "warning", "info")


@dataclass
class Context:
    """What rules may ask besides the Workspace: providers that cache their answers."""

    workspace: Workspace
    _hashes: dict[str, tuple[str, int]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=lambda: {"files_hashed": 0, "bytes_hashed": 0})

    def sha256(self, rel: str) -> tuple[str, int]:
        """(sha256, size) of a workspace file, hashed at most once per run."""
        if rel not in self._hashes:
            digest, size = sha256_file(self.workspace.abspath(rel))
            self._hashes[rel] = (digest, size)
            self.stats["files_hashed"] += 1
            self.stats["bytes_hashed"] += size
        return self._hashes[rel]


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


def policy_for(workspace: Workspace, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> Policy:
    """Merge command-line selection with the workspace's `doctor:` settings."""
    known = registry()
    for prefix in (*select, *ignore):
        if not any(code.startswith(prefix.upper()) for code in known):
            raise StrataError(f"no rule code starts with {prefix!r}", "see `strataml doctor --list-rules`")
    config = workspace.config.data if isinstance(workspace.config.data, dict) else {}
    doctor = config.get("doctor") if isinstance(config.get("doctor"), dict) else {}
    overrides = doctor.get("severity") if isinstance(doctor.get("severity"), dict) else {}
    ignored = doctor.get("ignore") if isinstance(doctor.get("ignore"), list) else []
    return Policy(
        select=tuple(p.upper() for p in select),
        ignore=tuple(p.upper() for p in (*ignore, *[i for i in ignored if isinstance(i, str)])),
        severity={c: s for c, s in overrides.items() if c in known and s in (*SEVERITIES, "off")},
    )


def run(workspace: Workspace, policy: Policy | None = None, *, strict: bool = False) -> Report:
    from strataml.doctor.rules import CHECKS

    policy = policy or policy_for(workspace)
    ctx = Context(workspace)
    known = registry()
    findings: list[Finding] = []
    for check in CHECKS:
        for finding in check(ctx):
            if finding.code not in known:
                raise AssertionError(f"rule emitted unregistered code {finding.code}")
            level = policy.effective(finding.code)
            if level:
                findings.append(replace(finding, severity=level, path=printable(finding.path), message=printable(finding.message)))
    findings = _dedupe(findings)
    stats = {"records": len(workspace.records), **{f"{k}s": len(workspace.of_kind(k)) for k in ("dataset", "experiment", "run", "model")}, **ctx.stats}
    return Report(tuple(findings), stats, strict)


def printable(text: str) -> str:
    """File names that are not UTF-8 reach us as surrogates; show their bytes as escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in sorted(findings, key=Finding.sort_key):
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out


def doctor(root: Path, *, select: Sequence[str] = (), ignore: Sequence[str] = (), strict: bool = False) -> Report:
    """Load the workspace at `root` and check it: the whole of `strataml doctor` minus rendering."""
    from strataml.workspace import load

    workspace = load(root)
    return run(workspace, policy_for(workspace, select, ignore), strict=strict)
