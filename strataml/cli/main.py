"""The `strataml` command group and the one place that maps failures to exit codes."""

from __future__ import annotations

import errno
import gc
import os
import sys
from pathlib import Path
from typing import ClassVar, NoReturn, cast

import click

from strataml import __version__
from strataml.controls import shown
from strataml.errors import EXIT_TOOL_FAILURE, StrataError
from strataml.rootdir import find_root

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class State:
    """What the group's options leave for the commands."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def root(self) -> Path:
        return find_root(self.directory)

    def root_if_any(self) -> Path | None:
        """The workspace, or None outside one (for the commands that need none: an -o FILE may
        still lie in a workspace)."""
        from strataml.errors import WorkspaceNotFound

        try:
            return self.root()
        except WorkspaceNotFound:
            return None

    def start(self) -> Path:
        return (self.directory or Path.cwd()).resolve()


class LazyGroup(click.Group):
    """Imports a subcommand's module only when it runs: `strataml doctor` pays for no other command."""

    COMMANDS: ClassVar[dict[str, tuple[str, str]]] = {
        "init": ("strataml.cli.init", "init"),
        "dataset": ("strataml.cli.dataset", "dataset"),
        "experiment": ("strataml.cli.experiment", "experiment"),
        "doctor": ("strataml.cli.doctor", "doctor"),
        "diff": ("strataml.cli.diff", "diff"),
        "index": ("strataml.cli.index", "index"),
        "run": ("strataml.cli.run", "run_command"),
        "plugins": ("strataml.cli.run", "plugins"),
        "model": ("strataml.cli.model", "model"),
        "status": ("strataml.cli.status", "status"),
        "list": ("strataml.cli.readers", "list_command"),
        "show": ("strataml.cli.readers", "show"),
        "lineage": ("strataml.cli.readers", "lineage"),
        "compare": ("strataml.cli.readers", "compare"),
        "report": ("strataml.cli.readers", "report"),
        "dashboard": ("strataml.cli.dashboard", "dashboard"),
        "serve": ("strataml.cli.serve", "serve"),
        "promote": ("strataml.cli.promote", "promote"),
        "keys": ("strataml.cli.keys", "keys"),
        "sign": ("strataml.cli.keys", "sign_command"),
        "schema": ("strataml.cli.schema", "schema"),
        "conformance": ("strataml.cli.conformance", "conformance"),
        "export": ("strataml.cli.export", "export"),
        "import": ("strataml.cli.importer", "import_group"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.COMMANDS:
            return None
        import importlib

        module, attr = self.COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(module), attr)
        _accept_directory(command)
        return command

    def invoke(self, ctx: click.Context) -> object:
        # click's main() turns Ctrl-C into Abort and a closed pipe into exit 1 before run() could
        # see either: carried past it as exceptions of our own, each gets its own exit code.
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _PipeClosed from exc
        except KeyboardInterrupt as exc:
            raise _Stopped(getattr(exc, "note", None), _interrupt_code(exc)) from exc

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in self.COMMANDS and not ctx.resilient_parsing:
            from strataml.spelling import nearest

            close = nearest(name, self.COMMANDS, n=3)
            also = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{also}")
        return super().resolve_command(ctx, args)


class KindGroup(click.Group):
    """`strataml dataset|experiment|model`: the commands that write records of a kind. What reads
    them is a command of its own, named when asked for here (`strataml model list`)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name in ("list", "ls", "show", "lineage") and name not in self.commands and not ctx.resilient_parsing:
            reader = f"strataml list {self.name}s" if name in ("list", "ls") else f"strataml {name} {self.name}:..."
            ctx.fail(f"No such command {name!r}: {self.name}s are read with `{reader}`.")
        return super().resolve_command(ctx, args)


class _PipeClosed(Exception):
    """stdout's reader went away (`| head`)."""


class _Stopped(Exception):
    """Ctrl-C (or SIGTERM, SIGHUP: Terminated); `note` says what the command recorded before it stopped."""

    def __init__(self, note: str | None, code: int) -> None:
        super().__init__(note)
        self.note = note
        self.code = code


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a CI job cancelled, `timeout`, `docker stop`, a closed terminal), raised
    where the command is, as Ctrl-C is: what it built is removed or recorded as stopped, as on
    Ctrl-C, where the signal's default would have left a half-built staging folder behind that
    the doctor then reports until someone deletes it. Exit 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__()
        self.signum = signum


