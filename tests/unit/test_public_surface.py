"""What users import is public: the README's code uses `hitlkit`'s exports only, and every
package the code imports is one that installing hitlkit (or one of its extras) brings."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import hitlkit

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
PYPROJECT = ROOT / "pyproject.toml"
SOURCE = ROOT / "src"


def readme_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


def parsed(code: str) -> ast.AST:
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree: ast.AST = compile(code, "README.md", "exec", flags=flags)
    return tree


def private_uses(tree: ast.AST) -> Iterator[str]:
    """Imports of private modules, and attributes reached through a private name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        else:
            continue
        for name in names:
            if any(part.startswith("_") for part in name.split(".")):
                yield name


def test_the_readme_has_python_code() -> None:
    assert len(readme_blocks()) >= 5


@pytest.mark.parametrize("code", readme_blocks(), ids=lambda code: code.splitlines()[0][:40])
def test_the_readmes_code_imports_no_private_module(code: str) -> None:
    assert list(private_uses(parsed(code))) == []


def test_what_the_readme_imports_from_hitlkit_is_exported() -> None:
    imported = {
        alias.name
        for code in readme_blocks()
        for node in ast.walk(parsed(code))
        if isinstance(node, ast.ImportFrom) and node.module == "hitlkit"
        for alias in node.names
    }
    assert imported, "the README imports nothing from hitlkit by name"
    assert imported <= set(hitlkit.__all__)


def test_a_private_import_would_be_found() -> None:
    code = "from hitlkit._links import answer_url\nimport hitlkit\nhitlkit._ops.x()\n"
    assert list(private_uses(parsed(code))) == [
        "hitlkit._links",
        "hitlkit._links.answer_url",
        "_ops",
    ]


def declared_distributions() -> set[str]:
    """Every distribution pyproject.toml names: dependencies and extras alike."""
    text = PYPROJECT.read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    extras = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    # Each requirement is a quoted string with a version bound (tomllib is not in 3.10).
    quoted = re.findall(r'"([A-Za-z0-9][A-Za-z0-9._\[\],-]*\s*[<>=!~][^"]*)"', project + extras)
    return {canonicalize_name(Requirement(text).name) for text in quoted}


# Engines tested in environments of their own (noxfile.py), not installed here, whose
# modules are named otherwise than their distributions.
TESTED_ELSEWHERE = {"airflow": "apache-airflow"}


def imported_distributions() -> dict[str, str]:
    """The distributions of every third-party module the package imports, with a file: one
    name, or several joined by " | " where they share a namespace (`langgraph`)."""
    distributions = importlib.metadata.packages_distributions()
    found: dict[str, str] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("hitlkit", "flyteplugins"):
                    continue
                elsewhere = [TESTED_ELSEWHERE.get(top, top)]
                names = sorted({canonicalize_name(n) for n in distributions.get(top, elsewhere)})
                found.setdefault(" | ".join(names), str(path.relative_to(ROOT)))
    return found


def test_every_package_the_code_imports_is_declared() -> None:
    declared = declared_distributions()
    missing = {
        names: path
        for names, path in imported_distributions().items()
        if declared.isdisjoint(names.split(" | "))
    }
    assert missing == {}, "imported but not in pyproject.toml's dependencies or extras"


def test_py_typed_ships_in_the_package() -> None:
    assert (SOURCE / "hitlkit" / "py.typed").is_file()
    assert '"src/hitlkit"' in PYPROJECT.read_text()  # the wheel takes the whole folder


def test_the_lazy_exports_import_without_their_optional_packages() -> None:
    """`from hitlkit import *` works without obstore; making an `ObjectStore` says what to
    install."""
    script = """
import sys

class NoObstore:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "obstore":
            raise ImportError("obstore is not installed")

sys.meta_path.insert(0, NoObstore())
from hitlkit import *
try:
    ObjectStore("s3://bucket/prefix")
except ConfigurationError as exc:
    print(exc)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert 'pip install "hitlkit[s3]"' in done.stdout
