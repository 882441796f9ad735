"""Benchmark: signed Stripe events per second through ``POST /webhooks/stripe``.

The real endpoint (verify, inbox row, ledger, outbox receipt, all in one transaction) and
a bare endpoint defined below (verify the signature, insert the event id, nothing else)
are each served by gunicorn with 2 sync workers on PostgreSQL and loaded by `wrk` with
pre-signed ``checkout.session.completed`` events, each for its own pending one-time gift:
once with every event unique, once with half of the deliveries duplicates of recent
events. Prints events/s, p50/p99 latency, and real/bare ratios (target: 50% or more).

    .venv/bin/python bench/webhooks.py --database postgresql+psycopg://postgres@127.0.0.1/db
        [--seconds 8] [--connections 4]

The database (or ``BENCH_DATABASE_URL``/``TEST_DATABASE_URL``) is emptied: use a scratch one.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import serve, wrk_figures  # noqa: E402

SECRET = "whsec_bench_secret"
SHAPES = ROOT / "sandbox" / "acacia_shapes.json"
#: more events than the fastest endpoint can take in the run, so none is sent twice by accident
CAPACITY_PER_SECOND = {"full": 1200, "bare": 3000}

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
    import sqlalchemy as sa
    from flask import Flask, jsonify, request

    from donations.payments import InvalidWebhook, StripeGateway

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


def sign(payload: bytes, timestamp: int) -> str:
    import hashlib
    import hmac

    digest = hmac.new(SECRET.encode(), b"%d." % timestamp + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def checkout_event(number: int, gift_id: int, session_template: dict, now: int) -> dict:
    """A ``checkout.session.completed`` event in acacia shape for one bench gift."""
    session = copy.deepcopy(session_template) | {
        "id": f"cs_bench_{number}",
        "amount_subtotal": 1000,
        "amount_total": 1000,
        "client_reference_id": str(gift_id),
        "created": now - 60,
        "currency": "usd",
        "customer": f"cus_bench_{number}",
        "customer_email": "bench@example.org",
        "metadata": {"gift_id": str(gift_id)},
        "mode": "payment",
        "payment_intent": f"pi_bench_{number}",
        "payment_status": "paid",
        "status": "complete",
        "submit_type": "donate",
        "success_url": "http://127.0.0.1/thanks",
    }
    return {
        "id": f"evt_bench_{number}",
        "object": "event",
        "api_version": "2025-02-24.acacia",
        "created": now,
        "data": {"object": session},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
    }


def write_payloads(path: Path, events: list[dict], duplicates: bool) -> int:
    """Sign and write one request per line; with ``duplicates``, every other one repeats."""
    now = int(time.time())
    lines = []
    for index, event in enumerate(events):
        body = json.dumps(event, separators=(",", ":"))
        line = f"{sign(body.encode(), now)}\t{body}"
        lines.append(line)
        if duplicates:
            lines.append(lines[max(0, len(lines) - 1 - 2 * min(index, 5))])
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def prepare_database(url: str, gifts: int) -> list[int]:
    """Empty the schema, create it, add ``gifts`` pending one-time gifts; return their ids."""
    import sqlalchemy as sa

    from donations import create_app
    from donations.extensions import db
    from donations.models import Donor, Gift

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "STRIPE_API_BASE": "http://127.0.0.1:9"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS bench_bare_events"))
            connection.execute(
                sa.text("CREATE TABLE bench_bare_events (stripe_id text PRIMARY KEY)")
            )
        donor = Donor(email="bench@example.org", name="Bench Reader")
        db.session.add(donor)
        db.session.flush()
        rows = [
            {
                "donor_id": donor.id,
                "amount": 1000,
                "currency": "USD",
                "frequency": "once",
                "status": "pending",
                "stripe_checkout_session_id": f"cs_bench_{n}",
            }
            for n in range(gifts)
        ]
        db.session.execute(sa.insert(Gift), rows)
        db.session.commit()
        ids = list(db.session.scalars(sa.select(Gift.id).order_by(Gift.id)))
        db.engine.dispose()
    return ids


def run_wrk(port: int, script: Path, payloads: Path, seconds: int, connections: int) -> dict:
    threads = 2
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            str(payloads),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return wrk_figures(output) | {"wrapped": int(re.search(r"wrapped: (\d+)", output).group(1))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL URL of a scratch database (it is emptied)",
    )
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    if not args.database or not args.database.startswith("postgresql"):
        raise SystemExit("give --database postgresql+psycopg://... (a scratch database)")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    script = workdir / "events.lua"
    script.write_text(LUA)
    unique_full = CAPACITY_PER_SECOND["full"] * args.seconds
    unique_bare = CAPACITY_PER_SECOND["bare"] * args.seconds
    gift_ids = prepare_database(args.database, unique_full + unique_full // 2 + 200)
    template = json.loads(SHAPES.read_text())["checkout.session"]["fields"]
    events = [
        checkout_event(n, gift_id, template, int(time.time())) for n, gift_id in enumerate(gift_ids)
    ]
    env = dict(os.environ) | {
        "DATABASE_URL": args.database,
        "SECRET_KEY": "bench-secret",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "PYTHONPATH": str(ROOT),
    }
    warmup, events = events[:200], events[200:]
    plan = {
        "full": ("donations:create_app()", events[:unique_full], events[unique_full:]),
        "bare": ("bench.webhooks:bare_app()", None, None),
    }
    bare_events = [
        checkout_event(1_000_000 + n, n + 1, template, int(time.time()))
        for n in range(unique_bare + unique_bare // 2)
    ]
    results = {}
    for endpoint, (spec, unique, duplicated) in plan.items():
        if endpoint == "bare":
            unique, duplicated = bare_events[:unique_bare], bare_events[unique_bare:]
        server, port = serve(spec, env, ROOT)
        try:
            write_payloads(workdir / "warmup.txt", warmup, duplicates=False)
            run_wrk(port, script, workdir / "warmup.txt", 1, 2)
            for mode, batch, duplicates in (
                ("unique", unique, False),
                ("50% duplicates", duplicated, True),
            ):
                payloads = workdir / f"{endpoint}-{mode[:3]}.txt"
                write_payloads(payloads, batch, duplicates)
                results[(endpoint, mode)] = run_wrk(
                    port, script, payloads, args.seconds, args.connections
                )
        finally:
            server.terminate()
            server.wait()
    report(results)


def report(results: dict) -> None:
    for (endpoint, mode), figures in results.items():
        note = "  (payloads ran out: re-sent)" if figures["wrapped"] else ""
        print(
            f"{endpoint:4s} {mode:15s} {figures['rps']:7.0f} events/s   "
            f"p50 {figures['p50']:6.2f} ms   p99 {figures['p99']:6.2f} ms   "
            f"non-2xx {figures['errors']}{note}"
        )
    for mode in ("unique", "50% duplicates"):
        ratio = results[("full", mode)]["rps"] / results[("bare", mode)]["rps"]
        print(f"full/bare, {mode}: {ratio:.0%} (target: 50% or more)")


if __name__ == "__main__":
    main()
