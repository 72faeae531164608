"""The `hitl` command: serve the app, list, show, answer and cancel events, prune, run the demo.

`ls`, `show`, `answer` and `cancel` go through a `Client`: on the store by
default, over HTTP when `--endpoint` (or `HITL_CLIENT_ENDPOINT`) names an app.
Errors become one `error: ...` line on stderr and a non-zero exit code;
`--debug` (or `HITL_DEBUG=1`) prints the traceback too.
"""

from __future__ import annotations

import logging
import sys

import typer

# The commands register themselves on `app` as they are imported: the order of `hitl --help`.
from hitlkit import (  # noqa: F401
    _cli_events,
    _cli_mcp,
    _cli_policy,
    _cli_prune,
    _cli_store,
    _cli_temporal,
    _cli_tools,
)
from hitlkit._cli_base import app
from hitlkit._cli_origin import cli_defaults
from hitlkit._cli_render import printable
from hitlkit._errors import EXIT_ERROR
from hitlkit._exceptions import ConfigurationError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `hitl` script."""
    # Commands say themselves how many records they left out; one line each is enough.
    logging.getLogger("hitlkit.listing").setLevel(logging.ERROR)
    # A store that cannot be indexed fails the command itself, in its one error line.
    logging.getLogger("hitlkit.index").setLevel(logging.ERROR)
    _warn_on_stderr(logging.getLogger("hitlkit.config"))
    command = typer.main.get_command(app)
    try:
        # The configuration file gives the options their defaults (flags and variables win).
        defaults = cli_defaults(command)
    except ConfigurationError as exc:
        print(f"error: {printable(' '.join(str(exc).split()))}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    command.main(prog_name="hitl", default_map=defaults)


def _warn_on_stderr(logger: logging.Logger) -> None:
    """A skipped store or configuration file is told as one `warning: ...` line on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("warning: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False


class _PrintableFormatter(logging.Formatter):
    """Lines with control characters escaped: a warning names folders another user named."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


if __name__ == "__main__":
    main()
