"""A statement as a file download, for the donor's gifts page and the staff donor page."""

from __future__ import annotations

from datetime import date

from flask import Response

from donations.models import Donor
from donations.statements.services import render_statement, statement_filename


def statement_download(donor: Donor, year: int, *, today: date | None = None) -> Response:
    """The PDF as an attachment that no cache keeps; raises ``NoStatement``."""
    return Response(
        render_statement(donor, year, today=today),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{statement_filename(year)}"',
            "Cache-Control": "no-store",
        },
    )
