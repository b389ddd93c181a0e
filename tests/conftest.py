from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# The golden positive workspace: the conformance suite's base, one copy for the suite and the tests.
POSITIVE = Path(__file__).resolve().parent.parent / "strataml" / "conformance_suite" / "base"
TEST_DATA = Path(__file__).resolve().parent / "data"  # vendored, with where each file comes from
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip on a developer machine without a tool; under CI a missing tool is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


CORE_ONLY = os.environ.get("STRATAML_CORE_ONLY", "") == "1"


def require_extra(module: str, extra: str) -> None:
    """Skip a test that needs an optional extra in the core-only job (.ci/run installs no extras
    there, to prove they are imported lazily); anywhere else it is a tool like any other."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a dotted name whose package is missing
        found = False
    if found:
        return
    if CORE_ONLY:
        pytest.skip(f"core-only job: needs the {extra!r} extra")
    require(False, f"{module} is not installed (pip install -e '.[{extra}]')")


def without(modules: tuple[str, ...], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`strataml ARGS` in a fresh interpreter where `modules` cannot be imported: a machine
    without the extra that brings them."""
    script = (
        "import sys\n"
        f"for name in {list(modules)!r}: sys.modules[name] = None\n"
        "from strataml.cli.main import run\n"
        "raise SystemExit(run(sys.argv[1:]))\n"
    )
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A fresh copy of the golden positive workspace (clean under `doctor --strict`)."""
    target = tmp_path / "ws"
    shutil.copytree(POSITIVE, target, symlinks=True)
    return target


BIG = 64 * 1024  # each of the `big` workspace's three data files


@pytest.fixture
def big(ws: Path, tmp_path: Path) -> Path:
    """The golden workspace with three datasets of one random file of BIG bytes each, aged."""
    from strataml.cli.main import run

    for name in ("a", "b", "c"):
        src = tmp_path / f"{name}.bin"
        src.write_bytes(os.urandom(BIG))
        assert run(["-C", str(ws), "dataset", "add", f"blob-{name}", str(src), "--version", "1", "--license", "MIT", "--source", "t"]) == 0
    age(ws)
    return ws


def copy_example(target: Path) -> Path:
    """The repository's example workspace, copied out of git (no .strataml/, no git state)."""
    target.mkdir(parents=True)
    for name in ("strataml.yaml", "datasets", "experiments", "runs", "models", "tfc"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, target / name)
    return target


def assert_policy_names_inline_code(html: str, policy: str) -> None:
    """A dashboard page has exactly one inline script and one style, and `policy` allows each by
    its sha256 (the only way anything runs or styles the page)."""
    import base64
    import hashlib
    import re

    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(scripts) == 1 and len(styles) == 1
    for kind, code in (("script-src", scripts[0]), ("style-src", styles[0])):
        digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode()
        assert f"{kind} 'sha256-{digest}'" in policy


def read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text("utf-8"))


