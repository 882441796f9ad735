"""Benchmark: a card-testing attack on the support form, against a live app and the sandbox.

The app runs under gunicorn (``--workers`` sync workers, 2 by default, as
``bench/support_page.py``) on a scratch PostgreSQL database, with the
Stripe sandbox as its Stripe and a Redis the workers share for the limits (as several web
processes must). It trusts one proxy, so each request's ``X-Forwarded-For`` is its address.

1. Throughput of the support page, limits on, against a hello-world Flask app served the
   same way: ``wrk`` in alternating rounds, medians (target: 45% or more).
2. The attack: ``--attackers`` threads, each bot a fresh client from a random address in
   one of ``--networks`` /24 networks, with a random email at one of 200 domains, load
   the page and press Continue, ``--rate`` presses a second in all (20 by default: 1,200
   a minute, twenty times the default ceiling), for ``--attack-seconds``. Meanwhile
   ``wrk`` loads the support page as readers would. Printed: Checkout sessions created
   per minute (by the gifts' own times; at most the ``START_SESSION_CEILING``), the most
   in any 60 s, the bots' answers, the refusals by reason, and the page's p50/p99 during
   the attack (target p99 under 100 ms).

    .venv/bin/python bench/card_testing.py [--attack-seconds 75] [--attackers 6] [--rate 20]
        [--networks 40] [--seconds 10] [--rounds 3] [--ceiling "60 per minute"] [--workers 2]

Needs ``wrk``, ``redis-server`` (Debian packages) and the ``redis`` Python package, and
PostgreSQL on 127.0.0.1 (``--database-url``; the database is created and dropped).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import free_port, migrate, scratch_database, serve  # noqa: E402
from bench.support_page import HELLO_APP, load  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_card_testing"
DOMAINS = [f"mail{number}.example.com" for number in range(200)]


@contextmanager
def running(command: list[str], port: int, env: dict | None = None):
    """Run a server until the block ends, once it accepts connections on ``port``."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{command[0]} did not start")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait()


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Attack:
    """Bots pressing Continue from many addresses until told to stop."""

    def __init__(self, url: str, networks: int, seed: int = 14) -> None:
        self.url, self.networks = url, networks
        self.random = random.Random(seed)
        self.answers: collections.Counter[int] = collections.Counter()
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def bot(self, interval: float) -> None:
        """Press Continue every ``interval`` seconds (or as fast as the answers come)."""
        due = time.monotonic()
        while not self.stop.wait(max(0.0, due - time.monotonic())):
            due += interval
            with self.lock:
                network = self.random.randrange(self.networks)
                address = f"10.{network // 256}.{network % 256}.{self.random.randrange(1, 255)}"
                email = f"{secrets.token_hex(6)}@{self.random.choice(DOMAINS)}"
            client = requests.Session()
            client.headers["X-Forwarded-For"] = address
            client.headers["Origin"] = self.url.rstrip("/")  # what a browser would send
            try:
                client.get(self.url, timeout=30)
                data = {"frequency": "once", "amount": "2", "currency": "USD", "email": email}
                answer = client.post(self.url, data=data, allow_redirects=False, timeout=30)
                status = answer.status_code
            except requests.RequestException:
                status = 0
            with self.lock:
                self.answers[status] += 1

    def run(self, attackers: int, rate: float, seconds: float, during: Callable[[], dict]) -> dict:
        """Attack at ``rate`` presses a second for ``seconds``; return what ``during``
        measured meanwhile."""
        started = time.monotonic()
        interval = attackers / rate
        threads = [threading.Thread(target=self.bot, args=(interval,)) for _ in range(attackers)]
        for thread in threads:
            thread.start()
        try:
            result = during()
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()
        return result


@dataclass(frozen=True)
class Created:
    per_minute: list[int]  #: Checkout sessions created in each whole minute of the attack
    most: int  #: the most created in any 60 s
    refused: dict[str, int]  #: refused starts by reason


