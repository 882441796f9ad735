"""What the benchmarks share: a scratch PostgreSQL database, an app served by gunicorn,
load from wrk and its figures."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(app_spec: str, env: dict, cwd: Path, workers: int = 2) -> tuple[subprocess.Popen, int]:
    """Start gunicorn (sync workers) on a free port; return the process and the port."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "gunicorn", app_spec),
        *("--workers", str(workers), "--worker-class", "sync"),
        *("--bind", f"127.0.0.1:{port}", "--log-level", "warning"),
    ]
    process = subprocess.Popen(command, cwd=cwd, env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{app_spec} did not start")


def migrate(env: dict, cwd: Path) -> None:
    """Bring the scratch database in ``env`` to the newest schema (``flask db upgrade``)."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )


def to_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk_figures(output: str) -> dict:
    """Requests/s, p50/p99 latency (ms), request count and non-2xx count of a wrk run."""
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def _admin_url(url: str) -> tuple[str, str]:
    """The server's ``postgres`` database (for CREATE/DROP DATABASE) and the name in ``url``."""
    server, name = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)
    return f"{server}/postgres", name


def ensure_database(url: str, reseed: bool = False) -> bool:
    """Create the PostgreSQL database named in ``url`` if missing (dropping it first with
    ``reseed``); True when it was created empty."""
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if exists and reseed:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return not exists


@contextmanager
def scratch_database(url: str) -> Iterator[None]:
    """Create the PostgreSQL database named in ``url`` for the block, then drop it.

    An existing database of that name is refused, not reused: it may be another run's.
    """
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            raise SystemExit(
                f"database {name} exists: another run is using it, or a run was killed "
                f"(drop it with: psql -h 127.0.0.1 -U postgres -c 'DROP DATABASE \"{name}\"')"
            )
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
