"""Reading deploy/: the Dockerfile's instructions, compose.yaml and the Kubernetes manifests."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


@dataclass
class Stage:
    """One `FROM` of a Dockerfile and the instructions after it."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def last(self, keyword: str) -> str | None:
        found = [args for kw, args in self.instructions if kw == keyword]
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        """Every `ENV` of the stage, in order (`KEY=VALUE` pairs, shell-quoted)."""
        values: dict[str, str] = {}
        for keyword, args in self.instructions:
            if keyword == "ENV":
                for pair in shlex.split(args):
                    key, equals, value = pair.partition("=")
                    assert equals, f"ENV {args!r}: expected KEY=VALUE pairs"
                    values[key] = value
        return values

    def exec_form(self, keyword: str) -> list[str]:
        """The JSON array of `keyword` (ENTRYPOINT, CMD), which must be in exec form."""
        args = self.last(keyword)
        assert args is not None, f"no {keyword} in the stage"
        words = json.loads(args)
        assert isinstance(words, list), f"{keyword} must be a JSON array, got {args!r}"
        return [str(word) for word in words]

    def healthcheck(self) -> list[str]:
        """The command of `HEALTHCHECK [options] CMD [...]`, in exec form."""
        args = self.last("HEALTHCHECK")
        assert args is not None, "no HEALTHCHECK in the stage"
        _, cmd, command = args.partition(" CMD ")
        assert cmd, f"HEALTHCHECK must run a command, got {args!r}"
        words = json.loads(command)
        assert isinstance(words, list), f"HEALTHCHECK CMD must be a JSON array, got {command!r}"
        return [str(word) for word in words]


def dockerfile_stages(path: Path = DOCKERFILE) -> list[Stage]:
    """The stages of a Dockerfile: comments dropped, continued lines joined."""
    text = re.sub(r"\\\n", " ", "\n".join(_without_comments(path.read_text())))
    stages: list[Stage] = []
    for line in text.splitlines():
        keyword, _, args = line.strip().partition(" ")
        if not keyword:
            continue
        keyword, args = keyword.upper(), " ".join(args.split())
        if keyword == "FROM":
            base, _, name = args.partition(" AS ")
            stages.append(Stage(base=base.strip(), name=name.strip() or None))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


def _without_comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    """Every document of a YAML file, each a mapping."""
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert all(isinstance(doc, dict) for doc in documents), path
    return documents


def env_file(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines of an env file, comments and blank lines left out."""
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {key.strip(): value for key, eq, value in pairs if eq and not key.startswith("#")}
