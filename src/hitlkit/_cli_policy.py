"""`hitl delegate`, `grants`, `evidence` and `verify`: decision policies from the terminal.

`delegate` and `grants` go through a `Client` (the store, or an app with `--endpoint`);
`evidence export` signs with `HITL_EVIDENCE_KEY`; `verify` reads nothing but its file
and the public key it is given, so an auditor runs it offline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from hitlkit import _config
from hitlkit._cli_base import (
    EndpointOption,
    IdArgument,
    JsonOption,
    StoreOption,
    TokenOption,
    _client,
    _fail,
    _find,
    _reporting_errors,
    app,
)
from hitlkit._cli_help import HelpGroup, examples
from hitlkit._cli_render import format_time, format_value, printable, show
from hitlkit._reading import GrantInfo
from hitlkit._records import utcnow

__all__ = [
    "delegate",
    "evidence_app",
    "evidence_export",
    "evidence_keygen",
    "grants_app",
    "grants_list",
    "grants_revoke",
    "verify",
]

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="NAME",
        envvar="HITL_USER",
        help="Who acts, as recorded (on the store; an app takes the token's identity).",
        show_default="login name",
    ),
]


@app.command(
    epilog=examples(
        'hitl delegate 5f0c1a2b3c dan --reason "on leave this week"',
        'hitl delegate 5f0c1a2b3c dan --reason "on call" --endpoint URL --token $HITL_TOKEN',
    )
)
def delegate(
    ctx: typer.Context,
    event_id: IdArgument,
    to: Annotated[
        str,
        typer.Argument(
            metavar="TO", help="The identity to hand your place to.", show_default=False
        ),
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason", metavar="TEXT", help="Why; recorded and shown.", show_default=False
        ),
    ],
    by: ActorOption = None,
    store: StoreOption = _config.DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """Hand your place on an event to another identity, where its policy allows it."""
    with _reporting_errors():
        client = _client(ctx, store, endpoint, user=by, token=token)
        event = _find(client, event_id)
        made = client.delegate(event.request_id, to, reason)
        typer.echo(
            printable(
                f"Handed {made.by}'s place on {event.name} ({event.request_id}) to {made.to}: "
                f"{made.reason}"
            )
        )


grants_app = typer.Typer(
    cls=HelpGroup,
    name="grants",
    help="List and revoke standing approvals (decisions that stand for identical requests).",
    no_args_is_help=True,
)
app.add_typer(grants_app)


@grants_app.command("ls", epilog=examples("hitl grants ls", "hitl grants ls --all --json"))
def grants_list(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Also those expired or revoked.")] = False,
    as_json: JsonOption = False,
    store: StoreOption = _config.DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """List standing approvals, newest first: active ones, or all with --all."""
    with _reporting_errors():
        client = _client(ctx, store, endpoint, token=token)
        found = client.grants(active_only=not show_all)
        if as_json:
            typer.echo(json.dumps([g.model_dump(mode="json") for g in found], indent=2))
        elif not found:
            typer.echo("No standing approvals." if show_all else "No active standing approvals.")
        else:
            show(grant_table(found))


def grant_table(grants: list[GrantInfo]) -> Table:
    """One row per standing approval: id, event name, scope, value, who, until, status."""
    now = utcnow()
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 2, 0, 0))
    for header in ("ID", "NAME", "SCOPE", "VALUE", "BY", "UNTIL", "STATUS", "FROM EVENT"):
        table.add_column(header, no_wrap=True)
    for g in grants:
        if g.revoked is not None:
            status = f"revoked by {g.revoked.by}"
        else:
            status = "active" if g.active else "expired"
        cells = (
            g.id,
            g.name,
            g.scope,
            format_value(g.value),
            g.by,
            format_time(g.expires_at, now),
            status,
            g.source,
        )
        table.add_row(*(Text(printable(cell)) for cell in cells))
    return table


@grants_app.command(
    "revoke",
    epilog=examples(
        'hitl grants revoke 3f2a9c0d1e2b4a5c --reason "the migration changed"',
        "hitl grants revoke 3f2a9c0d1e2b4a5c --endpoint URL --token $HITL_TOKEN",
    ),
)
def grants_revoke(
    ctx: typer.Context,
    grant_id: Annotated[
        str,
        typer.Argument(
            metavar="GRANT_ID", help="The grant's id (hitl grants ls).", show_default=False
        ),
    ],
    reason: Annotated[
        str | None,
        typer.Option("--reason", metavar="TEXT", help="Why; recorded.", show_default=False),
    ] = None,
    by: ActorOption = None,
    store: StoreOption = _config.DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """Call a standing approval off; only grantors (HITL_GRANTORS) may."""
    with _reporting_errors():
        client = _client(ctx, store, endpoint, user=by, token=token)
        revoked = client.revoke_grant(grant_id, reason=reason)
        typer.echo(
            printable(
                f"Revoked standing approval {revoked.id} (by {revoked.by} at "
                f"{revoked.at.isoformat(timespec='seconds')}); later requests are asked again."
            )
        )


evidence_app = typer.Typer(
    cls=HelpGroup,
    name="evidence",
    help="Make a signing key, and export an event's signed evidence (hitl verify checks it).",
    no_args_is_help=True,
)
app.add_typer(evidence_app)


@evidence_app.command(
    "keygen",
    epilog=examples("hitl evidence keygen", "hitl evidence keygen --out /etc/hitl/evidence.pem"),
)
def evidence_keygen(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="PATH",
            help="Where to write the private key (mode 0600); the public key goes to PATH.pub.",
        ),
    ] = Path("hitl-evidence.pem"),
) -> None:
    """Make an Ed25519 key pair for signing evidence (HITL_EVIDENCE_KEY names the private key)."""
    from hitlkit._evidence import generate_key

    with _reporting_errors():
        pub, key_id = generate_key(out)
        typer.echo(printable(f"Wrote the private key to {out} (mode 0600, keep it secret)."))
        typer.echo(printable(f"Wrote the public key to {pub}; its key id is {key_id}."))
        typer.echo(printable(f"Sign with: HITL_EVIDENCE_KEY={out}"))
        typer.echo(printable(f"Check with: hitl verify FILE --public-key {pub}"))


@evidence_app.command(
    "export",
    epilog=examples(
        "hitl evidence export 5f0c1a2b3c --out deploy-evidence.json",
        "hitl evidence export 5f0c1a2b3c --endpoint https://hitl.example.com --token $HITL_TOKEN",
    ),
)
def evidence_export(
    ctx: typer.Context,
    event_id: IdArgument,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", help="Write here instead of stdout.", show_default=False
        ),
    ] = None,
    store: StoreOption = _config.DEFAULT_STORE,
    endpoint: EndpointOption = None,
    token: TokenOption = None,
) -> None:
    """Export an event's evidence as JSON, signed with HITL_EVIDENCE_KEY.

    With --endpoint, the app signs with its own key. The evidence holds the
    event, the hash of what was shown, its outcome, every vote, delegation and
    step, the grant used and earlier versions.
    """
    with _reporting_errors():
        client = _client(ctx, store, endpoint, token=token)
        event = _find(client, event_id)
        signed = client.evidence(event.request_id)
        text = json.dumps(signed, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
            typer.echo(printable(f"Wrote the evidence of {event.request_id} to {out}."), err=True)
        if "signature" not in signed:
            typer.echo(
                printable(f"note: {signed.get('note') or 'the evidence is unsigned'}"), err=True
            )


@app.command(
    epilog=examples("hitl verify deploy-evidence.json --public-key hitl-evidence.pem.pub"),
)
def verify(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="Evidence exported by hitl evidence export.", show_default=False
        ),
    ],
    public_key: Annotated[
        Path,
        typer.Option(
            "--public-key",
            metavar="PUB",
            help="The public key you trust (PATH.pub of hitl evidence keygen).",
            show_default=False,
        ),
    ],
) -> None:
    """Check signed evidence offline against the public key you trust.

    Exit 0 and say what it records, or exit 1 naming what is wrong: a bad
    signature, an altered document, another key, a file that is not (signed)
    evidence.
    """
    from hitlkit._evidence import EvidenceError, load_public_key
    from hitlkit._evidence import verify as check

    with _reporting_errors():
        trusted = load_public_key(public_key)
        data = file.read_bytes()
        try:
            verified = check(data, trusted)
        except EvidenceError as exc:
            _fail(f"{file}: {exc}")
        typer.echo(printable(verified.line()))
