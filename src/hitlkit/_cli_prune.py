"""`hitl prune`: delete events resolved long ago, after copying them to an archive if asked."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from hitlkit._cli_base import ArchiveOption, JsonOption, StoreOption, _fail, _reporting_errors, app
from hitlkit._cli_help import examples
from hitlkit._cli_render import format_age, printable, show
from hitlkit._config import DEFAULT_STORE, parse_duration
from hitlkit._errors import EXIT_USAGE
from hitlkit._records import utcnow
from hitlkit._retention import PruneReport, prune_events
from hitlkit._store import open_store
from hitlkit._sync import run_sync

__all__ = ["prune_command"]


@app.command(
    "prune",
    epilog=examples(
        "hitl prune --older-than 30d --dry-run",
        "hitl prune --older-than 30d --archive s3://bucket/hitl-archive",
        "hitl prune --older-than 2w --store s3://bucket/hitl --json",
    ),
)
def prune_command(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="DURATION",
            help="Prune events resolved (or past their deadline, unanswered) longer ago "
            "than this: 30d, 12h, 90m, 2w.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be pruned; delete nothing.")
    ] = False,
    archive: ArchiveOption = None,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep",
            help="Also find events whose index entries were lost: lists every record and "
            "writes the entries they lack (not in a dry run).",
        ),
    ] = False,
    as_json: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Delete events resolved longer ago than --older-than; never an open one.

    An event past its deadline with no answer counts from its deadline. A program
    restarted later with the run id of a pruned event asks its question again.

    Example: hitl prune --older-than 30d --archive s3://backups/hitl --dry-run
    """
    try:
        age = parse_duration(older_than, what="--older-than")
    except ValueError as exc:
        _fail(str(exc), EXIT_USAGE)
    with _reporting_errors():
        the_store = open_store(store)
        the_archive = open_store(archive) if archive and not dry_run else None
        report = run_sync(
            prune_events(
                the_store, age, utcnow(), dry_run=dry_run, archive=the_archive, sweep=sweep
            )
        )
    if as_json:
        typer.echo(json.dumps(_as_json(report, the_store.url), indent=2))
        return
    if report.events:
        show(_table(report))
    typer.echo(_summary(report, the_store.url, older_than))


def _as_json(report: PruneReport, store: str) -> dict[str, object]:
    return {
        "store": store,
        "dry_run": report.dry_run,
        "archive": report.archive,
        "events": [dataclasses.asdict(e) | {"since": e.since.isoformat()} for e in report.events],
        "pruned": len(report.events),
        "keys": report.keys,
        "skipped": report.skipped,
    }


def _table(report: PruneReport) -> Table:
    now = utcnow()
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 2, 0, 0))
    for header in ("ID", "NAME", "RUN", "STATUS", "SINCE", "KEYS"):
        table.add_column(header, no_wrap=True)
    for e in report.events:
        cells = (e.request_id, e.name or "-", e.run_id or "-", e.status)
        table.add_row(*(Text(printable(c)) for c in cells), format_age(e.since, now), str(e.keys))
    return table


def _summary(report: PruneReport, store: str, older_than: str) -> str:
    count = len(report.events)
    events = f"{count} event{'' if count == 1 else 's'}"
    keys = f"{report.keys} key{'' if report.keys == 1 else 's'}"
    if report.dry_run:
        line = f"Would prune {events} ({keys}) older than {older_than} from {store}"
    else:
        line = f"Pruned {events} ({keys}) older than {older_than} from {store}"
    if report.archive and not report.dry_run:
        line += f", archived to {report.archive}"
    line += "."
    if report.skipped:
        line += f" Left {report.skipped} unreadable record(s) alone: run `hitl doctor`."
    return printable(line)
