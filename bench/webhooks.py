"""Benchmark: Stripe webhook events through the ledger on PostgreSQL, live and from a backlog.

    .venv/bin/python bench/webhooks.py [--database-url URL] [--rounds 3] [--seconds 8]
        [--connections 4] [--backlog 20000] [--only live|backlog]

Needs PostgreSQL (default: user postgres at 127.0.0.1:5432, trust auth) and wrk
(``apt-get install -y wrk``). The database named in ``--database-url`` (default
``bench_webhooks``) is created for the run and dropped at the end; one that exists is
refused, as it may be another run's.

Live: the real ``POST /webhooks/stripe`` (verify, inbox row, ledger, outbox receipt, one
transaction) and a bare endpoint defined below (verify the signature, insert the event id,
nothing else), each served by gunicorn with 2 sync workers and loaded by wrk with
pre-signed ``checkout.session.completed`` events, each for its own pending one-time gift:
every event unique, then half of the deliveries duplicates of recent events. Full and bare
take turns for ``--rounds`` rounds, so the load other processes put on the machine falls
on both alike. Prints events/s and p50/p99 latency per run, and the full/bare ratio per
round with its median. Target: full at 30% or more of bare. Then what opening the session
costs a webhook, with Flask's stock interface and with the app's, beside a webhook's time.

Backlog: ``--backlog`` events stored unapplied in the inbox, as after an outage in which
every handler failed: for 80% of them, ``checkout.session.completed`` of a pending one-time
gift (each its own donor); for 10%, the ``payment_intent.succeeded`` that precedes one of
those; for 10%, its ``charge.succeeded`` (acknowledged, not acted on). ``flask stripe
replay --failed`` runs as a subprocess until it exits; prints total seconds and events/s,
the CPU time per event of the command and of its PostgreSQL backend (which, unlike the
wall-clock time, hardly depends on what else the machine is doing), then checks the
outcome: every event applied, every gift paid, one payment and one receipt per gift.
Target: under 3 minutes.

To measure another copy of the code (say ``git archive HEAD`` unpacked in /tmp/before),
run that copy's script from its directory with ``PYTHONPATH=/tmp/before``; the first
line printed names the ``donations`` package imported.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections import Counter, defaultdict
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask.sessions import SecureCookieSessionInterface

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import donations  # noqa: E402
from bench.harness import scratch_database, serve, wrk_figures  # noqa: E402
from donations import create_app  # noqa: E402
from donations.db import db  # noqa: E402
from donations.payments.stripe_gateway import StripeGateway  # noqa: E402
from donations.payments.types import InvalidWebhook  # noqa: E402
from sandbox.spec import SPEC  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_webhooks"
SECRET = "whsec_bench_secret"
#: no Stripe call is expected; one would fail at once instead of reaching the network
UNREACHABLE_STRIPE = "http://127.0.0.1:9"
LIVE_TARGET = 0.30
BACKLOG_TARGET_SECONDS = 180
#: more events than each endpoint can take in a run, so none is sent twice by accident
CAPACITY_PER_SECOND = {"full": 1200, "bare": 3000}
WARMUP_EVENTS = 200
MODES = ("unique", "50% duplicates")
#: how the replay's PostgreSQL connection is found, to read its backend's CPU time
REPLAY_APP_NAME = "bench-webhooks-replay"
#: what an outage leaves on every stored event
OUTAGE_ERROR = "OperationalError: connection to server at 10.0.0.5 failed: Connection refused"

LUA = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  payloads, index, wrapped = {}, 0, 0
  local n, line_no = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if line_no % n == id then
      local tab = line:find("\t")
      payloads[#payloads + 1] = {line:sub(1, tab - 1), line:sub(tab + 1)}
    end
    line_no = line_no + 1
  end
end
function request()
  index = index + 1
  if index > #payloads then index, wrapped = 1, wrapped + 1 end
  local p = payloads[index]
  return wrk.format("POST", "/webhooks/stripe",
    {["Content-Type"] = "application/json", ["Stripe-Signature"] = p[1]}, p[2])
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("wrapped") end
  io.write(string.format("wrapped: %d\n", total))
end
"""


def bare_app():
    """The baseline: a Flask app that verifies the signature and inserts the event id."""
    app = Flask("bare")
    engine = sa.create_engine(os.environ["DATABASE_URL"], pool_size=2)
    verifier = StripeGateway("sk_test_bench")
    insert = sa.text(
        "INSERT INTO bench_bare_events (stripe_id) VALUES (:id) ON CONFLICT DO NOTHING"
    )

    @app.post("/webhooks/stripe")
    def webhook():
        try:
            event = verifier.parse_event(
                request.get_data(), request.headers.get("Stripe-Signature"), SECRET
            )
        except InvalidWebhook as error:
            return jsonify(error=str(error)), 400
        with engine.begin() as connection:
            connection.execute(insert, {"id": event.id})
        return jsonify(status="ok")

    return app


