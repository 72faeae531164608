"""The hitlkit web app: an inbox and answer forms for people, a JSON API for programs.

`create_app(store)` builds the app over one store; every rule (types, deadlines,
first answer wins) stays in `hitlkit._ops`, which the routes call.

| route                                  | for                                              |
|----------------------------------------|--------------------------------------------------|
| `GET /`                                | inbox: events waiting for an answer              |
| `GET /form/{request_id}`               | the answer form, or the outcome once resolved    |
| `POST /submit`                         | the form's post (URL-encoded)                    |
| `GET /login`, `POST /login`            | sign a browser in with an API token              |
| `POST /logout`                         | sign the browser out                             |
| `GET /api/events`, `/api/events/{id}`  | events as JSON                                   |
| `GET /api/events/{id}/audit`           | the event's audit trail                          |
| `POST /api/events/{id}/answer`         | answer: `{"value": ..., "by": ...}`              |
| `POST /api/events/{id}/cancel`         | cancel: `{"reason": ..., "by": ...}`             |
| `POST /submit/json`, `GET /status/{id}`| the routes of flyteplugins-hitl, same shapes     |
| `GET /api/changes`, `/api/inbox/…`     | change streams (server-sent events)              |
| `GET /health`                          | app name, version and a fingerprint of the store |
| `GET /healthz`, `GET /readyz`          | probes: the process answers; the store answers   |
| `GET /metrics`                         | Prometheus metrics (`hitlkit._server._metrics`)  |
| `POST /slack/interact`                 | answers from Slack, signed by Slack (`_slack`)   |

Request bodies are capped at `MAX_BODY_BYTES` (64 KiB): a larger body, whether
declared by Content-Length or streamed in chunks, gets 413 `payload_too_large`
before any route runs. The form accepts `application/x-www-form-urlencoded`
only (`multipart/form-data` gets 415), so a request never spools a temporary file.

Without a tokens file the app trusts its callers: serve it on 127.0.0.1 (where it
answers only to loopback host names), or behind a proxy that authenticates. With
`tokens_file=`, every request but the probes (`/health`, `/healthz`, `/readyz`), `/static`,
the API docs and `/slack/interact` (which takes Slack's signature instead) needs an API
token or an answer link (`hitlkit._links`), and `/metrics` a scrape token or an API token;
see `hitlkit._server._auth`. The change
streams are capped and end after a while (`hitlkit._server._streams`).
Form posts carry a form token bound to the session against cross-site forgery
(`hitlkit._server._csrf`), and every state change must come from the app's own origin
(`hitlkit._server._guards`).

```python
import uvicorn
from hitlkit import LocalStore, create_app

uvicorn.run(create_app(LocalStore(".hitl")), host="127.0.0.1", port=8080)
```
"""

from hitlkit._config import web_app_missing
from hitlkit._exceptions import ConfigurationError

# Any use of the app (`create_app`, `hitl serve`, a waiting process told to serve) comes
# through here: say which extra brings it rather than which module is missing.
if _missing := web_app_missing():
    raise ConfigurationError(_missing)

from hitlkit._server._app import create_app
from hitlkit._server._guards import MAX_BODY_BYTES
from hitlkit._server._streams import StreamLimits

__all__ = ["MAX_BODY_BYTES", "StreamLimits", "create_app"]
