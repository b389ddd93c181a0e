"""File and folder arguments, read from the -C folder as `git -C` and `make -C` read them.

`strataml -C DIR` runs as if started in DIR: refs given as paths are taken from there already
(output.from_here), and so is every file a command reads or writes (`-o report.sarif`,
`dataset add NAME data.csv`, `keys add key.asc`). Absolute paths and `-` (stdout) are as given.
"""

from __future__ import annotations

import os
from typing import Any

import click


def from_start(ctx: click.Context | None, value: str) -> str:
    """`value` joined to the -C folder when one was given and `value` is relative."""
    if ctx is None or not value or value == "-" or os.path.isabs(value):
        return value
    state = ctx.find_root().obj
    directory = getattr(state, "directory", None)
    return os.path.join(directory, value) if directory is not None else value


def from_start_option(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """from_start() as a click callback, for an option kept as text (-o with '-' or a folder)."""
    return from_start(ctx, value) if value is not None else None


def from_start_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """from_start_option() for an option that names a file to write ('-': stdout)."""
    if value is not None:
        file_named(value, param, ctx)
    return from_start_option(ctx, param, value)


def file_named(value: str, param: click.Parameter | None, ctx: click.Context | None) -> None:
    """A usage error for a file's name that names a folder: ending with '/', or in `.` or `..`
    (`-o reports/` and `-o reports/.` wrote a file named `reports`: the path lost its slash)."""
    bare = value.rstrip("/" + os.sep)
    last = os.path.basename(bare) if bare else ""
    if value == "-" or not bare or (bare == value and last not in (".", "..")):
        return
    folder = os.path.normpath(bare)
    raise click.BadParameter(
        f"{value!r} names a folder, not a file: name a file in it (e.g. {os.path.join(folder, _example(param))})",
        ctx=ctx,
        param=param,
    )


# What each command writes, as an example of a file's name (`strataml export model-card` a README).
_EXAMPLES = {
    "index": "index.json",
    "doctor": "report.json",
    "diff": "diff.md",
    "croissant": "croissant.json",
    "model-card": "README.md",
    "openlineage": "lineage.jsonl",
    "experiment": "report.md",
    "merge": "report.json",
}


def _example(param: click.Parameter | None) -> str:
    declared = getattr(param.type, "example", None) if param is not None else None
    if declared:  # (a file the command reads, named where it is declared: `keys add` a key)
        return str(declared)
    if param is not None and param.name in ("write_baseline", "baseline"):
        return ".strataml-baseline.json"
    command = click.get_current_context(silent=True)
    return _EXAMPLES.get(command.info_name or "" if command is not None else "", "out.json")


def from_start_members(ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """A federation's MEMBER arguments (PATH or NAME=PATH), each relative path from the -C folder.
    Made absolute (joined to the current folder, `..` left for the system to follow): what a
    message or hint names is then a path that reads the same member from anywhere."""
    directory = getattr(ctx.find_root().obj, "directory", None)
    if directory is None or not value:
        return value
    from strataml.read.federate import split_member

    out = []
    for text in value:
        name, path = split_member(text)  # (a NAME that is no name is refused here, as typed)
        if path and not os.path.isabs(path):
            path = os.path.join(os.getcwd(), directory, path)
        out.append(f"{name}={path}" if name is not None else path)
    return tuple(out)


class Given(click.Path):
    """click.Path, relative to the -C folder (see the module's text). `example`: a file's name
    that a usage error offers for one named as a folder (else what the command writes)."""

    def __init__(self, *args: Any, example: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.example = example

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            if not self.dir_okay:  # (a file, read or written, is never named as a folder)
                file_named(value, param, ctx)
            value = from_start(ctx, value)
            if value != "-" and os.path.normpath(value) == "-":
                # A file named `-` asked for as `./-`: a Path would shorten it to `-`, stdout.
                value = os.path.abspath(value)
        return super().convert(value, param, ctx)