class Events:
    """Stripe events in acacia shape, built on the fields Stripe's description gives."""

    def __init__(self) -> None:
        kinds = ("checkout.session", "payment_intent", "charge")
        self.templates = {kind: SPEC.shape(kind)["fields"] for kind in kinds}

    def event(self, event_id: str, type_: str, data: dict, created: int) -> dict:
        return {
            "id": event_id,
            "object": "event",
            "api_version": "2025-02-24.acacia",
            "created": created,
            "data": {"object": data},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }

    def checkout_completed(self, number: int, gift_id: int, created: int) -> dict:
        """``checkout.session.completed`` of a paid one-time session for one bench gift."""
        session = self.templates["checkout.session"] | {
            "id": f"cs_bench_{number}",
            "amount_subtotal": 1000,
            "amount_total": 1000,
            "client_reference_id": str(gift_id),
            "created": created - 60,
            "currency": "usd",
            "customer": f"cus_bench_{number}",
            "customer_email": f"reader{number}@example.org",
            "metadata": {"gift_id": str(gift_id)},
            "mode": "payment",
            "payment_intent": f"pi_bench_{number}",
            "payment_status": "paid",
            "status": "complete",
            "submit_type": "donate",
            "success_url": "http://127.0.0.1/thanks",
        }
        return self.event(f"evt_cs_{number}", "checkout.session.completed", session, created)

    def payment_intent_succeeded(self, number: int, gift_id: int, created: int) -> dict:
        intent = self.templates["payment_intent"] | {
            "id": f"pi_bench_{number}",
            "amount": 1000,
            "amount_received": 1000,
            "created": created - 5,
            "currency": "usd",
            "customer": f"cus_bench_{number}",
            "latest_charge": f"ch_bench_{number}",
            "metadata": {"gift_id": str(gift_id)},
            "payment_method_types": ["card"],
            "status": "succeeded",
        }
        return self.event(f"evt_pi_{number}", "payment_intent.succeeded", intent, created)

    def charge_succeeded(self, number: int, gift_id: int, created: int) -> dict:
        charge = self.templates["charge"] | {
            "id": f"ch_bench_{number}",
            "amount": 1000,
            "amount_captured": 1000,
            "captured": True,
            "created": created,
            "currency": "usd",
            "customer": f"cus_bench_{number}",
            "metadata": {"gift_id": str(gift_id)},
            "paid": True,
            "payment_intent": f"pi_bench_{number}",
            "status": "succeeded",
        }
        return self.event(f"evt_ch_{number}", "charge.succeeded", charge, created)


