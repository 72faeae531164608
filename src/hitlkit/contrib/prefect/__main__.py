"""`python -m hitlkit.contrib.prefect watch`: resume suspended flow runs once answered.

```console
$ PREFECT_API_URL=http://127.0.0.1:4200/api HITL_STORE=s3://bucket/hitl \\
    python -m hitlkit.contrib.prefect watch --interval 5
resumed flow run dashing-crow (5f0c…): event ship answered
```

`--once` makes one pass and exits (for cron or a Prefect schedule). Errors are one
`error: ...` line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import sys

from hitlkit._exceptions import HitlError
from hitlkit.contrib.prefect._resume import Resumed, resume_answered, watch

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and watch (or pass once); return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m hitlkit.contrib.prefect",
        description="Resume Prefect flow runs suspended on hitlkit events once they resolve.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    watching = commands.add_parser("watch", help="resume flow runs as their events resolve")
    watching.add_argument("--store", help="hitlkit store URL or folder (default: HITL_STORE)")
    watching.add_argument(
        "--interval", type=float, default=5.0, help="seconds between passes (default 5)"
    )
    watching.add_argument("--once", action="store_true", help="make one pass, then exit")
    args = parser.parse_args(argv)
    try:
        if args.once:
            for resumed in resume_answered(args.store):
                _say(resumed)
        else:
            print("watching for answered events of suspended flow runs (Ctrl-C stops)", flush=True)
            watch(args.store, interval=args.interval, on_resumed=_say)
    except KeyboardInterrupt:
        return 0
    except (HitlError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _say(resumed: Resumed) -> None:
    print(
        f"resumed flow run {resumed.flow_run_name} ({resumed.flow_run_id}): "
        f"event {resumed.event_name} {resumed.event_status}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
