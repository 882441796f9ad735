"""``python -m sandbox --port 8420 [--host 127.0.0.1] [--persist PATH] [--retry-delays 1,2,4,8]
[--rate-limit N]``.

Starts the Stripe sandbox (see the package docstring) and prints the URL it listens on. The
webhook retry schedule can also come from ``SANDBOX_RETRY_DELAYS``; ``SANDBOX_PUBLIC_URL``
overrides the base of the hosted payment page URLs (default: the host the API was called on).
"""

import argparse
import asyncio
import logging
import os
import sys

from aiohttp import web


def _delays(text):
    try:
        delays = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of seconds: {text!r}") from None
    if any(delay < 0 for delay in delays):
        raise argparse.ArgumentTypeError("delays must not be negative")
    return delays


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--persist",
        metavar="PATH",
        default=None,
        help="keep the data in this file across restarts (default: memory only)",
    )
    parser.add_argument(
        "--retry-delays",
        type=_delays,
        default=_delays(os.environ.get("SANDBOX_RETRY_DELAYS", "1,2,4,8")),
        help="seconds between webhook delivery attempts, e.g. 1,2,4,8",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        metavar="N",
        help="answer Stripe's 429 beyond N /v1 requests per second (default 0: no limit)",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from .server import build_app

    if args.rate_limit < 0:
        parser.error("--rate-limit must not be negative")
    app = build_app(
        persist_path=args.persist, retry_delays=args.retry_delays, rate_limit=args.rate_limit
    )

    async def announce(app):
        print(f"Stripe sandbox listening on http://{args.host}:{args.port}", flush=True)

    app.on_startup.append(announce)
    access_log = None if args.quiet else logging.getLogger("aiohttp.access")
    try:
        web.run_app(
            app,
            host=args.host,
            port=args.port,
            print=None,
            access_log=access_log,
            handle_signals=True,
        )
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
