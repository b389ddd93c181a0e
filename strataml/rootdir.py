"""Where the workspace is: the nearest folder holding strataml.yaml.

Kept apart from strataml.workspace (which loads the YAML stack) so a command can find its
workspace, and a `--since` run start git, before the heavier modules load.
"""

from __future__ import annotations

from pathlib import Path

from strataml.errors import WorkspaceNotFound

CONFIG = "strataml.yaml"


def find_root(start: Path | None = None) -> Path:
    """The nearest folder holding strataml.yaml, from `start` upward."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG).is_file():
            return folder
    raise WorkspaceNotFound(
        f"no {CONFIG} in {here} or any parent folder",
        "run inside a StrataML workspace, pass -C DIR, or create one with `strataml init`",
    )
