"""Staff area benchmark: 1,000,000 payments over 200,000 donors on PostgreSQL.

    .venv/bin/python bench/staff.py [--database-url URL] [--runs 15] [--reseed]
                                    [--payments 1000000]

Creates (or reuses) the database ``bench_staff`` (``bench_staff_<N>`` for another
``--payments N``; a database seeded before the money-records schema is seeded again),
seeds it with SQL ``generate_series`` (a few seconds instead of minutes of ORM inserts),
signs in a staff user through the Flask test client and measures, over ``--runs``
requests each: the dashboard, the first contributions page, a filtered page 20,000 rows
deep, a donor page and the accounting page's monthly summary (median and p95 ms, after
one warm-up request whose time is shown as "cold"). The CSV exports (every gift, then
every payment movement) each run in a child process; its peak RSS is shown beside what
the app process held before the export began (mostly imports).
Targets: dashboard < 150 ms, list pages < 30 ms, each export < 8 s in < 120 MB.

The data, scaled by ``--payments`` / 1,000,000: 296,000 gifts (236,000 one-time; 50,000
monthly paying for 15 months; 10,000 annual), USD/EUR/GBP, 1,000,000 charge and refund
rows (4,000 refunds) with Stripe's fees (one charge in 500 with its fee not known yet),
and 500 disputes (each a withdrawal; a fifth won and reinstated, a fifth still open).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ensure_database  # noqa: E402
from donations import create_app  # noqa: E402
from donations.db import db  # noqa: E402
from donations.models import StaffUser  # noqa: E402
from donations.staff.accounting import years_after  # noqa: E402
from donations.staff.queries import encode_cursor  # noqa: E402
from donations.staff.services import hash_password  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_staff"
FULL_SIZE = 1_000_000
TARGETS = {"dashboard": 150, "first page": 30, "deep filtered page": 30, "donor page": 30}

#: Stripe's fee for an amount in each currency, as the sandbox's fee model charges it
FEE = """CASE {currency} WHEN 'USD' THEN round({amount} * 0.029) + 30
                         WHEN 'EUR' THEN round({amount} * 0.015) + 25
                         ELSE round({amount} * 0.015) + 20 END"""


def seed_statements(payments: int) -> list[str]:
    """The seed SQL for about ``payments`` charge and refund rows (1,000,000 at full size)."""
    scale = payments / FULL_SIZE
    donors = max(round(200_000 * scale), 10)
    once = max(round(236_000 * scale), 59)
    monthly = max(round(50_000 * scale), 1)
    annual = max(round(10_000 * scale), 1)
    refunds = once // 59
    disputes = max(round(500 * scale), 5)
    gifts = once + monthly + annual
    annual_base = once + 15 * monthly + 1  # first annual charge's payment id
    refund_base = annual_base + annual - 1  # payment id of refund k is refund_base + k
    dispute_base = refund_base + refunds
    reinstate_base = dispute_base + disputes
    charge_fee = FEE.format(currency="g.currency", amount="g.amount")
    return [
        f"""INSERT INTO donors (id, email, name, locale, created_at)
       SELECT n, 'donor' || n || '@example.org', 'Donor ' || n, 'en',
              now() - make_interval(mins => (n * 7919) % 1576800)
       FROM generate_series(1, {donors}) n""",
        # one-time gifts over three years
        f"""INSERT INTO gifts (id, donor_id, amount, currency, frequency, status, source,
                          source_url,
                          disputed, created_at, updated_at, paid_at, cancel_at_period_end)
       SELECT n, ((n - 1) % {donors}) + 1, 500 + (n * 37) % 20000,
              CASE WHEN n % 20 < 12 THEN 'USD' WHEN n % 20 < 17 THEN 'EUR' ELSE 'GBP' END,
              'once', CASE WHEN n % 59 = 0 THEN 'refunded' ELSE 'paid' END, 'support', '',
              false, now() - make_interval(mins => (n * 1093) % 1576800), now(), now(), false
       FROM generate_series(1, {once}) n""",
        # monthly gifts, started 15 months ago (+ up to 27 days)
        f"""INSERT INTO gifts (id, donor_id, amount, currency, frequency, status, source,
                          source_url,
                          disputed, created_at, updated_at, paid_at, cancel_at_period_end,
                          cancelled_at, stripe_subscription_id)
       SELECT n, ((n::bigint * 7919) % {donors}) + 1, 300 + (n * 13) % 2000,
              CASE WHEN n % 20 < 12 THEN 'USD' WHEN n % 20 < 17 THEN 'EUR' ELSE 'GBP' END,
              'monthly',
              CASE WHEN n % 20 = 0 THEN 'cancelled' WHEN n % 20 = 1 THEN 'past_due'
                   ELSE 'active' END,
              'support', '', false,
              now() - interval '15 months' + make_interval(days => n % 28), now(), now(), false,
              CASE WHEN n % 20 = 0 THEN now() - make_interval(days => n % 60) END,
              'sub_b' || n
       FROM generate_series({once + 1}, {once + monthly}) n""",
        # annual gifts within the last year
        f"""INSERT INTO gifts (id, donor_id, amount, currency, frequency, status, source,
                          source_url,
                          disputed, created_at, updated_at, paid_at, cancel_at_period_end,
                          cancelled_at, stripe_subscription_id)
       SELECT n, ((n::bigint * 104729) % {donors}) + 1, 2500 + (n * 17) % 20000,
              CASE WHEN n % 20 < 12 THEN 'USD' WHEN n % 20 < 17 THEN 'EUR' ELSE 'GBP' END,
              'annual',
              CASE WHEN n % 25 = 0 THEN 'cancelled' ELSE 'active' END,
              'support', '', false, now() - make_interval(days => n % 360), now(), now(), false,
              CASE WHEN n % 25 = 0 THEN now() - make_interval(days => n % 30) END,
              'sub_b' || n
       FROM generate_series({once + monthly + 1}, {gifts}) n""",
        # charges for the one-time gifts
        f"""INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id,
                             stripe_payment_intent_id, reason, disputed, created_at, recorded_at)
       SELECT g.id, g.id, 'charge', g.amount, g.currency, 'pi_b' || g.id, 'pi_b' || g.id, '',
              false, g.created_at, g.created_at
       FROM gifts g WHERE g.id <= {once}""",
        # fifteen monthly charges per monthly gift
        f"""INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id, stripe_invoice_id,
                             reason, disputed, created_at, recorded_at)
       SELECT {once + 1} + m * {monthly} + (g.id - {once + 1}), g.id, 'charge', g.amount,
              g.currency, 'in_b' || g.id || '_' || m, 'in_b' || g.id || '_' || m, '', false,
              g.created_at + make_interval(months => m), g.created_at + make_interval(months => m)
       FROM gifts g CROSS JOIN generate_series(0, 14) m
       WHERE g.frequency = 'monthly'""",
        f"""INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id, stripe_invoice_id,
                             reason, disputed, created_at, recorded_at)
       SELECT {annual_base} + (g.id - {once + monthly + 1}), g.id, 'charge', g.amount,
              g.currency, 'in_b' || g.id, 'in_b' || g.id, '', false, g.created_at, g.created_at
       FROM gifts g WHERE g.frequency = 'annual'""",
        # Stripe's fee, net and receipt number on every charge; one fee in 500 not known yet
        f"""UPDATE payments AS g SET fee = {charge_fee}, net = g.amount - {charge_fee},
              stripe_balance_transaction_id = 'txn_b' || g.id,
              receipt_number = to_char(g.created_at, 'YYYY') || '-' || lpad(g.id::text, 7, '0')
       WHERE g.id % 500 <> 7""",
        # full refunds of every 59th one-time gift (no fee)
        f"""INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id,
                             refunded_payment_id, reason, disputed, fee, net,
                             stripe_balance_transaction_id, created_at, recorded_at)
       SELECT {refund_base} + k, p.gift_id, 'refund', -p.amount, p.currency, 're_b' || k, p.id,
              'requested_by_customer', false, 0, -p.amount, 'txn_re_b' || k,
              p.created_at + interval '3 days', p.created_at + interval '3 days'
       FROM generate_series(1, {refunds}) k JOIN payments p ON p.id = k * 59""",
        # disputes of one-time charges: a fifth won, a fifth still open, the rest lost
        f"""INSERT INTO disputes (id, stripe_id, gift_id, payment_id, state, amount, currency,
                             reason, respond_by, opened_at, closed_at, stripe_state_at)
       SELECT k, 'dp_b' || k, p.gift_id, p.id,
              CASE k % 5 WHEN 0 THEN 'won' WHEN 1 THEN 'open' ELSE 'lost' END,
              p.amount, p.currency, 'fraudulent', p.created_at + interval '21 days',
              p.created_at + interval '5 days',
              CASE WHEN k % 5 <> 1 THEN p.created_at + interval '40 days' END, 0
       FROM generate_series(1, {disputes}) k JOIN payments p ON p.id = k * 397""",
        f"""INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id, stripe_charge_id,
                             reason, disputed, fee, net, stripe_balance_transaction_id,
                             created_at, recorded_at)
       SELECT {dispute_base} + d.id, d.gift_id, 'dispute', -d.amount, d.currency, d.stripe_id,
              NULL, d.reason, false, 1500, -d.amount - 1500, 'txn_' || d.stripe_id,
              d.opened_at, d.opened_at
       FROM disputes d""",
        f"""INSERT INTO payments (id, gift_id, kind, amount, currency, stripe_id, stripe_charge_id,
                             reason, disputed, fee, net, stripe_balance_transaction_id,
                             created_at, recorded_at)
       SELECT {reinstate_base} + d.id, d.gift_id, 'dispute_reversal', d.amount, d.currency,
              d.stripe_id || '\\:reinstated', NULL, d.reason, false, -1500, d.amount + 1500,
              'txn_' || d.stripe_id || '_won', d.closed_at, d.closed_at
       FROM disputes d WHERE d.state = 'won'""",
        """UPDATE payments SET disputed = true WHERE id IN (SELECT payment_id FROM disputes)""",
        """UPDATE gifts SET disputed = true WHERE id IN (SELECT gift_id FROM disputes)""",
        f"""INSERT INTO reminders (email, due_at, due_month, status, token, frequency, amount,
                              currency, source, locale, attempts, next_attempt_at, last_error,
                              created_at)
       SELECT 'donor' || n || '@example.org', now() + make_interval(days => n % 90 - 45),
              to_char(now() + make_interval(days => n % 90 - 45), 'YYYY-MM'),
              (ARRAY['scheduled', 'sent', 'converted', 'cancelled'])[n % 4 + 1],
              'tok' || n, 'once', NULL, 'USD', '', 'en', 0, now(), '', now()
       FROM generate_series(1, {max(round(20_000 * scale), 4)}) n""",
        f"SELECT setval('donors_id_seq', {donors})",
        f"SELECT setval('gifts_id_seq', {gifts})",
        "SELECT setval('payments_id_seq', (SELECT max(id) FROM payments))",
        "SELECT setval('disputes_id_seq', (SELECT max(id) FROM disputes))",
    ]


def database_url(url: str, payments: int) -> str:
    """The benchmark's database: its own for each size, so sizes never mix."""
    return url if payments == FULL_SIZE else f"{url}_{payments}"


