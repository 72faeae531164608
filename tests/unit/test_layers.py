"""hitlkit's layers: a module imports only from its own layer and the layers below it.

The layers, bottom to top, are those ARCHITECTURE.md draws. Every module must be in the
table (the test fails until a new one is placed), so where a module sits is a decision.
Imports inside functions count too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

LAYERS: dict[str, tuple[str, ...]] = {
    "values: plain values and their rules, no I/O": (
        "hitlkit._records",
        "hitlkit._exceptions",
        "hitlkit._errors",
        "hitlkit._markdown",
        "hitlkit._printable",
        "hitlkit._values",
        "hitlkit._options",
        "hitlkit._decisions",
        "hitlkit._policy",
    ),
    "runtime: settings and the background machinery": (
        "hitlkit._config",
        "hitlkit._shell",
        "hitlkit._config_file",
        "hitlkit._discovery",
        "hitlkit._runtime",
        "hitlkit._sync",
        "hitlkit._outbox",
    ),
    "store: the contract and its backends": ("hitlkit._store",),
    "events: create, answer, list, watch, wait, notify": (
        "hitlkit._ops",
        "hitlkit._policy_ops",
        "hitlkit._reading",
        "hitlkit._index",
        "hitlkit._listing",
        "hitlkit._audit",
        "hitlkit._links",
        "hitlkit._tokens",
        "hitlkit._watch",
        "hitlkit._push",
        "hitlkit._notify",
        "hitlkit._chat",
        "hitlkit._choices",
        "hitlkit._waiting",
        "hitlkit._retention",
        "hitlkit._evidence",
    ),
    "app: the web app": ("hitlkit._server",),
    "api: Event (which may start the app), Client": (
        "hitlkit",
        "hitlkit._event",
        "hitlkit._client",
        "hitlkit._approval",
        "hitlkit._client_backends",
        "hitlkit._demo",
        "hitlkit._doctor",
    ),
    "edges: the command line, engines, testing": (
        "hitlkit._cli",
        "hitlkit._cli_ask",
        "hitlkit.__main__",
        "hitlkit._cli_base",
        "hitlkit._cli_help",
        "hitlkit._cli_events",
        "hitlkit._cli_prune",
        "hitlkit._cli_origin",
        "hitlkit._cli_render",
        "hitlkit._cli_store",
        "hitlkit._cli_tools",
        "hitlkit._cli_mcp",
        "hitlkit._cli_policy",
        "hitlkit._cli_temporal",
        "hitlkit._mcp_desk",
        "hitlkit._mcp_elicit",
        "hitlkit._mcp_server",
        "hitlkit.contrib",
        "hitlkit.testing",
        "hitlkit._pytest_plugin",
        "flyteplugins",
    ),
}
RANKS = list(LAYERS)


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def layer_of(module: str) -> int:
    """The rank of the layer whose longest matching name is `module` or a package of it."""
    found = [
        (len(name), rank)
        for rank, names in enumerate(LAYERS.values())
        for name in names
        if module == name or module.startswith(name + ".")
    ]
    if not found:
        raise AssertionError(f"{module} is in no layer: place it in LAYERS")
    return max(found)[1]


def imports(module: str, path: Path) -> Iterator[str]:
    """The hitlkit modules `module` imports, anywhere in its file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    known = {name for name, _ in modules()}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in known:
                    yield submodule
                elif base in known:
                    yield base


@pytest.mark.parametrize(("module", "path"), list(modules()), ids=lambda v: str(v))
def test_a_module_imports_nothing_from_a_higher_layer(module: str, path: Path) -> None:
    rank = layer_of(module)
    higher = sorted(
        f"{name} ({RANKS[layer_of(name)]})"
        for name in set(imports(module, path))
        if layer_of(name) > rank
    )
    assert not higher, f"{module} ({RANKS[rank]}) imports from a higher layer: {higher}"


def test_the_table_names_no_module_that_is_gone() -> None:
    known = {name for name, _ in modules()}
    gone = [
        name
        for names in LAYERS.values()
        for name in names
        if not any(m == name or m.startswith(name + ".") for m in known)
    ]
    assert not gone
