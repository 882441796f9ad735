"""A local SMTP sink for development: every message becomes a ``.eml`` file.

``python -m donations.dev_smtp --dir instance/mail`` accepts any mail on 127.0.0.1 (on the
app's ``SMTP_PORT`` unless ``--port`` says otherwise), writes it to
``<dir>/<time>-<n>.eml`` (open it in any mail client) and logs its recipients and subject,
so a newcomer sees the reminders and receipts the worker sends without a real mail server.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import signal
import sys
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

from donations.config import from_environment

log = logging.getLogger("donations.dev_smtp")


class FileSink:
    """aiosmtpd handler writing each message to a file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{next(self.counter):05d}.eml"
        path.write_bytes(envelope.original_content)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        log.info("to %s: %s (%s)", ", ".join(envelope.rcpt_tos), message["Subject"], path.name)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=from_environment()["SMTP_PORT"])
    parser.add_argument("--dir", default="instance/mail", help="where to keep .eml files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s dev-smtp %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command chatter

    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(FileSink(directory), hostname=args.host, port=args.port)
    controller.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("listening on %s:%s, keeping mail in %s", args.host, args.port, directory)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