def seeded_and_current(url: str) -> bool:
    """Whether a reused database was seeded, with the money-records schema (fees,
    disputes): a run that failed while seeding leaves it empty."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        if not inspector.has_table("payments") or not inspector.has_table("disputes"):
            return False
        columns = {column["name"] for column in inspector.get_columns("payments")}
        return "receipt_number" in columns
    finally:
        engine.dispose()


def seed(app, payments: int) -> None:
    started = time.perf_counter()
    db.create_all()
    with db.engine.begin() as connection:
        for statement in seed_statements(payments):
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


#: what each export streams: the contributions CSV, and the payments CSV over ten years
EXPORTS = {
    "gifts": lambda today: "/staff/gifts.csv",
    "payments": lambda today: (
        "/staff/accounting/payments.csv?date_from="
        f"{years_after(today, -10) + timedelta(days=1)}&date_to={today}"
    ),
}


def export_child(url: str, which: str) -> None:
    """Stream one whole CSV through the test client; print seconds, bytes and peak RSS."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        client = signed_in_client(app)
        client.get("/staff/gifts?currency=GBP")
        baseline = peak_rss_mib()
        started = time.perf_counter()
        response = client.get(EXPORTS[which](datetime.now(UTC).date()), buffered=False)
        assert response.status_code == 200, response.status_code
        size = lines = 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        response.close()
        seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    print(f"{seconds:.2f} {baseline:.1f} {peak:.1f} {lines} {size}")


