"""Start the whole platform for development: `make dev`.

Runs the Stripe sandbox, a local SMTP sink (messages kept under instance/mail/), the
database migrations, the web app and the worker; registers the app's webhook with the
sandbox; creates a demo staff login. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from donations.config import from_environment

ROOT = Path(__file__).resolve().parent.parent
#: ports of the processes this script starts (the app's own settings live in config.py)
PORT = int(os.environ.get("PORT", "5000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8420"))
SMTP_PORT = from_environment()["SMTP_PORT"]
DEMO_EMAIL = "demo@example.org"
DEMO_PASSWORD = "demo-password-123"


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def wait_for_port(port: int, name: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise StartupFailed(f"{name} did not start on port {port}")


def signal_group(child: subprocess.Popen, signum: int) -> None:
    """Signal a child's whole process group (it may have children of its own)."""
    try:
        os.killpg(child.pid, signum)
    except ProcessLookupError:
        pass


class StartupFailed(Exception):
    pass


def flask(*args: str, env: dict, input_text: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise StartupFailed(f"flask {' '.join(args)} failed:\n{result.stderr or result.stdout}")
    return result.stdout


def main() -> None:
    busy = [str(port) for port in (PORT, SANDBOX_PORT, SMTP_PORT) if not port_is_free(port)]
    if busy:
        sys.exit(
            f"Port {', '.join(busy)} is already in use (another `make dev`?). "
            "Stop it, or choose others: make dev PORT=5050 SANDBOX_PORT=8421 SMTP_PORT=8026"
        )
    env = dict(os.environ)
    env.setdefault("STRIPE_API_BASE", f"http://127.0.0.1:{SANDBOX_PORT}")
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{PORT}")
    children: list[subprocess.Popen] = []

    def start(*command: str) -> None:
        # each child leads its own process group, so stopping it stops what it started too
        # (the web app's reloader runs the app in a child process)
        children.append(subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True))

    def stop(*_args, exit_code: int = 0) -> None:
        for child in reversed(children):
            signal_group(child, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                signal_group(child, signal.SIGKILL)
        sys.exit(exit_code)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    try:
        start(sys.executable, "-m", "sandbox", "--port", str(SANDBOX_PORT))
        start(
            sys.executable,
            "-m",
            "donations.dev_smtp",
            "--port",
            str(SMTP_PORT),
            "--dir",
            str(ROOT / "instance" / "mail"),
        )
        wait_for_port(SANDBOX_PORT, "The Stripe sandbox")
        wait_for_port(SMTP_PORT, "The SMTP sink")

        flask("db", "upgrade", env=env)
        webhook_url = f"http://127.0.0.1:{PORT}/webhooks/stripe"
        env["STRIPE_WEBHOOK_SECRET"] = (
            flask("stripe", "register-webhook", webhook_url, env=env).strip().splitlines()[-1]
        )
        flask(
            "staff",
            "create",
            DEMO_EMAIL,
            "--role",
            "admin",
            "--password-stdin",
            "--exist-ok",
            env=env,
            input_text=DEMO_PASSWORD + "\n",
        )

        start(sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(PORT), "--debug")
        start(sys.executable, "-m", "flask", "--app", "app", "worker")
        wait_for_port(PORT, "The web app")
        print(
            f"""
  Donation platform running (Ctrl-C stops everything)
    Support page   http://127.0.0.1:{PORT}/
    Staff area     http://127.0.0.1:{PORT}/staff/  ({DEMO_EMAIL} / {DEMO_PASSWORD})
    Stripe sandbox http://127.0.0.1:{SANDBOX_PORT}
    Emails         {ROOT / "instance" / "mail"}
    Test card      4242 4242 4242 4242, any future expiry, any CVC
""",
            flush=True,
        )
        while True:
            for child in children:
                if child.poll() is not None:
                    print(f"{child.args} exited with {child.returncode}; stopping.", flush=True)
                    stop(exit_code=1)
            time.sleep(1)
    except StartupFailed as error:
        print(error, file=sys.stderr, flush=True)
        stop(exit_code=1)


if __name__ == "__main__":
    main()
