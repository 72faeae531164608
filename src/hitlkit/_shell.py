"""How a person runs `hitl` from their shell, for the commands hitlkit prints.

A printed command must work when pasted. `hitl` is on the PATH after `pip install`
into an active environment, but not when a virtual environment was made and never
activated (as `./scripts/demo` does): there the command is the script's path.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig
from pathlib import Path

__all__ = ["hitl_argv", "hitl_command"]

_SCRIPT = "hitl.exe" if os.name == "nt" else "hitl"


def hitl_command() -> str:
    """`hitl` when the PATH finds this installation's script, else a command that runs it.

    The script's path is absolute, so the command works from any folder (a new terminal
    starts in the home folder); without an installed script, `python -m hitlkit`.
    """
    script = _installed_script()
    if script is None:
        return f"{shlex.quote(sys.executable)} -m hitlkit"
    on_path = shutil.which(_SCRIPT)
    if on_path is not None and _same_file(on_path, script):
        return "hitl"
    return shlex.quote(str(script))


def hitl_argv() -> list[str]:
    """The absolute command that runs this installation's `hitl`, as a program and its
    arguments: for programs that start it without a shell or its PATH (desktop apps)."""
    script = _installed_script()
    return [sys.executable, "-m", "hitlkit"] if script is None else [str(script)]


def _installed_script() -> Path | None:
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        script = Path(folder) / _SCRIPT
        if script.is_file() and os.access(script, os.X_OK):
            return script.absolute()
    return None


def _same_file(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
