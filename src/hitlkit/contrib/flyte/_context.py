"""What a Flyte task tells hitlkit: the run id, where events live, where the app answers.

Inside a task, `flyte.ctx()` names the run; explicit arguments and `HITL_*`
variables still win. Outside a task every default is hitlkit's own.

| setting  | local run (`flyte.run` on a laptop)  | run on a cluster                            |
|----------|--------------------------------------|---------------------------------------------|
| run id   | the run's name                       | the run's name                              |
| store    | `HITL_STORE`, else `.hitl` found up  | `HITL_STORE`, else `hitl/` in the data bucket |
| endpoint | `HITL_ENDPOINT`, else 127.0.0.1:8080 | `HITL_ENDPOINT`, else the app of `hitl.env` |
| serve    | the app starts in the task process   | never: the app runs as a Flyte app          |

On a cluster the bucket is reached the way Flyte reaches it: the S3 endpoint and
keys of Flyte's storage settings (`FLYTE_AWS_*`, as its sandbox sets them) when
there are any, else each cloud's usual variables (`AWS_*`, workload identity).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import flyte
from flyte.storage import get_configured_fsspec_kwargs

from hitlkit._config import setting
from hitlkit._exceptions import ConfigurationError
from hitlkit._store import Store, open_store

__all__ = ["TaskDefaults", "bucket_store", "bucket_store_url", "task_defaults"]

STORE_FOLDER = "hitl"


@dataclass(frozen=True)
class TaskDefaults:
    """Options for `Event.create` taken from the running task; `None` leaves hitlkit's default."""

    run_id: str | None = None
    store: str | None = None
    remote: bool = False
    in_task: bool = False


def task_defaults() -> TaskDefaults:
    """The defaults that the current Flyte task implies, or none outside a task.

    ```python
    task_defaults().run_id    # "r4k2..." inside a task of run "r4k2..."
    ```
    """
    ctx = flyte.ctx()
    if not ctx:
        return TaskDefaults()
    remote = ctx.mode != "local"
    store = None
    if remote and not setting("store").value:
        store = bucket_store_url(ctx.raw_data_path.path)
    return TaskDefaults(
        run_id=None if setting("run_id").value else ctx.action.run_name,
        store=store,
        remote=remote,
        in_task=True,
    )


def bucket_store_url(raw_data_path: str) -> str:
    """`hitl/` at the root of the bucket that holds `raw_data_path`.

    A run's raw-data prefix changes from run to run, and the app serves one
    store for all of them, so both sides use the bucket's root.

    ```python
    bucket_store_url("s3://my-bucket/data/ab/run-1")   # "s3://my-bucket/hitl"
    ```
    """
    parts = urlsplit(raw_data_path)
    if not parts.scheme or parts.scheme == "file" or not parts.netloc:
        raise ConfigurationError(
            f"cannot place events under the raw-data location {raw_data_path!r}: expected a "
            "bucket URL such as s3://bucket/prefix; set HITL_STORE to the store to use"
        )
    return f"{parts.scheme}://{parts.netloc}/{STORE_FOLDER}"


@functools.cache
def bucket_store(url: str) -> Store:
    """The store at `url` in Flyte's data bucket, opened with Flyte's own S3 settings.

    Flyte names a non-AWS endpoint and static keys in its storage settings
    (`FLYTE_AWS_ENDPOINT`, `FLYTE_AWS_ACCESS_KEY_ID`, ...), which obstore does not
    read by itself; without them the store is `open_store(url)`, whose credentials
    come from the usual `AWS_*` variables or the pod's identity, as Flyte's do.

    ```python
    bucket_store("s3://my-bucket/hitl")    # ObjectStore, with FLYTE_AWS_ENDPOINT if set
    ```
    """
    if urlsplit(url).scheme != "s3":
        return open_store(url)  # Flyte reads Azure's and Google's usual variables, as obstore does
    config = _flyte_s3_config(get_configured_fsspec_kwargs("s3"))
    if not config:
        return open_store(url)
    from hitlkit._store._object import ObjectStore  # obstore: hitlkit[flyte] brings it

    plain_http = str(config.get("endpoint", "")).startswith("http://")
    return ObjectStore(
        url, config=config, client_options={"allow_http": True} if plain_http else None
    )


def _flyte_s3_config(kwargs: dict[str, Any]) -> dict[str, Any]:
    """obstore's S3 settings out of Flyte's: endpoint, keys, addressing style, region."""
    config = dict(kwargs.get("config") or {})
    if kwargs.get("region"):
        config["region"] = kwargs["region"]
    return config