def sign(payload: bytes, timestamp: int) -> str:
    digest = hmac.new(SECRET.encode(), b"%d." % timestamp + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def write_payloads(path: Path, events: list[dict], duplicates: bool) -> None:
    """Sign (now) and write one request per line; with ``duplicates``, every other repeats."""
    now = int(time.time())
    lines = []
    for index, event in enumerate(events):
        body = json.dumps(event, separators=(",", ":"))
        lines.append(f"{sign(body.encode(), now)}\t{body}")
        if duplicates:
            lines.append(lines[max(0, len(lines) - 1 - 2 * min(index, 5))])
    path.write_text("\n".join(lines) + "\n")


def fresh_schema(count: int, *, donor_each: bool) -> list[int]:
    """Empty tables and ``count`` pending one-time gifts of 10.00 USD; return their ids.

    The gifts share one donor, or with ``donor_each`` each has its own.
    """
    db.drop_all()
    db.create_all()
    donors, gifts = db.metadata.tables["donors"], db.metadata.tables["gifts"]
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS bench_bare_events"))
        connection.execute(sa.text("CREATE TABLE bench_bare_events (stripe_id text PRIMARY KEY)"))
        emails = [f"reader{n}@example.org" for n in range(count if donor_each else 1)]
        donor_ids = connection.scalars(
            sa.insert(donors).returning(donors.c.id, sort_by_parameter_order=True),
            [{"email": email, "name": "Bench Reader"} for email in emails],
        ).all()
        rows = [
            {
                "donor_id": donor_ids[n if donor_each else 0],
                "amount": 1000,
                "currency": "USD",
                "frequency": "once",
                "status": "pending",
                "stripe_checkout_session_id": f"cs_bench_{n}",
            }
            for n in range(count)
        ]
        gift_ids = connection.scalars(
            sa.insert(gifts).returning(gifts.c.id, sort_by_parameter_order=True), rows
        ).all()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    return list(gift_ids)


def run_wrk(port: int, script: Path, payloads: Path, seconds: int, connections: int) -> dict:
    threads = 2
    output = subprocess.run(
        [
            *("wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"),
            *("-s", str(script), f"http://127.0.0.1:{port}", "--", str(payloads), str(threads)),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return wrk_figures(output) | {"wrapped": int(re.search(r"wrapped: (\d+)", output).group(1))}


def live(args, env: dict, events: Events, workdir: Path) -> float:
    """Full and bare endpoints in turn, ``args.rounds`` times, both modes each round;
    returns the full path's median events/s with unique events."""
    unique = {name: rate * args.seconds for name, rate in CAPACITY_PER_SECOND.items()}
    per_round = {name: count + count // 2 for name, count in unique.items()}
    gift_ids = fresh_schema(WARMUP_EVENTS + per_round["full"] * args.rounds, donor_each=False)
    now = int(time.time())
    full_events = iter(
        events.checkout_completed(n, gift_id, now) for n, gift_id in enumerate(gift_ids)
    )
    bare_events = iter(
        events.checkout_completed(n, n + 1, now)
        for n in range(1_000_000, 1_000_000 + WARMUP_EVENTS + per_round["bare"] * args.rounds)
    )
    supply = {"full": full_events, "bare": bare_events}
    script = workdir / "events.lua"
    script.write_text(LUA)
    print(
        f"\nLive: gunicorn 2 sync workers, wrk 2 threads {args.connections} connections, "
        f"{args.seconds} s per run, {args.rounds} rounds"
    )
    servers = {
        "full": serve("donations:create_app()", env, ROOT),
        "bare": serve("bench.webhooks:bare_app()", env, ROOT),
    }
    results = defaultdict(list)
    try:
        for endpoint, (_, port) in servers.items():
            warm_up(port, script, workdir / f"{endpoint}-warmup.txt", supply[endpoint])
        for round_number in range(1, args.rounds + 1):
            order = ("full", "bare") if round_number % 2 else ("bare", "full")
            for mode in MODES:
                for endpoint in order:
                    duplicates = mode != "unique"
                    count = unique[endpoint] // 2 if duplicates else unique[endpoint]
                    payloads = workdir / f"{endpoint}.txt"
                    write_payloads(payloads, take(supply[endpoint], count), duplicates)
                    port = servers[endpoint][1]
                    figures = run_wrk(port, script, payloads, args.seconds, args.connections)
                    results[(endpoint, mode)].append(figures)
                    print(f"round {round_number}  {endpoint:4s} {mode:15s} {describe(figures)}")
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait()
    summarize_live(results)
    return statistics.median(run["rps"] for run in results[("full", "unique")])


def warm_up(port: int, script: Path, payloads: Path, supply) -> None:
    """Load until both workers answer briskly: each loads the app and the Stripe SDK on its
    first request, which takes longer than a short run."""
    write_payloads(payloads, take(supply, WARMUP_EVENTS), duplicates=False)
    for _ in range(10):
        if run_wrk(port, script, payloads, 2, 2)["requests"] >= 100:
            return
    raise SystemExit(f"the server on port {port} does not answer")


def take(events, count: int) -> list[dict]:
    return [next(events) for _ in range(count)]


def describe(figures: dict) -> str:
    note = "  (payloads ran out: re-sent)" if figures["wrapped"] else ""
    return (
        f"{figures['rps']:7.0f} events/s   p50 {figures['p50']:6.2f} ms   "
        f"p99 {figures['p99']:6.2f} ms   non-2xx {figures['errors']}{note}"
    )


def summarize_live(results: dict) -> None:
    print()
    for (endpoint, mode), runs in results.items():
        rates = [run["rps"] for run in runs]
        print(
            f"{endpoint:4s} {mode:15s} median {statistics.median(rates):5.0f} events/s "
            f"(range {min(rates):.0f}-{max(rates):.0f})   "
            f"p50 {statistics.median(run['p50'] for run in runs):6.2f} ms   "
            f"p99 {statistics.median(run['p99'] for run in runs):6.2f} ms"
        )
    for mode in MODES:
        ratios = [
            full["rps"] / bare["rps"]
            for full, bare in zip(results[("full", mode)], results[("bare", mode)], strict=True)
        ]
        median = statistics.median(ratios)
        verdict = "ok" if median >= LIVE_TARGET else "UNDER TARGET"
        print(
            f"full/bare, {mode}: {' '.join(f'{ratio:.0%}' for ratio in ratios)} per round, "
            f"median {median:.0%} (target {LIVE_TARGET:.0%} or more: {verdict})"
        )


def session_cost(app, webhook_seconds: float) -> None:
    """What opening the session costs a webhook (no cookie): Flask's stock interface, which
    builds the cookie signer for every request, against the app's."""
    interfaces = {
        "Flask's stock": SecureCookieSessionInterface(),
        "the app's": app.session_interface,
    }
    costs = {}
    with app.test_request_context("/webhooks/stripe", method="POST"):
        for name, interface in interfaces.items():
            opening = partial(interface.open_session, app, request._get_current_object())
            runs = timeit.repeat(opening, number=2000)
            costs[name] = min(runs) / 2000
    print(
        "opening the session of a webhook: "
        + ", ".join(f"{name} {seconds * 1e6:.1f} µs" for name, seconds in costs.items())
        + f"; a webhook takes about {webhook_seconds * 1e3:.1f} ms of a worker "
        "(2 workers / full events/s)"
    )


def backlog(count: int, env: dict, events: Events, workdir: Path) -> None:
    """Store ``count`` unapplied events, replay them with the CLI, check the ledger."""
    intents = charges = count // 10
    gift_ids = fresh_schema(count - intents - charges, donor_each=True)
    stored = stored_backlog(events, gift_ids, intents, charges)
    inbox = db.metadata.tables["stripe_events"]
    with db.engine.begin() as connection:
        connection.execute(sa.insert(inbox), stored)
        connection.execute(sa.text("ANALYZE stripe_events"))
    kinds = Counter(row["type"] for row in stored)
    print(
        f"\nBacklog: {len(stored):,} events unapplied in the inbox ("
        + ", ".join(f"{number:,} {kind}" for kind, number in kinds.items())
        + ")"
    )

    seconds, cpu, backend_cpu = replay(env, workdir, len(stored))
    verdict = "ok" if seconds < BACKLOG_TARGET_SECONDS else "OVER TARGET"
    print(
        f"flask stripe replay --failed: {len(stored):,} events in {seconds:.1f} s = "
        f"{len(stored) / seconds:.0f} events/s (target under {BACKLOG_TARGET_SECONDS} s: "
        f"{verdict})"
    )
    per_event = f"{cpu / len(stored) * 1000:.2f} ms"
    if backend_cpu is not None:
        per_event += f" + PostgreSQL {backend_cpu / len(stored) * 1000:.2f} ms"
    print(
        f"CPU per event: command {per_event} (with its start-up); the rest of the "
        "wall-clock time is round trips, disk and waiting for a CPU"
    )
    check_backlog(len(stored), len(gift_ids), intents)


def replay(env: dict, workdir: Path, stored: int) -> tuple[float, float, float | None]:
    """Run ``flask stripe replay --failed`` to its end, showing progress.

    Returns its wall-clock seconds, its CPU seconds and those of its PostgreSQL backend
    (None when the server is not on this machine): CPU time per event hardly changes with
    the load other processes put on the machine, wall-clock time does.
    """
    command = [sys.executable, "-m", "flask", "--app", "donations:create_app"]
    command += ["stripe", "replay", "--failed"]
    out, err = workdir / "replay.out", workdir / "replay.err"
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    backend, backend_cpu = None, None
    started = shown = time.perf_counter()
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env | {"PGAPPNAME": REPLAY_APP_NAME},
            stdout=stdout,
            stderr=stderr,
        )
        while process.poll() is None:
            time.sleep(0.5)
            backend = backend or replay_backend()
            backend_cpu = process_cpu(backend) or backend_cpu
            if time.perf_counter() - shown >= 15:
                shown = time.perf_counter()
                left = unapplied_count()
                print(f"  {shown - started:5.0f} s: {stored - left:,} applied, {left:,} to go")
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode:
        print(f"  replay exited with {process.returncode}: {err.read_text()[-2000:]}")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return seconds, cpu, backend_cpu


def replay_backend() -> int | None:
    """The process id of the replay's PostgreSQL backend, once it has connected."""
    with db.engine.connect() as connection:
        return connection.scalar(
            sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": REPLAY_APP_NAME},
        )


def process_cpu(pid: int | None) -> float | None:
    """CPU seconds a process on this machine has used so far; None if it is not here."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, TypeError):
        return None
    user, system = int(fields[11]), int(fields[12])
    return (user + system) / os.sysconf("SC_CLK_TCK")


def stored_backlog(events: Events, gift_ids: list[int], intents: int, charges: int) -> list:
    """Inbox rows as an outage leaves them: each gift's events in Stripe's order."""
    received = datetime.now(UTC)
    start = int(time.time()) - 86_400
    rows = []
    for number, gift_id in enumerate(gift_ids):
        created = start + number
        batch = []
        if number < intents:
            batch.append(events.payment_intent_succeeded(number, gift_id, created - 1))
        if number < charges:
            batch.append(events.charge_succeeded(number, gift_id, created - 1))
        batch.append(events.checkout_completed(number, gift_id, created))
        for event in batch:
            rows.append(
                {
                    "stripe_id": event["id"],
                    "type": event["type"],
                    "object_id": event["data"]["object"]["id"],
                    "livemode": False,
                    "payload": json.dumps(event, separators=(",", ":")),
                    "stripe_created": event["created"],
                    "received_at": received,
                    "processed_at": None,
                    "attempts": 1,
                    "error": OUTAGE_ERROR,
                }
            )
    return rows


def unapplied_count() -> int:
    with db.engine.connect() as connection:
        return connection.scalar(
            sa.text("SELECT count(*) FROM stripe_events WHERE processed_at IS NULL")
        )


def check_backlog(stored: int, gifts: int, intents: int) -> None:
    """Every event applied, every gift paid once with one receipt; raise if not."""
    queries = {
        "events applied": ("SELECT count(*) FROM stripe_events WHERE processed_at IS NOT NULL"),
        "gifts paid": "SELECT count(*) FROM gifts WHERE status = 'paid'",
        "payments": "SELECT count(*) FROM payments",
        "gifts with a payment": "SELECT count(DISTINCT gift_id) FROM payments",
        "payments with their charge id": (
            "SELECT count(*) FROM payments "
            "WHERE stripe_charge_id = replace(stripe_id, 'pi_', 'ch_')"
        ),
        "receipts": "SELECT count(*) FROM outbox_emails WHERE template = 'receipt'",
        "gifts with a receipt": (
            "SELECT count(DISTINCT gift_id) FROM outbox_emails WHERE template = 'receipt'"
        ),
        "events linked to their gift": (
            "SELECT count(*) FROM stripe_events WHERE gift_id IS NOT NULL"
        ),
    }
    expected = {
        "events applied": stored,
        "gifts paid": gifts,
        "payments": gifts,
        "gifts with a payment": gifts,
        "payments with their charge id": intents,
        "receipts": gifts,
        "gifts with a receipt": gifts,
        "events linked to their gift": gifts + intents,
    }
    with db.engine.connect() as connection:
        found = {label: connection.scalar(sa.text(sql)) for label, sql in queries.items()}
    wrong = {
        label: (found[label], expected[label])
        for label in queries
        if found[label] != expected[label]
    }
    print("outcome: " + ", ".join(f"{found[label]:,} {label}" for label in queries))
    if wrong:
        raise SystemExit(f"outcome WRONG (found, expected): {wrong}")
    print("outcome ok: every event applied, every gift paid, one payment and one receipt per gift")


def machine_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help="scratch PostgreSQL database to create and drop (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="live runs of each endpoint (default: %(default)s)"
    )
    parser.add_argument(
        "--seconds", type=int, default=8, help="seconds per live run (default: %(default)s)"
    )
    parser.add_argument(
        "--connections", type=int, default=4, help="wrk connections (default: %(default)s)"
    )
    parser.add_argument(
        "--backlog", type=int, default=20_000, help="events in the backlog (default: %(default)s)"
    )
    parser.add_argument(
        "--only", choices=("live", "backlog"), help="run one part only (default: both)"
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("give --database-url postgresql+psycopg://...")
    if args.only != "backlog" and not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    print(f"donations imported from {Path(donations.__file__).parent}; {machine_load()}")
    env = dict(os.environ) | {
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": "bench-secret",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_API_BASE": UNREACHABLE_STRIPE,
        "PYTHONPATH": str(ROOT),
    }
    events = Events()
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    with scratch_database(args.database_url):
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": args.database_url, "STRIPE_API_BASE": UNREACHABLE_STRIPE}
        )
        with app.app_context():
            try:
                if args.only != "backlog":
                    full_rate = live(args, env, events, workdir)
                    session_cost(app, 2 / full_rate)
                if args.only != "live":
                    backlog(args.backlog, env, events, workdir)
            finally:
                db.engine.dispose()
    shutil.rmtree(workdir)
    print(f"\n{machine_load()}")


if __name__ == "__main__":
    main()
