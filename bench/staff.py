"""Staff area benchmark: 1,000,000 payments over 200,000 donors on PostgreSQL.

    .venv/bin/python bench/staff.py [--database-url URL] [--runs 15] [--reseed]

Creates (or reuses) the database ``bench_staff``, seeds it with SQL ``generate_series``
(a few seconds instead of minutes of ORM inserts), signs in a staff user through the
Flask test client and measures, over ``--runs`` requests each: the dashboard, the first
contributions page, a filtered page 20,000 rows deep, and a donor page (median and p95
ms, after one warm-up request whose time is shown as "cold"). The CSV export of every
gift runs in a child process; its peak RSS is shown beside what the app process held
before the export began (mostly imports).
Targets: dashboard < 150 ms, list pages < 30 ms, export < 8 s in < 120 MB.

The data: 296,000 gifts (236,000 one-time; 50,000 monthly paying for 15 months;
10,000 annual), USD/EUR/GBP, 1,000,000 payment rows including 4,000 refunds.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ensure_database  # noqa: E402
from donations import create_app  # noqa: E402
from donations.db import db  # noqa: E402
from donations.models import StaffUser  # noqa: E402
from donations.staff.queries import encode_cursor  # noqa: E402
from donations.staff.services import hash_password  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_staff"
TARGETS = {"dashboard": 150, "first page": 30, "deep filtered page": 30, "donor page": 30}

#: indexes asked of models/core.py (see /tmp/staff_index_requests.txt); created here
SEED = [
    """INSERT INTO donors (id, email, name, locale, created_at)
       SELECT n, 'donor' || n || '@example.org', 'Donor ' || n, 'en',
              now() - make_interval(mins => (n * 7919) % 1576800)
       FROM generate_series(1, 200000) n""",
    # one-time gifts 1..236000 over three years
    """INSERT INTO gifts (id, donor_id, amount, currency, frequency, status, source, source_url,
                          disputed, created_at, updated_at, paid_at, cancel_at_period_end)
       SELECT n, ((n - 1) % 200000) + 1, 500 + (n * 37) % 20000,
              CASE WHEN n % 20 < 12 THEN 'USD' WHEN n % 20 < 17 THEN 'EUR' ELSE 'GBP' END,
              'once', CASE WHEN n % 59 = 0 THEN 'refunded' ELSE 'paid' END, 'support', '',
              false, now() - make_interval(mins => (n * 1093) % 1576800), now(), now(), false
       FROM generate_series(1, 236000) n""",
    # monthly gifts 236001..286000, started 15 months ago (+ up to 27 days)
    """INSERT INTO gifts (id, donor_id, amount, currency, frequency, status, source, source_url,
                          disputed, created_at, updated_at, paid_at, cancel_at_period_end,
                          cancelled_at, stripe_subscription_id)
       SELECT n, ((n::bigint * 7919) % 200000) + 1, 300 + (n * 13) % 2000,
              CASE WHEN n % 20 < 12 THEN 'USD' WHEN n % 20 < 17 THEN 'EUR' ELSE 'GBP' END,
              'monthly',
              CASE WHEN n % 20 = 0 THEN 'cancelled' WHEN n % 20 = 1 THEN 'past_due'
                   ELSE 'active' END,
              'support', '', false,
              now() - interval '15 months' + make_interval(days => n % 28), now(), now(), false,
              CASE WHEN n % 20 = 0 THEN now() - make_interval(days => n % 60) END,
              'sub_b' || n
       FROM generate_series(236001, 286000) n""",
    # annual gifts 286001..296000 within the last year
    """INSERT INTO gifts (id, donor_id, amount, currency, frequency, status, source, source_url,
                          disputed, created_at, updated_at, paid_at, cancel_at_period_end,
                          cancelled_at, stripe_subscription_id)
       SELECT n, ((n::bigint * 104729) % 200000) + 1, 2500 + (n * 17) % 20000,
              CASE WHEN n % 20 < 12 THEN 'USD' WHEN n % 20 < 17 THEN 'EUR' ELSE 'GBP' END,
              'annual',
              CASE WHEN n % 25 = 0 THEN 'cancelled' ELSE 'active' END,
              'support', '', false, now() - make_interval(days => n % 360), now(), now(), false,
              CASE WHEN n % 25 = 0 THEN now() - make_interval(days => n % 30) END,
              'sub_b' || n
       FROM generate_series(286001, 296000) n""",
    # charges for the one-time gifts
    """INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id,
                             stripe_payment_intent_id, reason, disputed, created_at, recorded_at)
       SELECT g.id, g.id, 'charge', g.amount, g.currency, 'pi_b' || g.id, 'pi_b' || g.id, '',
              false, g.created_at, g.created_at
       FROM gifts g WHERE g.id <= 236000""",
    # fifteen monthly charges per monthly gift
    """INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id, stripe_invoice_id,
                             reason, disputed, created_at, recorded_at)
       SELECT 236001 + m * 50000 + (g.id - 236001), g.id, 'charge', g.amount, g.currency,
              'in_b' || g.id || '_' || m, 'in_b' || g.id || '_' || m, '', false,
              g.created_at + make_interval(months => m), g.created_at + make_interval(months => m)
       FROM gifts g CROSS JOIN generate_series(0, 14) m
       WHERE g.frequency = 'monthly'""",
    """INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id, stripe_invoice_id,
                             reason, disputed, created_at, recorded_at)
       SELECT 986001 + (g.id - 286001), g.id, 'charge', g.amount, g.currency, 'in_b' || g.id,
              'in_b' || g.id, '', false, g.created_at, g.created_at
       FROM gifts g WHERE g.frequency = 'annual'""",
    # 4,000 full refunds of one-time gifts
    """INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id, refunded_payment_id,
                             reason, disputed, created_at, recorded_at)
       SELECT 996000 + k, p.gift_id, 'refund', -p.amount, p.currency, 're_b' || k, p.id,
              'requested_by_customer', false, p.created_at + interval '3 days',
              p.created_at + interval '3 days'
       FROM generate_series(1, 4000) k JOIN payments p ON p.id = k * 59""",
    """INSERT INTO reminders (email, due_at, due_month, status, token, frequency, amount,
                              currency, source, locale, attempts, next_attempt_at, last_error,
                              created_at)
       SELECT 'donor' || n || '@example.org', now() + make_interval(days => n % 90 - 45),
              to_char(now() + make_interval(days => n % 90 - 45), 'YYYY-MM'),
              (ARRAY['scheduled', 'sent', 'converted', 'cancelled'])[n % 4 + 1],
              'tok' || n, 'once', NULL, 'USD', '', 'en', 0, now(), '', now()
       FROM generate_series(1, 20000) n""",
    "SELECT setval('donors_id_seq', 200000)",
    "SELECT setval('gifts_id_seq', 296000)",
    "SELECT setval('payments_id_seq', 1000000)",
]


def seed(app) -> None:
    started = time.perf_counter()
    db.create_all()
    with db.engine.begin() as connection:
        for statement in SEED:
            connection.execute(sa.text(statement))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    print(f"seeded in {time.perf_counter() - started:.1f} s")


def signed_in_client(app):
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "bench@example.org"))
    if user is None:
        user = StaffUser(email="bench@example.org", role="admin", password_hash=hash_password("x"))
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    return client


def measure(client, label: str, url: str, runs: int) -> tuple[float, float, float]:
    started = time.perf_counter()
    response = client.get(url)
    cold = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    median = statistics.median(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    target = TARGETS.get(label)
    verdict = "" if target is None else ("ok" if p95 < target else f"OVER {target} ms")
    print(f"{label:<22} cold {cold:7.1f}  median {median:7.1f}  p95 {p95:7.1f} ms  {verdict}")
    return cold, median, p95


def deep_cursor(offset: int) -> tuple[str, str]:
    """The filter and a cursor ``offset`` rows into USD monthly gifts, newest first."""
    row = db.session.execute(
        sa.text(
            "SELECT created_at, id FROM gifts WHERE currency = 'USD' AND frequency = 'monthly' "
            "ORDER BY created_at DESC, id DESC OFFSET :offset LIMIT 1"
        ),
        {"offset": offset},
    ).one()
    return "currency=USD&frequency=monthly", encode_cursor(row[0], row[1])


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM), in MiB.

    Not ``getrusage``'s ``ru_maxrss``: Linux carries that over from the forking parent
    into an exec'd child, so the child would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_child(url: str) -> None:
    """Stream the whole CSV through the test client; print seconds, bytes and peak RSS."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        client = signed_in_client(app)
        client.get("/staff/gifts?currency=GBP")
        baseline = peak_rss_mib()
        started = time.perf_counter()
        response = client.get("/staff/gifts.csv", buffered=False)
        size = lines = 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        response.close()
        seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    print(f"{seconds:.2f} {baseline:.1f} {peak:.1f} {lines} {size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.database_url)
        return

    fresh = ensure_database(args.database_url, args.reseed)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        if fresh:
            seed(app)
        count = db.session.scalar(sa.text("SELECT count(*) FROM payments"))
        donors = db.session.scalar(sa.text("SELECT count(*) FROM donors"))
        print(f"{count:,} payments, {donors:,} donors; {args.runs} runs per page")
        client = signed_in_client(app)
        measure(client, "dashboard", "/staff/", args.runs)
        measure(client, "first page", "/staff/gifts", args.runs)
        query, cursor = deep_cursor(20000)
        measure(client, "deep filtered page", f"/staff/gifts?{query}&cursor={cursor}", args.runs)
        measure(client, "search by email", "/staff/gifts?q=donor4242@example.org", args.runs)
        busy = db.session.scalar(
            sa.text("SELECT donor_id FROM gifts GROUP BY donor_id ORDER BY count(*) DESC LIMIT 1")
        )
        measure(client, "donor page", f"/staff/donors/{busy}", args.runs)
        measure(client, "gift page", "/staff/gifts/250000", args.runs)
        db.session.remove()

    child = subprocess.run(
        [sys.executable, __file__, "--export-child", "--database-url", args.database_url],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, baseline, peak, lines, size = child.stdout.split()[-5:]
    grown = float(peak) - float(baseline)
    print(
        f"CSV export: {int(lines) - 1:,} rows, {int(size) / 1e6:.1f} MB in {float(seconds):.2f} s; "
        f"peak RSS {float(peak):.1f} MiB = app before export {float(baseline):.1f} MiB "
        f"+ export {grown:.1f} MiB  {'ok' if float(seconds) < 8 else 'OVER 8 s'}, "
        f"{'ok' if float(peak) < 120 else 'process OVER 120 MiB'}"
    )


if __name__ == "__main__":
    main()
