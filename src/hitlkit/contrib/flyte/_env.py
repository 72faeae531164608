"""`env`: the Flyte environments that run hitlkit's web app next to your tasks.

Put `hitl.env` in your task environment's `depends_on`. On a cluster, Flyte
then deploys `app_env`, a FastAPI app environment serving hitlkit's app over
the events store (behind Flyte's login, scaled to zero when idle), and tasks
find it through its endpoint. A local run (`flyte.run` after `flyte.init()`)
deploys nothing: the first event starts the app inside the task's process.
"""

from __future__ import annotations

import flyte
import flyte.app
from fastapi import FastAPI
from flyte.app.extras import FastAPIAppEnvironment

from hitlkit import __version__
from hitlkit._config import default_store_url, secret, setting, tokens_file
from hitlkit._exceptions import ConfigurationError
from hitlkit._server import create_app
from hitlkit._store import Store, open_store
from hitlkit.contrib.flyte._context import bucket_store, bucket_store_url

__all__ = ["app", "app_endpoint", "app_env", "app_store", "build_app", "env"]

APP_NAME = "hitl-event-app"
APP_PORT = 8080


image = flyte.Image.from_debian_base(name="hitlkit-image").with_pip_packages(
    f"hitlkit[flyte]=={__version__}"
)

app: FastAPI = create_app()
"""The app that `app_env` serves; its store is opened when the app starts."""

app_env = FastAPIAppEnvironment(
    name=APP_NAME,
    app=app,
    description="hitlkit: answer the questions that running tasks ask",
    image=image,
    resources=flyte.Resources(cpu=1, memory="512Mi"),
    port=APP_PORT,
    requires_auth=True,
    scaling=flyte.app.Scaling(replicas=(0, 1), scaledown_after=600),
    # Used when Flyte starts the app from a command rather than from this module.
    args=[
        "uvicorn",
        "--factory",
        "hitlkit.contrib.flyte._env:build_app",
        "--host",
        "0.0.0.0",  # inside the app's container, behind Flyte's login
        "--port",
        str(APP_PORT),
    ],
)

env = flyte.TaskEnvironment(
    name="hitl-event-task-env",
    image=image,
    resources=flyte.Resources(cpu=1, memory="512Mi"),
    depends_on=[app_env],
)
"""Put in `depends_on` of the environments whose tasks create events."""


def app_store() -> Store:
    """The store the app serves: `HITL_STORE` (or `store` in the configuration file),
    else `hitl/` in the raw-data bucket, reached with Flyte's storage settings as tasks do.

    Served locally (`flyte.serve` in local mode), it is hitlkit's default store.

    ```python
    app_store()    # S3 store at s3://my-bucket/hitl on a cluster
    ```
    """
    app_ctx = flyte.app.ctx()
    if setting("store").value or app_ctx.mode == "local":
        return open_store(default_store_url())
    raw_data_path = app_ctx.raw_data_path
    if not raw_data_path:
        raise ConfigurationError(
            "the hitlkit app found no raw-data location to keep events in; set HITL_STORE"
        )
    return bucket_store(bucket_store_url(raw_data_path))


@app_env.on_startup
def _open_store() -> None:
    app.state.store = app_store()


def build_app() -> FastAPI:
    """The app over `app_store()`, for `uvicorn --factory`; `HITL_TOKENS_FILE` and
    `HITL_SECRET` configure its tokens and answer links, as for `hitl serve`.

    ```bash
    uvicorn --factory hitlkit.contrib.flyte._env:build_app --port 8080
    ```
    """
    return create_app(app_store(), tokens_file=tokens_file(), secret=secret())


def app_endpoint() -> str:
    """Where the deployed app answers, seen from a task on the cluster.

    ```python
    app_endpoint()    # "https://hitl-event-app-....apps.example.com"
    ```
    """
    try:
        return app_env.endpoint.rstrip("/")
    except Exception as exc:  # anything the cluster's app lookup raises
        raise ConfigurationError(
            f"cannot find the endpoint of the Flyte app {APP_NAME!r} ({exc}); is hitl.env in "
            "depends_on of this task's environment? Set HITL_ENDPOINT to name it yourself"
        ) from None