def created_sessions(database_url: str, since: datetime) -> Created:
    """What the attack got, read from the gifts that have a Checkout session and from the
    refused starts."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        times = [
            row[0]
            for row in connection.execute(
                "SELECT created_at FROM gifts WHERE stripe_checkout_session_id IS NOT NULL "
                "AND created_at >= %s ORDER BY created_at",
                (since,),
            )
        ]
        reasons = dict(
            connection.execute("SELECT reason, count(*) FROM blocked_attempts GROUP BY reason")
        )
    minutes = collections.Counter(int((t - since).total_seconds() // 60) for t in times)
    per_minute = [minutes.get(index, 0) for index in range(max(minutes, default=-1) + 1)]
    most, first = 0, 0
    for last, moment in enumerate(times):
        while (moment - times[first]).total_seconds() >= 60:
            first += 1
        most = max(most, last - first + 1)
    return Created(per_minute, most, reasons)


def throughput(servers: dict, seconds: int, connections: int, rounds: int) -> dict:
    runs: dict[str, list[dict]] = {name: [] for name in servers}
    for _ in range(rounds):
        for name, url in servers.items():
            runs[name].append(load(url, seconds, connections))
    return {
        name: {key: statistics.median(run[key] for run in results) for key in results[0]}
        for name, results in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--attack-seconds", type=int, default=75)
    parser.add_argument("--attackers", type=int, default=6)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--networks", type=int, default=40)
    parser.add_argument("--ceiling", default="60 per minute")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for tool in ("wrk", "redis-server"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed: apt-get install -y {tool}")

    workdir = Path(tempfile.mkdtemp(prefix="bench-card-testing-"))
    (workdir / "hello.py").write_text(HELLO_APP)
    sandbox_port, redis_port = free_port(), free_port()
    env = dict(os.environ) | {
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": "bench-secret",
        "PYTHONPATH": str(ROOT),
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_API_BASE": f"http://127.0.0.1:{sandbox_port}",
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}",
        "TRUSTED_PROXIES": "1",
        "START_SESSION_CEILING": args.ceiling,
    }
    sandbox = [sys.executable, "-m", "sandbox", "--port", str(sandbox_port), "--quiet"]
    redis = ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"]
    with (
        scratch_database(args.database_url),
        running(sandbox, sandbox_port),
        running(redis, redis_port),
    ):
        migrate(env, ROOT)
        support, support_port = serve("app:app", env, ROOT, args.workers)
        hello, hello_port = serve("hello:app", env, workdir, args.workers)
        url = f"http://127.0.0.1:{support_port}/"
        try:
            figures = throughput(
                {"hello": f"http://127.0.0.1:{hello_port}/", "support": url},
                args.seconds,
                args.connections,
                args.rounds,
            )
            attack = Attack(url, args.networks)
            since = datetime.now().astimezone()
            during = attack.run(
                args.attackers,
                args.rate,
                args.attack_seconds,
                lambda: load(url, min(30, args.attack_seconds - 5), args.connections),
            )
            created = created_sessions(args.database_url, since)
        finally:
            for server in (support, hello):
                server.terminate()
                server.wait()

    for name, result in figures.items():
        print(
            f"{name:8s} {result['rps']:8.0f} req/s   p50 {result['p50']:6.2f} ms   "
            f"p99 {result['p99']:6.2f} ms   non-2xx {result['errors']}"
        )
    ratio = figures["support"]["rps"] / figures["hello"]["rps"]
    print(f"support/hello ratio, limits on: {ratio:.0%} (target: 45% or more)")
    total = sum(attack.answers.values())
    print(
        f"attack: {args.attackers} bots aiming at {args.rate:g} presses/s for "
        f"{args.attack_seconds} s from {args.networks} /24 networks: {total} presses of "
        f"Continue ({total / args.attack_seconds:.1f}/s), answers "
        f"{dict(sorted(attack.answers.items()))}"
    )
    print(
        f"Checkout sessions created per minute: {created.per_minute} (ceiling {args.ceiling}; "
        f"most in any 60 s of gift times: {created.most}, which trail the ceiling's count by "
        f"each request's own time)"
    )
    print(f"refused starts by reason: {created.refused}")
    print(
        f"support page during the attack: {during['rps']:.0f} req/s   p50 {during['p50']:.2f} ms"
        f"   p99 {during['p99']:.2f} ms (target: under 100 ms)   non-2xx {during['errors']}"
    )


if __name__ == "__main__":
    main()
