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
    sys.stderr.write(
        f"strataml: error: {Path(sys.argv[0]).name} needs {', '.join(_missing)}, not installed for {sys.executable}\n"
        f"  hint: pip install {' '.join(_NEEDED.values())} (or `pip install -e .` in the checkout)\n"
    )
    sys.exit(3)