def run_export(url: str, which: str) -> None:
    """Run one export in a child process and print its figures against the targets."""
    child = subprocess.run(
        [sys.executable, __file__, "--export-child", which, "--database-url", url],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, baseline, peak, lines, size = child.stdout.split()[-5:]
    grown = float(peak) - float(baseline)
    print(
        f"{which} CSV export: {int(lines) - 1:,} rows, {int(size) / 1e6:.1f} MB in "
        f"{float(seconds):.2f} s; peak RSS {float(peak):.1f} MiB = app before export "
        f"{float(baseline):.1f} MiB + export {grown:.1f} MiB  "
        f"{'ok' if float(seconds) < 8 else 'OVER 8 s'}, "
        f"{'ok' if float(peak) < 120 else 'process OVER 120 MiB'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--payments", type=int, default=FULL_SIZE, help="about this many rows")
    parser.add_argument("--export-child", choices=sorted(EXPORTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.database_url, args.export_child)
        return

    url = database_url(args.database_url, args.payments)
    fresh = ensure_database(url, args.reseed)
    if not fresh and not seeded_and_current(url):
        print("the database is empty or predates the money-records schema: seeding it again")
        fresh = ensure_database(url, reseed=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        if fresh:
            seed(app, args.payments)
        count = db.session.scalar(sa.text("SELECT count(*) FROM payments"))
        donors = db.session.scalar(sa.text("SELECT count(*) FROM donors"))
        print(f"{count:,} payments, {donors:,} donors; {args.runs} runs per page")
        client = signed_in_client(app)
        measure(client, "dashboard", "/staff/", args.runs)
        measure(client, "first page", "/staff/gifts", args.runs)
        query, cursor = deep_cursor(min(20000, count // 50))
        measure(client, "deep filtered page", f"/staff/gifts?{query}&cursor={cursor}", args.runs)
        measure(client, "search by email", "/staff/gifts?q=donor4242@example.org", args.runs)
        busy = db.session.scalar(
            sa.text("SELECT donor_id FROM gifts GROUP BY donor_id ORDER BY count(*) DESC LIMIT 1")
        )
        measure(client, "donor page", f"/staff/donors/{busy}", args.runs)
        some_gift = db.session.scalar(
            sa.text("SELECT max(id) FROM gifts WHERE frequency = 'monthly'")
        )
        measure(client, "gift page", f"/staff/gifts/{some_gift}", args.runs)
        measure(client, "monthly summary", "/staff/accounting", args.runs)
        db.session.remove()

    for which in ("gifts", "payments"):
        run_export(url, which)


if __name__ == "__main__":
    main()
