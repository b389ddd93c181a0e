"""Let the scripts in tools/ run from a checkout without `pip install` of strataml itself.

Its dependencies must still be importable; without them the scripts say which and exit 3
(the tool could not run), never with a traceback.
"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The core dependencies as pyproject.toml declares them, by the name each is imported as.
_NEEDED = {"click": "click", "rich": "rich", "yaml": "pyyaml", "jsonschema": "jsonschema", "gnupg": "python-gnupg"}
_missing = [package for module, package in _NEEDED.items() if importlib.util.find_spec(module) is None]
if _missing:
    _message = f"{Path(sys.argv[0]).name} needs {', '.join(_missing)}, not installed for {sys.executable}"
    _hint = f"pip install {' '.join(_NEEDED.values())} (or `pip install -e .` in the checkout)"
    if sys.stderr is not None:
        sys.stderr.write(f"strataml: error: {_message}\n  hint: {_hint}\n")
    _args = sys.argv[1:]
    _args = _args[: _args.index("--")] if "--" in _args else _args
    _json = "--format=json" in _args or any(a == "--format" and b == "json" for a, b in zip(_args, _args[1:]))
    if _json and sys.stdout is not None:  # (a closed stdout: the error is on stderr, the exit code 3)
        import json  # (as strataml answers --format json when it cannot run: one JSON object on stdout)

        _error = {"message": _message, "hint": _hint, "details": [], "exit_code": 3}
        try:
            sys.stdout.write(json.dumps({"error": _error}, ensure_ascii=True) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # (the reader left: 141, as strataml, and nothing more written)
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except OSError:  # (a full disk: the error is on stderr already)
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(3)
