"""`strataml init`: lay out a new workspace that passes `strataml doctor --strict`."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from strataml.atomic import write_text
from strataml.contracts import documents
from strataml.errors import StrataError
from strataml.refs import valid_name
from strataml.workspace import CONFIG, MANAGED

# Lines these files must hold; existing files are extended, never replaced.
MERGED = {".gitignore", ".gitattributes"}


@dataclass(frozen=True)
class Planned:
    path: str
    text: str


def plan(name: str) -> list[Planned]:
    """Every file a new workspace gets, strataml.yaml last (its presence marks a finished init)."""
    tpl = resources.files(__package__).joinpath("templates")
    files = [Planned(f"{folder}/.gitkeep", "") for folder in MANAGED]
    files += [Planned(f"tfc/{doc}", text) for doc, text in documents().items()]
    files += [
        Planned("tfc/keys/.gitkeep", ""),
        Planned(".gitignore", tpl.joinpath("gitignore").read_text("utf-8")),
        Planned(".gitattributes", tpl.joinpath("gitattributes").read_text("utf-8")),
        Planned(".github/workflows/strataml.yml", tpl.joinpath("github/strataml.yml").read_text("utf-8")),
        Planned(".pre-commit-config.yaml", tpl.joinpath("pre-commit-config.yaml").read_text("utf-8")),
        Planned(CONFIG, tpl.joinpath("strataml.yaml").read_text("utf-8").replace("{name}", name)),
    ]
    return files


def init(target: Path, name: str | None = None) -> list[tuple[str, str]]:
    """Create the workspace in `target`; returns (path, what happened) for each file."""
    target = target.resolve()
    if (target / CONFIG).exists():
        raise StrataError(
            f"{target} already holds a workspace ({CONFIG} exists)", "nothing was changed; run `strataml doctor` there"
        )
    if target.exists() and not target.is_dir():
        raise StrataError(f"{target} exists and is not a folder", "choose another DIR")
    name = name or target.name
    if not valid_name(name):
        raise StrataError(
            f"{name!r} is not a valid workspace name", "pass --name with letters, digits, '.', '_' or '-'"
        )
    done = []
    for item in plan(name):
        path = target / item.path
        if path.exists() and item.path in MERGED:
            existing = path.read_text("utf-8")
            missing = [
                ln
                for ln in item.text.splitlines()
                if ln.strip() and not ln.startswith("#") and ln not in existing.splitlines()
            ]
            if missing:
                write_text(
                    path,
                    existing + ("" if existing.endswith("\n") or not existing else "\n") + "\n".join(missing) + "\n",
                )
                done.append((item.path, "extended"))
            else:
                done.append((item.path, "kept"))
        elif path.exists():
            done.append((item.path, "kept (already there)"))
        else:
            write_text(path, item.text)
            done.append((item.path, "created"))
    return done
