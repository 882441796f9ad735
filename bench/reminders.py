"""Benchmark: how fast do 1 and 2 worker processes send 10,000 due reminders?

    python bench/reminders.py [--database-url postgresql+psycopg://postgres@127.0.0.1/bench_reminders]

Each run empties the reminders table, inserts N due reminders, starts the workers (separate
processes, each with its own app and connection, as ``flask worker`` would run), and counts
what reaches a local SMTP sink (aiosmtpd, in this process). Prints reminders per second
and duplicates (must be 0). The target is 10,000 in under 20 s with 2 workers. The database
must be a scratch one (created if missing): its tables are created if missing and the
reminders emptied. Last, it prints the memory a worker process holds and what the Stripe
SDK, which a worker never loads, would add to it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import socket
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ensure_database  # noqa: E402
from donations import create_app, worker  # noqa: E402
from donations.db import db  # noqa: E402
from donations.models import Reminder  # noqa: E402
from donations.payments import gateway  # noqa: E402

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


class CountingSink:
    """SMTP handler that only counts recipients."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.update(envelope.rcpt_tos)
        return "250 OK"


def app_config(database_url: str, smtp_port: int) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench-secret",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "PUBLIC_URL": "https://news.example.org",
        "RATELIMIT_ENABLED": False,
    }


def prepare(config: dict, count: int) -> None:
    app = create_app(config)
    with app.app_context():
        db.create_all()
        db.session.execute(sa.delete(Reminder))
        rows = [
            {
                "email": f"reader{number}@example.org",
                "due_at": NOW,
                "due_month": NOW.strftime("%Y-%m"),
                "status": "scheduled",
                "token": secrets.token_urlsafe(24),
                "frequency": "monthly",
                "amount": 1000,
                "currency": "USD",
                "next_attempt_at": NOW,
                "created_at": NOW - timedelta(days=30),
            }
            for number in range(count)
        ]
        db.session.execute(sa.insert(Reminder), rows)
        db.session.commit()
        db.engine.dispose()


def run_worker(config: dict, batch_size: int, ready, go) -> None:
    """One worker process: wait for the start signal, then send until nothing is due."""
    app = create_app(config)
    with app.app_context():
        db.session.execute(sa.select(1))  # connect before the clock starts
        ready.set()
        go.wait()
        while worker.run_batch(now=NOW, batch_size=batch_size).claimed:
            pass
        db.engine.dispose()


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure_stripe_sdk(config: dict, results) -> None:
    """In a fresh process: resident memory with the app, then with the Stripe SDK loaded."""
    app = create_app(config)
    with app.app_context():
        before = resident_mib()
        gateway()
        results.put((before, resident_mib()))


def stripe_sdk_memory(config: dict) -> tuple[float, float]:
    """What a worker process holds (MiB), and what the Stripe SDK, which it never loads,
    would add."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=measure_stripe_sdk, args=(config, results))
    process.start()
    before, after = results.get(timeout=60)
    process.join()
    return before, after - before


def run(config: dict, workers: int, batch_size: int, sink: CountingSink) -> dict:
    context = multiprocessing.get_context("spawn")
    readies = [context.Event() for _ in range(workers)]
    go = context.Event()
    processes = [
        context.Process(target=run_worker, args=(config, batch_size, ready, go))
        for ready in readies
    ]
    for process in processes:
        process.start()
    for ready in readies:
        ready.wait(60)
    started = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    with sink.lock:
        received = sum(sink.received.values())
        unique = len(sink.received)
    return {"elapsed": elapsed, "received": received, "unique": unique}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_reminders"
        ),
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("give --database-url postgresql+psycopg://... (a scratch database)")
    ensure_database(args.database_url)

    sink = CountingSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    config = app_config(args.database_url, port)
    print(f"{args.count} due reminders, batch size {args.batch_size}, SMTP sink on port {port}")
    try:
        for workers in args.workers:
            prepare(config, args.count)
            with sink.lock:
                sink.received.clear()
            result = run(config, workers, args.batch_size, sink)
            app = create_app(config)
            with app.app_context():
                statuses = dict(
                    db.session.execute(
                        sa.select(Reminder.status, sa.func.count()).group_by(Reminder.status)
                    ).all()
                )
                db.engine.dispose()
            rate = result["received"] / result["elapsed"]
            duplicates = result["received"] - result["unique"]
            print(
                f"{workers} worker{'s' if workers > 1 else ' '}: {result['received']} sent in "
                f"{result['elapsed']:.2f} s = {rate:,.0f} reminders/s, duplicates {duplicates}, "
                f"missing {args.count - result['unique']}, rows {statuses}"
            )
    finally:
        controller.stop()
    held, sdk = stripe_sdk_memory(config)
    print(
        f"a worker process holds {held:.0f} MiB; the Stripe SDK, which it never loads, "
        f"would add {sdk:.0f} MiB"
    )


if __name__ == "__main__":
    main()
