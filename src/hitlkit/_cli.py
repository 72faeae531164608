"""The `hitl` command: serve the app, list, show, answer and cancel events, prune, run the demo.

`ls`, `show`, `answer` and `cancel` go through a `Client`: on the store by
default, over HTTP when `--endpoint` (or `HITL_CLIENT_ENDPOINT`) names an app.
Errors become one `error: ...` line on stderr and a non-zero exit code;
`--debug` (or `HITL_DEBUG=1`) prints the traceback too.
"""

from __future__ import annotations

import logging

# The commands register themselves on `app` as they are imported: the order of `hitl --help`.
from hitlkit import _cli_events, _cli_prune, _cli_tools  # noqa: F401
from hitlkit._cli_base import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `hitl` script."""
    # Commands say themselves how many records they left out; one line each is enough.
    logging.getLogger("hitlkit.listing").setLevel(logging.ERROR)
    # A store that cannot be indexed fails the command itself, in its one error line.
    logging.getLogger("hitlkit.index").setLevel(logging.ERROR)
    app(prog_name="hitl")


if __name__ == "__main__":
    main()
