"""Answer types shared by the tests that answer them over HTTP and in a browser."""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import BaseModel, Field


class Env(enum.Enum):
    PROD = "prod"
    STAGING = "staging"


class Limits(BaseModel):
    cpu: int = Field(default=2, ge=1, le=8, description="CPU cores per replica")


class Deploy(BaseModel):
    """What to deploy, where."""

    version: str = Field(pattern=r"^v[0-9]+$", max_length=10, description="a tag like v2")
    env: Env
    replicas: int = Field(default=3, ge=1, le=10)
    flags: set[Literal["canary", "dry-run"]] = set()
    limits: Limits
    notify: bool = False
