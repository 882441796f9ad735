"""Annual statements benchmark: ``flask statements send`` for 50,000 donors, then every
statement drawn and emailed by 2 worker processes.

    .venv/bin/python bench/statements.py [--donors 50000] [--workers 2] [--database-url URL]

Makes a scratch PostgreSQL database (``bench_statements``, dropped at the end) and seeds it
with SQL ``generate_series``: one gift per donor, 60% given once, 30% monthly (twelve
charges in the year), 10% annual; USD, EUR and GBP; one charge in 50 half refunded; one
donor in 200 named in Cyrillic (their statements use the wide font). Then:

1. ``flask statements send --year Y`` (Y = last year) as an operator runs it, twice: the
   second run must queue nothing;
2. the workers: ``--workers`` processes run the worker's own batch loop (batch size 50,
   as ``flask worker``), each drawing the PDFs of the emails it claimed and sending them to
   an SMTP sink in this process, which counts the messages and their PDF attachments;
3. figures: wall time, statements per second, time per statement per worker process,
   and the projection for 50,000 donors (target: under 5 minutes with 2 workers). The
   machine's cores are shared by the workers, PostgreSQL and the sink, as on one server,
   so other work on the machine shows in the wall time; the workers' own CPU time per
   statement is printed too, a steadier figure.

Before the workers start, one process draws the first 200 statements alone, to show what
a statement costs (reading it, drawing the PDF) without email and contention.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import scratch_database  # noqa: E402
from donations import create_app, worker  # noqa: E402
from donations.db import db, utcnow  # noqa: E402
from donations.models import Donor, OutboxEmail  # noqa: E402
from donations.statements import pdf, services  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_statements"
TARGET_SECONDS = 300
FULL_SIZE = 50_000


def seed_statements(donors: int, year: int) -> list[str]:
    """SQL that fills the scratch database for ``year``."""
    start = f"make_timestamptz({year}, 1, 1, 9, 0, 0, 'UTC')"
    return [
        f"""INSERT INTO donors (id, email, name, locale, created_at)
            SELECT n, 'donor' || n || '@example.org',
                   CASE WHEN n % 200 = 0 THEN 'Зоя Иванова ' || n ELSE 'Donor ' || n END,
                   'en', {start} - interval '1 year'
            FROM generate_series(1, {donors}) n""",
        f"""INSERT INTO gifts (id, donor_id, amount, currency, frequency, status, source,
                               source_url, disputed, created_at, updated_at, paid_at,
                               cancel_at_period_end)
            SELECT n, n, 500 + (n * 37) % 20000,
                   CASE WHEN n % 20 < 12 THEN 'USD' WHEN n % 20 < 17 THEN 'EUR' ELSE 'GBP' END,
                   CASE WHEN n % 10 < 6 THEN 'once' WHEN n % 10 < 9 THEN 'monthly'
                        ELSE 'annual' END,
                   CASE WHEN n % 10 < 6 THEN 'paid' ELSE 'active' END,
                   'support', '', false, g.at, g.at, g.at, false
            FROM generate_series(1, {donors}) n,
                 LATERAL (SELECT {start} + make_interval(days => n % 28) AS at) g""",
        """INSERT INTO payments (gift_id, kind, amount, currency, stripe_id, reason, disputed,
                                  recovered, created_at, recorded_at)
            SELECT g.id, 'charge', g.amount, g.currency, 'ch_b' || g.id || '_' || m, '', false,
                   false, g.created_at + make_interval(months => m),
                   g.created_at + make_interval(months => m)
            FROM gifts g
            CROSS JOIN LATERAL generate_series(
                0, CASE WHEN g.frequency = 'monthly' THEN 11 ELSE 0 END) m""",
        f"""UPDATE payments SET receipt_number = '{year}-' || lpad(id::text, 6, '0')""",
        """INSERT INTO payments (gift_id, kind, amount, currency, stripe_id,
                                 refunded_payment_id, reason, disputed, recovered, created_at,
                                 recorded_at)
           SELECT p.gift_id, 'refund', -(p.amount / 2), p.currency, 're_b' || p.id, p.id,
                  'requested_by_customer', false, false, p.created_at + interval '3 days',
                  p.created_at + interval '3 days'
           FROM payments p WHERE p.id % 50 = 0""",
        "SELECT setval('donors_id_seq', (SELECT max(id) FROM donors))",
        "SELECT setval('gifts_id_seq', (SELECT max(id) FROM gifts))",
        "SELECT setval('payments_id_seq', (SELECT max(id) FROM payments))",
        "ANALYZE",
    ]


class PdfCountingSink:
    """SMTP handler counting messages, and those carrying a PDF."""

    def __init__(self) -> None:
        self.messages = 0
        self.with_pdf = 0
        self.bytes = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        with self.lock:
            self.messages += 1
            self.bytes += len(content)
            if b"Content-Type: application/pdf" in content:
                self.with_pdf += 1
        return "250 OK"


def app_config(database_url: str, smtp_port: int = 1) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench-secret",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "PUBLIC_URL": "https://news.example.org",
        "RATELIMIT_ENABLED": False,
        "ORGANIZATION_LEGAL_NAME": "Daily Example Media Foundation",
        "ORGANIZATION_ADDRESS": "12 Press Row\nSpringfield, IL 62701",
        "ORGANIZATION_TAX_ID": "EIN 12-3456789",
    }


def prepare(config: dict, donors: int, year: int) -> dict:
    app = create_app(config)
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        for statement in seed_statements(donors, year):
            db.session.execute(sa.text(statement))
        db.session.commit()
        payments = db.session.scalar(sa.text("SELECT count(*) FROM payments"))
        figures = {"seconds": time.perf_counter() - started, "payments": payments}
        db.engine.dispose()
    return figures


def send_command(database_url: str, year: int) -> tuple[float, str]:
    """Run ``flask statements send`` as an operator would; its time and last line."""
    env = {**os.environ, "DATABASE_URL": database_url, "PUBLIC_URL": "https://news.example.org"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "statements", "send", "--year", str(year)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, result.stdout.strip().splitlines()[-1]


def render_alone(config: dict, year: int, count: int) -> dict:
    """Draw the first ``count`` statements in this process: reading vs. drawing."""
    app = create_app(config)
    with app.app_context():
        donors = db.session.scalars(sa.select(Donor).order_by(Donor.id).limit(count)).all()
        organisation = services.organisation()
        reading = drawing = 0.0
        size = 0
        for donor in donors:
            started = time.perf_counter()
            statement = services.build_statement(donor, year)
            read = time.perf_counter()
            size += len(pdf.render(statement, organisation))
            reading += read - started
            drawing += time.perf_counter() - read
        db.engine.dispose()
    return {
        "read_ms": reading / len(donors) * 1000,
        "draw_ms": drawing / len(donors) * 1000,
        "kib": size / len(donors) / 1024,
    }


def run_worker(config: dict, ready, go) -> None:
    """One worker process: wait for the start signal, then send until nothing is due."""
    app = create_app(config)
    with app.app_context():
        db.session.execute(sa.select(1))  # connect before the clock starts
        ready.set()
        go.wait()
        while worker.run_batch(batch_size=50).claimed:
            pass
        db.engine.dispose()


def run_workers(config: dict, workers: int) -> tuple[float, float]:
    """Wall time from the start signal until every worker is done, and the CPU time the
    workers used (less sensitive than wall time to other work on the machine)."""
    context = multiprocessing.get_context("spawn")
    readies = [context.Event() for _ in range(workers)]
    go = context.Event()
    processes = [context.Process(target=run_worker, args=(config, ready, go)) for ready in readies]
    for process in processes:
        process.start()
    for ready in readies:
        ready.wait(60)
    started, before = time.perf_counter(), os.times()
    go.set()
    for process in processes:
        process.join()
    after = os.times()
    cpu = after.children_user + after.children_system
    cpu -= before.children_user + before.children_system
    return time.perf_counter() - started, cpu


def outbox_statuses(config: dict) -> dict[str, int]:
    app = create_app(config)
    with app.app_context():
        rows = db.session.execute(
            sa.select(OutboxEmail.status, sa.func.count()).group_by(OutboxEmail.status)
        ).all()
        db.engine.dispose()
    return {str(status): count for status, count in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--donors", type=int, default=FULL_SIZE)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("give --database-url postgresql+psycopg://... (a scratch database)")
    year = utcnow().year - 1

    sink = PdfCountingSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    config = app_config(args.database_url, port)
    with scratch_database(args.database_url):
        seeded = prepare(config, args.donors, year)
        print(
            f"{args.donors:,} donors, {seeded['payments']:,} payments in {year} "
            f"(seeded in {seeded['seconds']:.1f} s)"
        )
        first, first_line = send_command(args.database_url, year)
        again, again_line = send_command(args.database_url, year)
        print(f"flask statements send: {first:.1f} s: {first_line}")
        print(f"and again: {again:.1f} s: {again_line}")

        alone = render_alone(config, year, min(200, args.donors))
        print(
            f"one process, no email: reading {alone['read_ms']:.1f} ms + drawing "
            f"{alone['draw_ms']:.1f} ms per statement, {alone['kib']:.0f} KiB per PDF"
        )

        controller.start()
        try:
            elapsed, cpu = run_workers(config, args.workers)
        finally:
            controller.stop()
        statuses = outbox_statuses(config)

    sent = sink.with_pdf
    per_process_ms = elapsed * args.workers / max(sent, 1) * 1000
    projected = elapsed / max(sent, 1) * FULL_SIZE
    verdict = "under" if projected < TARGET_SECONDS else "over"
    print(
        f"{args.workers} workers: {sink.messages:,} emails ({sent:,} with a PDF, "
        f"{sink.bytes / max(sink.messages, 1) / 1024:.0f} KiB each) in {elapsed:.1f} s = "
        f"{sent / elapsed:,.0f} statements/s, {per_process_ms:.1f} ms per statement per worker; "
        f"outbox {statuses}"
    )
    print(
        f"projection for {FULL_SIZE:,} donors: {projected:.0f} s ({projected / 60:.1f} min), "
        f"{verdict} the {TARGET_SECONDS // 60}-minute target"
    )
    cpu_ms = cpu / max(sent, 1) * 1000
    cpu_projected = cpu_ms * FULL_SIZE / 1000 / args.workers
    print(
        f"the workers' CPU: {cpu_ms:.1f} ms per statement, so with a core free for each "
        f"worker {FULL_SIZE:,} statements take {cpu_projected:.0f} s "
        f"({cpu_projected / 60:.1f} min)"
    )


if __name__ == "__main__":
    main()