def _stop_on_termination() -> None:
    """Turn SIGTERM and SIGHUP into Terminated, unless the caller ignores them (nohup)."""
    import signal

    def stop(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        try:
            if number is not None and signal.getsignal(number) is signal.SIG_DFL:
                signal.signal(number, stop)
        except (ValueError, OSError):  # (not the main thread)
            pass


def _late_directory(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """`strataml doctor -C DIR` means `strataml -C DIR doctor`: people put it after the command too."""
    if value is None:
        return
    state = ctx.find_object(State)
    if state is None:
        return
    if not value.is_dir():
        raise click.BadParameter(f"{value} is not a folder", param_hint="-C")
    if state.directory is not None and state.directory.resolve() != value.resolve():
        raise click.BadParameter(f"given twice ({state.directory} and {value}); give it once", param_hint="-C")
    state.directory = value


def _accept_directory(command: click.Command) -> None:
    """Give `command` (and a group's commands) the hidden -C that _late_directory reads, once."""
    if any("-C" in p.opts for p in command.params):
        return
    command.params.append(
        click.Option(
            ["-C", "late_directory"],
            type=click.Path(file_okay=False, path_type=Path),
            hidden=True,
            expose_value=False,
            is_eager=True,
            callback=_late_directory,
        )
    )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_directory(sub)


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run as if started in DIR: the workspace is the nearest strataml.yaml upward, and relative paths "
    "(-o FILE, data and key files) are read from DIR, as with git -C.",
    metavar="DIR",
)
@click.version_option(__version__, "-V", "--version", prog_name="strataml")
@click.pass_context
def cli(ctx: click.Context, directory: Path | None) -> None:
    """StrataML keeps an ML workspace in Git trustworthy.

    \b
    Datasets, runs, models and experiment specs live in one repository; the contracts in
    tfc/ say what each must contain and `strataml doctor` proves the repository honours them.

    \b
    Start here (then commit each step with git; the README's tour shows how):
      strataml init lab && cd lab         create a workspace that passes the doctor
      strataml dataset add iris ../iris.csv --version 1 --license CC-BY-4.0 \\
          --source https://archive.ics.uci.edu/dataset/53/iris --target species
      strataml experiment new iris-logreg --dataset dataset:iris@1 --register iris-classifier \\
          --gate 'test_accuracy >= 0.9'
      strataml run experiments/iris-logreg.yaml
      strataml doctor --strict            check everything; exit 0 ok, 2 errors or warnings
      strataml doctor --explain TFC0006-E002
      strataml list runs --sort test_accuracy --desc
      strataml lineage model:iris-classifier@1 --upstream
      strataml promote model:iris-classifier@1 --to candidate --reason "offline eval ok"

    \b
    Exit codes, the same for every command:
      0 done   1 warnings   2 errors found, or refused by a rule
      3 the tool could not run (bad usage, no workspace, output that cannot be written)
      130 interrupted   141 the reader of its output went away (`| head`)
    Set STRATAML_DEBUG=1 to see a traceback for internal errors.
    """
    if directory is not None and not directory.is_dir():
        raise click.BadParameter(f"{directory} is not a folder", param_hint="-C")
    ctx.obj = State(directory)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: never lets a traceback reach the user unless asked."""
    from strataml.cli.streams import escape_unencodable, forgive_stderr, mend_closed
    from strataml.nogc import end, one_shot

    escape_unencodable()
    if mend_closed():
        click.echo("strataml: error: standard output is closed or not open for writing; nothing was done", err=True)
        click.echo("  hint: redirect it instead: to a file, or to /dev/null to discard it", err=True)
        end(EXIT_TOOL_FAILURE)
    forgive_stderr()
    one_shot()
    code = _run_to_end(argv)
    # Frozen, what is left (the walk, caches) is not traversed by a last collection when the
    # exit below takes the interpreter's usual path (~20 ms after a rebuild on 10k records).
    gc.freeze()
    end(code)


def _run_to_end(argv: list[str] | None) -> int:
    """run(), its output flushed, and a reader that went away meanwhile told (see _flushed)."""
    from strataml.cli import machine

    _watch_stdout_pipe()
    _stop_on_termination()
    args = sys.argv[1:] if argv is None else argv
    try:
        if not {"--help", "-h", "--version"} & set(args):  # (asking what strataml is needs nothing of the machine)
            machine.check()
    except StrataError as exc:
        return _flushed(_error(args, exc.message, exc.hint))
    return _flushed(run(argv))


_pipe_closed_on_us = False


def _watch_stdout_pipe() -> None:
    """Note a SIGPIPE (a write to a pipe nobody reads any more) instead of ignoring it, as
    Python does. A write the signal interrupts returns the part written, and Python's text
    layer drops the rest without an error: `strataml dashboard -o - | head -c1` lost most of
    the page and exited 0. The note lets _flushed() tell that apart (the handler only notes:
    writes to a closed pipe still fail with EPIPE where they are made, helpers' pipes too)."""
    import signal

    global _pipe_closed_on_us
    _pipe_closed_on_us = False

    def noted(_signum: int, _frame: object) -> None:
        global _pipe_closed_on_us
        _pipe_closed_on_us = True

    try:
        signal.signal(signal.SIGPIPE, noted)
    except (AttributeError, ValueError, OSError):  # (no SIGPIPE here, or not the main thread)
        pass


def _reader_gone() -> bool:
    """Whether stdout is a pipe (or socket) whose reading end is closed."""
    import select

    try:
        poller = select.poll()
        poller.register(1, 0)  # no events asked for: POLLERR and POLLHUP are told anyway
        return any(events & (select.POLLERR | select.POLLHUP) for _fd, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _flushed(code: int) -> int:
    """`code`, once what the command printed has left this process: a reader that went away
    before it took the rest (`| head`, a pipe closed early) is exit 141 here too, and a full
    disk the same error as during the command. (Unflushed, the exit's own flush failed quietly
    and the command's code said all was written.)"""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
        if _pipe_closed_on_us and _reader_gone():
            raise BrokenPipeError
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE_CLOSED
    except OSError as exc:
        return _stdout_lost(exc)
    except ValueError:  # (closed by the command: nothing of it is left to write)
        pass
    return code


def _one_line(message: str) -> str:
    """click's usage message with its list of choices on the line ("Choose from:\n\ta,\n\tb"):
    escaped, that layout read as literal \n\t. (A value the user typed is quoted by click with
    its control characters written out, and shown() escapes any left.) "not a valid integer
    range" (click's name for a bounded integer) says a number was expected."""
    return (
        message.replace(":\n\t", ": ").replace(",\n\t", ", ").replace("not a valid integer range", "not a whole number")
    )


def _command_of(args: list[str]) -> str:
    """The command path `args` name ("strataml list"), for an error click raised without its
    context (an option missing its value is found while parsing, before the context exists)."""
    path, command = ["strataml"], cast(click.Command, cli)
    ctx = click.Context(cli, info_name="strataml")
    values = False
    for arg in args:
        if values:  # the group's -C DIR
            values = False
            continue
        if arg == "-C":
            values = True
            continue
        if not isinstance(command, click.Group):
            break  # a command's own arguments follow
        if arg.startswith("-"):
            continue
        found = command.get_command(ctx, arg)
        if found is None:
            break
        path.append(arg)
        command, ctx = found, click.Context(found, info_name=arg, parent=ctx)
    return " ".join(path)


def _dashed_file(exc: click.UsageError, args: list[str]) -> str | None:
    """The argument an unknown option came from when it is a file (from -C DIR, if given)."""
    if not isinstance(exc, click.NoSuchOption) or not exc.option_name:
        return None
    start = args[args.index("-C") + 1] if "-C" in args[:-1] else "."
    for arg in args:
        if arg.startswith(exc.option_name) and os.path.lexists(os.path.join(start, arg)):
            return arg
    return None


def run(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv  # (what an error reads: whether --format json was asked)
    try:
        result = cli.main(args=argv, prog_name="strataml", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:  # exit 3, not click's 2; the same two lines as any error
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group (`strataml keys`): its help, as older click
            click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
            return 0
        where = exc.ctx.command_path if exc.ctx is not None else _command_of(args)
        file = _dashed_file(exc, args)
        if file is not None:  # (a file named -x.csv, read as the options -x -. ...)
            hint = f"{file} is a file: put it after --, every option before (`{where} [OPTIONS] ... -- {file}`)"
        else:
            hint = f"see `{where} --help`"
        return _error(args, _one_line(exc.format_message()), hint)
    except click.ClickException as exc:
        return _error(args, exc.format_message())
    except click.exceptions.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # Ctrl-C while click parsed or prompted
            return _interrupted(None, _interrupt_code(exc.__context__), args)
        click.echo("strataml: aborted", err=True)
        return EXIT_TOOL_FAILURE
    except _Stopped as exc:
        return _interrupted(exc.note, exc.code, args)
    except _PipeClosed:
        # Output piped into `head`, which stopped reading: not a verdict on the workspace.
        # 141 is what a shell reports for a writer a closed pipe stopped (128 + SIGPIPE);
        # stdout goes to /dev/null so that the interpreter's last flush has nowhere to fail.
        _quiet_stdout()
        return EXIT_PIPE_CLOSED
    except StrataError as exc:
        _debug_traceback()
        return _error(args, exc.message, exc.hint, list(exc.details), exc.exit_code)
    except KeyboardInterrupt as exc:
        return _interrupted(getattr(exc, "note", None), _interrupt_code(exc), args)
    except SystemExit:
        # click's own answer to a closed pipe outside a command (`strataml --help | true`): exit 1.
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):  # _PacifyFlushWrapper in click 8.2+
            _quiet_stdout()
            return EXIT_PIPE_CLOSED
        raise
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE_CLOSED
    except OSError as exc:
        _debug_traceback()
        from strataml.cli.streams import stdout_fails

        if exc.filename is None and stdout_fails(exc):
            return _stdout_lost(exc)
        where = f" {exc.filename}" if exc.filename else ""
        return _error(
            args,
            f"cannot {'write' if exc.errno in _WRITING else 'access'}{where}: {exc.strerror or exc}",
            _OS_HINTS.get(exc.errno or 0),
        )
    except Exception as exc:
        _debug_traceback()
        from strataml.doctor.finding import bounded

        click.echo(
            shown(
                f"strataml: internal error: {type(exc).__name__}: {bounded(str(exc))} (set STRATAML_DEBUG=1 for the traceback)"
            ),
            err=True,
        )
        if _asks_json(args):  # (a script reading stdout gets JSON whether the command worked or not)
            _json_error(
                f"internal error: {type(exc).__name__}: {bounded(str(exc))}",
                "set STRATAML_DEBUG=1 for the traceback",
                [],
                EXIT_TOOL_FAILURE,
            )
        return EXIT_TOOL_FAILURE


def _error(
    args: list[str],
    message: str,
    hint: str | None = None,
    details: list[str] | None = None,
    code: int = EXIT_TOOL_FAILURE,
) -> int:
    """An error said on stderr (escaped: messages quote names from the repository); and, when the
    command was asked for `--format json`, as one JSON object on stdout too, so that a script
    reading stdout gets JSON whether the command worked or not. Messages quote names, paths and
    arguments: escaped, each stays one line, and bounded like a finding's text (a 130,000-character
    argument in a usage error or an OS error's file name is not echoed whole)."""
    from strataml.doctor.finding import bounded

    message, hint = bounded(message), bounded(hint) if hint else hint
    details = [bounded(d) for d in details or ()]
    click.echo(f"strataml: error: {shown(message)}", err=True)
    for detail in details or ():
        click.echo(f"  - {shown(detail)}", err=True)
    if hint:
        click.echo(f"  hint: {shown(hint)}", err=True)
    if _asks_json(args):
        _json_error(message, hint, details or [], code)
    return code


def _json_error(message: str, hint: str | None, details: list[str], code: int) -> None:
    import json

    said = {"message": message, "hint": hint, "details": details, "exit_code": code}
    try:
        click.echo(json.dumps({"error": said}, ensure_ascii=True))
    except OSError:
        pass  # (stdout gone: the error is on stderr)


def _asks_json(args: list[str]) -> bool:
    """Whether the command line asks `--format json` (before a `--`, after which names are files)."""
    for i, arg in enumerate(args):
        if arg == "--":
            return False
        if arg == "--format=json" or (arg == "--format" and args[i + 1 : i + 2] == ["json"]):
            return True
    return False


_READ_ONLY = (
    "nothing can be written there: commands that only read (doctor, list, show, lineage, status) still "
    "work; `strataml index -o FILE` and `dashboard -o FILE` write elsewhere"
)
_WRITING = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})  # (errors only a write meets)
_OS_HINTS = {
    errno.EROFS: _READ_ONLY,
    errno.EACCES: "check who owns that folder and may write there (`ls -ld`); " + _READ_ONLY.split(": ", 1)[1],
    errno.EPERM: "check who owns that folder and may write there (`ls -ld`); " + _READ_ONLY.split(": ", 1)[1],
    errno.ENOSPC: "the disk is full: free some space and run again",
    errno.EDQUOT: "the disk quota is used up: free some space and run again",
    errno.ENOENT: "check the path: a folder on its way is not there, or cannot hold files (/proc, /sys)",
    errno.ENOTDIR: "check the path: a part of it that should be a folder is a file",
}

EXIT_PIPE_CLOSED = 141
EXIT_INTERRUPTED = 130


def _stdout_lost(exc: OSError) -> int:
    """A full disk, a stdout open for reading only (`1</dev/null`): the output is lost, so this
    is no verdict; the command ran to its end, so what it changed, if anything, is done."""
    _quiet_stdout()
    click.echo(shown(f"strataml: error: cannot write to standard output: {exc.strerror or exc}"), err=True)
    hint = "the command ran to its end; only what it printed was lost (`git status` shows what it changed)"
    if exc.errno == errno.EBADF:
        hint += "; redirect standard output to a file, or to /dev/null to discard it"
    click.echo(f"  hint: {hint}", err=True)
    return EXIT_TOOL_FAILURE


def _interrupt_code(exc: BaseException | None) -> int:
    """130 for Ctrl-C; 128 + the signal for Terminated, also when a command raised its own
    interruption from it (the run recorded as cancelled: errors.Interrupted)."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, Terminated):
            return 128 + exc.signum
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return EXIT_INTERRUPTED


def _interrupted(note: str | None, code: int, args: list[str]) -> int:
    what = "interrupted" if code == EXIT_INTERRUPTED else f"stopped by signal {code - 128}"
    said = f"{what}; {note}" if note else what
    click.echo(shown(f"strataml: {said}"), err=True)
    if _asks_json(args):  # (a script reading stdout gets JSON however the command ended)
        _json_error(said, None, [], code)
    return code


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _debug_traceback() -> None:
    if os.environ.get("STRATAML_DEBUG"):
        import traceback

        traceback.print_exc()


def run_subcommand(name: str, argv: list[str]) -> NoReturn:
    """`strataml NAME ARGV` for the scripts in tools/, which also accept the global -C DIR: the
    console script's entry, so they behave as it does (a closed stdout refused before anything
    runs; it was an internal error after the whole run)."""
    front: list[str] = []
    rest = list(argv)
    while "-C" in rest:
        i = rest.index("-C")
        front += rest[i : i + 2]
        del rest[i : i + 2]
    main([*front, name, *rest])
    raise AssertionError("main() returned")  # (it ends the process)