def write_yaml(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")


def edit_yaml(path: Path, change) -> None:
    data = read_yaml(path)
    change(data)
    write_yaml(path, data)


@pytest.fixture(scope="session")
def strataml_exe() -> list[str]:
    """The installed console script (the real entry point users run)."""
    exe = shutil.which("strataml", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    require(exe is not None, "the strataml console script is not installed (pip install -e .)")
    return [exe]


def age(root: Path, seconds: int = 60) -> None:
    """Make files and folders look old: the cache and the freshness keys skip those modified in
    the last two seconds (a folder's mtime is in the keys: it changes when an entry comes or goes)."""
    past = time.time() - seconds
    for path in root.rglob("*"):
        if ".strataml" not in path.parts and not path.is_symlink():
            os.utime(path, (past, past))


def invoke(ws: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`strataml -C WS ARGS` in this process: (exit code, stdout, stderr)."""
    from strataml.cli.main import run

    code = run(["-C", str(ws), *args])
    out, err = capsys.readouterr()
    return code, out, err


# Golden negatives prove each finding code fires. Under CI a skipped one would hide a rule that
# no longer runs, so the session fails even when every other test passed.
GOLDEN_NEGATIVES = (
    "test_golden_negative_produces_exactly_its_code",
    "test_git_golden_negative_produces_exactly_its_code",
    "test_signature_golden_negative_produces_exactly_its_code",
)
_skipped_golden: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and any(f"::{name}[" in report.nodeid for name in GOLDEN_NEGATIVES):
        _skipped_golden.append(report.nodeid)


def _agents_left(base: Path) -> list[int]:
    """gpg-agent processes whose home lies under this session's temporary folder."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"gpg-agent") and any(str(base).encode() in arg for arg in cmdline):
            pids.append(int(proc.name))
    return pids


def _homedir(pid: int) -> str:
    """The GnuPG home an agent serves (its --homedir), to name the test that left it."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    for i, arg in enumerate(args):
        if arg == b"--homedir" and i + 1 < len(args):
            return args[i + 1].decode("utf-8", "replace")
        if arg.startswith(b"--homedir="):
            return arg.split(b"=", 1)[1].decode("utf-8", "replace")
    return "?"


def _checkout_state() -> dict[str, tuple[int, int]]:
    """Size and mtime of every tracked file of the checkout and of its .strataml/: what a test
    must never change (it works on copies in temporary folders)."""
    import subprocess

    try:
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    paths = [ROOT / p for p in tracked.decode("utf-8", "surrogateescape").split("\0") if p]
    paths += [p for p in (ROOT / ".strataml").rglob("*") if p.is_file()]
    state = {}
    for path in paths:
        try:
            st = path.lstat()
        except OSError:
            continue
        state[str(path.relative_to(ROOT))] = (st.st_size, st.st_mtime_ns)
    return state


_checkout_before: dict[str, tuple[int, int]] = {}
_short_basetemp: list[Path] = []  # the session's temporary folder when conftest chose it (with workers)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # Every core (at most 8 workers: each builds the session fixtures again), unless the caller
    # chose (`-n 0` runs the tests in this process: pdb, a profiler) or pytest-xdist is not there
    # (`-p no:xdist`, a venv without it), where `-n` in addopts would be an unknown option. Runs
    # before xdist's own hook turns "auto" into a number.
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        if config.option.numprocesses is None:
            config.option.numprocesses = "auto"
            config.option.maxprocesses = config.option.maxprocesses or 8


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # GnuPG keeps gpg-agent's sockets in its home, and a Unix socket's path holds at most 107
    # bytes. pytest-xdist gives each worker a "popen-gwN/" folder inside the session's, which took
    # the longest homes past that ("socket name too long"): with workers, the session's folder is
    # a short one (/tmp/smlXXXXXXXX, 17 bytes against 29 of /tmp/pytest-of-USER/pytest-N), made
    # before pytest's own configure reads --basetemp. Removed when the session passes, kept (and
    # named) when it fails, for the failing tests' files.
    if hasattr(config, "workerinput") or config.option.basetemp or config.getoption("dist", "no") == "no":
        return
    _short_basetemp.append(Path(tempfile.mkdtemp(prefix="sml")))
    config.option.basetemp = str(_short_basetemp[0])


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _short_basetemp:
        if [s.exitstatus for s in _finished] == [0]:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            sys.stderr.write(f"\nthe tests' temporary files are kept in {folder}\n")


_finished: list[pytest.Session] = []  # (its exit status read at the end: a check below may fail it)


def _worker(session: pytest.Session) -> bool:
    """Whether this process is one of pytest-xdist's workers: the session-wide checks below are
    the controller's, which starts before them, sees every test's report and ends after them."""
    return hasattr(session.config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not _worker(session):
        _checkout_before.update(_checkout_state())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _worker(session):
        return
    _finished.append(session)
    if IN_CI and _checkout_before:
        after = _checkout_state()
        changed = sorted(k for k in set(after) | set(_checkout_before) if after.get(k) != _checkout_before.get(k))
        if changed and exitstatus == 0:
            sys.stderr.write(f"\nFAILED under CI: the tests changed the checkout: {changed[:10]}\n")
            session.exitstatus = 1
    if IN_CI and _skipped_golden and exitstatus == 0:
        sys.stderr.write(f"\nFAILED under CI: {len(_skipped_golden)} golden negative case(s) skipped: {_skipped_golden[:5]}\n")
        session.exitstatus = 1
    # Every test that makes a GnuPG home stops its agent (gpgkeys.stop_agents): one left running
    # is a leak the suite reports (and stops), so the suite never leaves processes behind.
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or not Path("/proc").is_dir():
        return
    # `gpgconf --kill` returns before the agent has exited: one stopped by the last fixture's
    # teardown may still be shutting down. Only an agent still there a moment later is a leak.
    deadline = time.monotonic() + 3
    left = _agents_left(factory.getbasetemp())
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _agents_left(factory.getbasetemp())
    homes = sorted({_homedir(pid) for pid in left})
    for pid in left:
        try:
            os.kill(pid, 15)
        except OSError:
            pass
    if left and exitstatus == 0:
        sys.stderr.write(
            f"\nFAILED: {len(left)} gpg-agent process(es) left running by the tests (stop them with "
            f"gpgkeys.stop_agents): {homes}\n"
        )
        session.exitstatus = 1


def read_walk(root: Path) -> dict[str, Any]:
    """.strataml/index.walk with its paths and facts as lists (what a test edits)."""
    from strataml.read import proof

    listing = proof.decode_listing((root / proof.WALK).read_bytes())
    assert listing is not None
    listing["stats"] = listing["stats"].tolist()  # (read as int64)
    return listing


def write_walk(root: Path, listing: dict[str, Any]) -> None:
    """read_walk() undone: the listing written back as strataml stores it."""
    from strataml.read import proof

    (root / proof.WALK).write_bytes(proof.encode_listing(listing))
