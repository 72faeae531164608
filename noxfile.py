"""Each engine's integration, tested in an environment of its own: `nox -s airflow`.

Engines pin versions of libraries that hitlkit uses too (FastAPI, SQLAlchemy, pydantic
ranges), so their tests never run in the main test environment: each session installs
`hitlkit[<engine>]` with uv into `.nox/<engine>`, which proves that a user's
`pip install "hitlkit[<engine>]"` resolves, then type-checks and tests the integration
(`tests/engines/<engine>`, with its own pytest.ini). `./scripts/test` runs them all.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
TOOLS = ["pytest>=8", "pytest-timeout>=2.3", "mypy>=1.11"]


def check(session: nox.Session, engine: str, extras: str) -> None:
    """Install `hitlkit[extras]` and the test tools, type-check and test `engine`'s part."""
    session.install("-e", f".[{extras}]" if extras else ".", *TOOLS)
    sources = [
        *(ROOT / "src/hitlkit/contrib" / engine).glob("*.py"),
        *(ROOT / "tests/engines" / engine).glob("*.py"),
        *(ROOT / "examples").glob(f"{engine}_*.py"),
    ]
    session.run("mypy", "--strict", *(str(p.relative_to(ROOT)) for p in sorted(sources)))
    tests = f"tests/engines/{engine}"
    session.run("pytest", "-c", f"{tests}/pytest.ini", tests, *session.posargs)


@nox.session
def core(session: nox.Session) -> None:
    # hitlkit alone: no engine, and no web app ([server]).
    check(session, "core", "")


@nox.session
def prefect(session: nox.Session) -> None:
    check(session, "prefect", "prefect,server")


@nox.session
def dagster(session: nox.Session) -> None:
    check(session, "dagster", "dagster,server")


@nox.session
def airflow(session: nox.Session) -> None:
    # Without [server]: Airflow's own FastAPI stays, and hitlkit waits through the store.
    check(session, "airflow", "airflow")


@nox.session
def temporal(session: nox.Session) -> None:
    check(session, "temporal", "temporal,server")
