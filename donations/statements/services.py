"""Annual statements: every payment a donor made in a calendar year, net of refunds and
disputes, with totals per currency and the organisation's details, as a PDF a tax office
accepts.

A statement is built whenever it is asked for (downloaded, or attached by the worker) and
never stored, so a refund recorded later shows on the next copy. Years are calendar years
in UTC, the time payments are recorded in. Amounts are never added across currencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale

from donations import outbox
from donations.db import db, utcnow
from donations.enums import Frequency, TributeKind
from donations.i18n import language_or_default
from donations.mail import Attachment
from donations.models import Donor
from donations.statements import queries

#: the outbox email that carries a statement (the worker attaches the PDF when sending)
EMAIL_TEMPLATE = "annual_statement"


class NoStatement(ValueError):
    """There is no statement for that year: it has not begun, it is before the first
    payment, or it had no payments."""


@dataclass(frozen=True)
class Line:
    """One charge of the year and what it kept after refunds and disputes."""

    paid_at: datetime
    receipt_number: str | None
    gift_id: int
    frequency: Frequency
    currency: str
    amount: int
    refunded: int  #: positive: what refunds of this charge returned
    disputed: int  #: positive: what disputes withdrew and did not reinstate

    @property
    def retained(self) -> int:
        return self.amount - self.refunded - self.disputed


@dataclass(frozen=True)
class Total:
    """The year's lines in one currency, added up."""

    currency: str
    payments: int
    amount: int
    refunded: int
    disputed: int

    @property
    def retained(self) -> int:
        return self.amount - self.refunded - self.disputed


@dataclass(frozen=True)
class Tribute:
    gift_id: int
    kind: TributeKind
    name: str


@dataclass(frozen=True)
class Organisation:
    """Who issues the statement, from the ``ORGANIZATION_*`` and ``RECEIPT_STATEMENT``
    settings."""

    legal_name: str
    address: tuple[str, ...]
    tax_id: str
    receipt_statement: str


@dataclass(frozen=True)
class Statement:
    year: int
    donor_name: str
    donor_email: str
    issued_on: date
    lines: tuple[Line, ...]
    totals: tuple[Total, ...]
    tributes: tuple[Tribute, ...]

    @property
    def complete(self) -> bool:
        """False for the year in progress: the statement covers it so far."""
        return self.issued_on.year > self.year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The calendar year as [start, end) in UTC."""
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def statement_years(donor: Donor) -> list[int]:
    """The years in which the donor was charged, newest first."""
    return sorted({paid_at.year for paid_at in queries.charge_times(donor.id)}, reverse=True)


def check_year(year: int, years: list[int], today: date) -> None:
    """Raise ``NoStatement`` with the reason unless ``year`` has a statement."""
    if year > today.year:
        raise NoStatement(f"There is no statement for {year}: that year has not begun.")
    if not years:
        raise NoStatement(f"There is no statement for {year}: no payment has been made yet.")
    first = min(years)
    if year < first:
        raise NoStatement(
            f"There is no statement for {year}: the first payment was made in {first}."
        )
    if year not in years:
        raise NoStatement(f"There is no statement for {year}: no payment was made that year.")


def build_statement(donor: Donor, year: int, *, today: date | None = None) -> Statement:
    """The donor's statement for ``year``; raises ``NoStatement``."""
    today = today or utcnow().date()
    check_year(year, statement_years(donor), today)
    rows = queries.charges(donor.id, *year_bounds(year))
    lines = tuple(
        Line(
            paid_at=row.paid_at,
            receipt_number=row.receipt_number,
            gift_id=row.gift_id,
            frequency=Frequency(row.frequency),
            currency=row.currency,
            amount=row.amount,
            refunded=row.refunded,
            disputed=row.disputed,
        )
        for row in rows
    )
    tributes = {
        row.gift_id: Tribute(row.gift_id, TributeKind(row.tribute_kind), row.tribute_name)
        for row in rows
        if row.tribute_kind and row.tribute_name
    }
    return Statement(
        year=year,
        donor_name=donor.name,
        donor_email=donor.email,
        issued_on=today,
        lines=lines,
        totals=totals_per_currency(lines),
        tributes=tuple(tributes.values()),
    )


def totals_per_currency(lines: tuple[Line, ...]) -> tuple[Total, ...]:
    """One total per currency, in alphabetical order of the currency code."""
    totals = []
    for currency in sorted({line.currency for line in lines}):
        same = [line for line in lines if line.currency == currency]
        totals.append(
            Total(
                currency=currency,
                payments=len(same),
                amount=sum(line.amount for line in same),
                refunded=sum(line.refunded for line in same),
                disputed=sum(line.disputed for line in same),
            )
        )
    return tuple(totals)


def organisation() -> Organisation:
    """The issuer's details; ``ORGANIZATION_ADDRESS`` gives one line per line (a newline,
    or ``\\n`` as written in an environment file)."""
    config = current_app.config
    address = str(config["ORGANIZATION_ADDRESS"]).replace("\\n", "\n")
    return Organisation(
        legal_name=config["ORGANIZATION_LEGAL_NAME"],
        address=tuple(line.strip() for line in address.splitlines() if line.strip()),
        tax_id=config["ORGANIZATION_TAX_ID"],
        receipt_statement=config["RECEIPT_STATEMENT"],
    )


def render_statement(donor: Donor, year: int, *, today: date | None = None) -> bytes:
    """The donor's statement for ``year`` as a PDF; raises ``NoStatement``."""
    # imported here: the PDF library (with fontTools and Pillow) takes a fifth of a second
    # to load, which processes that never draw a statement should not pay
    from donations.statements import pdf

    return pdf.render(build_statement(donor, year, today=today), organisation())


def statement_filename(year: int) -> str:
    return f"statement-{year}.pdf"


def statement_key(donor_id: int, year: int) -> str:
    """One statement email per donor and year, however often ``send`` runs."""
    return f"statement:{donor_id}:{year}"


def queue_statements(year: int, donors: list[tuple[int, str, str, str]]) -> int:
    """Queue the statement email to each (id, email, name, language) donor, in their
    language; flushes. Returns how many were queued now (the others had theirs already)."""
    queued = 0
    for donor_id, email, name, locale in donors:
        context = {"donor_id": donor_id, "year": year, "donor_name": name}
        key = statement_key(donor_id, year)
        queued_id = outbox.enqueue(email, EMAIL_TEMPLATE, context, dedupe_key=key, locale=locale)
        queued += queued_id is not None
    return queued


def statement_attachments(context: dict[str, Any]) -> list[Attachment]:
    """The PDF for a queued statement email, drawn when the worker sends it, in the
    email's language."""
    donor = db.session.get(Donor, context["donor_id"])
    if donor is None:
        raise NoStatement(f"Donor {context['donor_id']} no longer exists.")
    year = int(context["year"])
    with force_locale(language_or_default(context.get("locale"))):
        content = render_statement(donor, year)
    return [Attachment(statement_filename(year), content, "application/pdf")]
