"""Benchmark: the support page against a hello-world Flask app, served the same way.

Both run under gunicorn with 2 sync workers; load comes from `wrk` (Debian package `wrk`)
with 4 connections for 10 s after a warm-up, in alternating rounds (median reported) so a
busy machine biases neither side. Prints requests/s, p50 and p99 latency for
each and the ratio support/hello. The support page is rendered as a reader gets it: a
fresh session with a CSRF token, the full server-rendered form.

Last, in this process (Flask test client), what the rate limiter's own checks cost a GET
they are not skipped for: ``/remind`` with the limiter on and off, beside the support page,
which skips them (see ``UNLIMITED_ENDPOINTS``).

    .venv/bin/python bench/support_page.py [--seconds 10] [--connections 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import serve, wrk_figures  # noqa: E402
from donations import create_app  # noqa: E402

HELLO_APP = """
from flask import Flask
app = Flask(__name__)

@app.get("/")
def hello():
    return "Hello, World!"
"""


def load(url: str, seconds: int, connections: int) -> dict:
    subprocess.run(["wrk", "-t1", "-c2", "-d2s", url], capture_output=True, check=True)
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return wrk_figures(output)


def per_request_ms(client, path: str) -> float:
    assert client.get(path).status_code == 200, path
    return min(timeit.repeat(lambda: client.get(path), number=200, repeat=5)) / 200 * 1000


def limiter_checks(database_url: str) -> None:
    """The limiter's checks on a GET: ``/remind`` with the limiter on, then off."""
    times = {}
    for enabled in (True, False):
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": enabled})
        client = app.test_client()
        times[enabled] = {path: per_request_ms(client, path) for path in ("/", "/remind")}
    checks = times[True]["/remind"] - times[False]["/remind"]
    page = times[True]["/"]
    print(
        f"rate limiter's checks on a GET (/remind, limiter on - off): {checks:.2f} ms; "
        f"the support page, which skips them: {page:.2f} ms "
        f"({times[False]['/']:.2f} ms with the limiter off); with them they would be "
        f"{checks / (page + checks):.0%} of its time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    workdir = Path(tempfile.mkdtemp(prefix="bench-support-"))
    (workdir / "hello.py").write_text(HELLO_APP)
    env = dict(os.environ)
    env |= {
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SECRET_KEY": "bench-secret",
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    servers = {}
    try:
        for name, spec, cwd in (("hello", "hello:app", workdir), ("support", "app:app", ROOT)):
            server, port = serve(spec, env, cwd)
            servers[name] = (server, f"http://127.0.0.1:{port}/")
        rounds: dict[str, list[dict]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, (_server, url) in servers.items():
                rounds[name].append(load(url, args.seconds, args.connections))
    finally:
        for server, _url in servers.values():
            server.terminate()
            server.wait()
    results = {
        name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for name, runs in rounds.items()
    }
    for name, figures in results.items():
        print(
            f"{name:8s} {figures['rps']:8.0f} req/s   p50 {figures['p50']:6.2f} ms   "
            f"p99 {figures['p99']:6.2f} ms   non-2xx {figures['errors']}"
        )
    ratio = results["support"]["rps"] / results["hello"]["rps"]
    print(f"support/hello ratio: {ratio:.0%} (target: 50% or more)")
    limiter_checks(env["DATABASE_URL"])


if __name__ == "__main__":
    main()
