"""Factories for the rows tests need, and helpers that act as a browser would.

Each ``make_*`` function takes any column as a keyword override, fills the rest with
sensible defaults, adds the row and flushes (so it has its id) without committing: the
rows belong to the test's transaction. Commit when something else must see them for
good: another thread or process (committing tests), or app code that rolls back.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

from donations.db import commit_or_rollback, db
from donations.enums import (
    Frequency,
    GiftStatus,
    PaymentKind,
    ReminderStatus,
    StaffRole,
)
from donations.giving.checkout import GiftChoice, create_pending_gift, open_checkout
from donations.models import Donor, Gift, Payment, Reminder, StaffUser
from donations.staff.services import hash_password

PASSWORD = "correct horse battery staple"
INTENT_PATTERN = re.compile(r'name="intent" type="hidden" value="([0-9a-f]+)"')
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_numbers = itertools.count(1)


def at(when: str | datetime) -> datetime:
    """``at("2025-03-15 10:00")`` → an aware UTC datetime (aware datetimes pass through)."""
    if isinstance(when, datetime):
        return when
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def make_staff(
    email: str = "admin@example.org", role: StaffRole = StaffRole.ADMIN, **fields
) -> StaffUser:
    """A staff account whose password is ``PASSWORD``."""
    user = StaffUser(email=email, role=role, password_hash=hash_password(PASSWORD), **fields)
    return _added(user)


def make_donor(email: str | None = None, name: str = "", **fields) -> Donor:
    fields.setdefault("created_at", at("2024-01-01 00:00"))
    email = email or f"reader{next(_numbers)}@example.org"
    return _added(Donor(email=email, name=name, **fields))


def make_gift(
    donor: Donor | None = None,
    amount: int = 2500,
    *,
    currency: str = "USD",
    frequency: Frequency = Frequency.ONCE,
    status: GiftStatus = GiftStatus.PAID,
    created: str | datetime = "2025-01-01 12:00",
    cancelled: str | datetime | None = None,
    **fields,
) -> Gift:
    """A gift of ``amount`` minor units (paid and one-time unless told), by a new donor
    unless one is given."""
    gift = Gift(
        donor=donor or make_donor(),
        amount=amount,
        currency=currency,
        frequency=frequency,
        status=status,
        created_at=at(created),
        cancelled_at=at(cancelled) if cancelled else None,
        **fields,
    )
    return _added(gift)


def make_payment(
    gift: Gift,
    amount: int | None = None,
    when: str | datetime | None = None,
    *,
    refund_of: Payment | None = None,
    **fields,
) -> Payment:
    """A charge of the gift's amount when it was made, or with ``refund_of`` a refund (pass
    a negative amount)."""
    number = next(_numbers)
    payment = Payment(
        gift=gift,
        kind=PaymentKind.REFUND if refund_of else PaymentKind.CHARGE,
        amount=gift.amount if amount is None else amount,
        currency=gift.currency,
        stripe_id=f"re_test{number}" if refund_of else f"pi_test{number}",
        stripe_payment_intent_id=None if refund_of else f"pi_test{number}",
        refunded_payment_id=refund_of.id if refund_of else None,
        created_at=gift.created_at if when is None else at(when),
        **fields,
    )
    return _added(payment)


def make_reminder(
    email: str | None = None,
    *,
    due: str | datetime = "2025-07-01 09:00",
    status: ReminderStatus = ReminderStatus.SCHEDULED,
    **fields,
) -> Reminder:
    """A "remind me later" sign-up due at ``due`` (and first tried then)."""
    number = next(_numbers)
    due_at = at(due)
    fields.setdefault("due_month", due_at.strftime("%Y-%m"))
    fields.setdefault("next_attempt_at", due_at)
    fields.setdefault("token", f"reminder-token-{number}")
    reminder = Reminder(
        email=email or f"reader{number}@example.org", due_at=due_at, status=status, **fields
    )
    return _added(reminder)


def _added(row):
    db.session.add(row)
    db.session.flush()
    return row


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_PATTERN.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def form_fields_from(html: str) -> dict[str, str]:
    """The CSRF token and one-time intent (if it has one) of the first form on a page."""
    match = INTENT_PATTERN.search(html)
    intent = {"intent": match.group(1)} if match else {}
    return {"csrf_token": csrf_token_from(html)} | intent


def sign_in(client, email: str = "admin@example.org", password: str = PASSWORD, next_url=None):
    """Post the login form the way a browser would and, when the account asks for a
    second step, give it the code of an authenticator app; return the last response."""
    page = client.get("/staff/login")
    query = f"?next={next_url}" if next_url else ""
    response = client.post(
        f"/staff/login{query}",
        data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)},
    )
    second_steps = ("/staff/login/code", "/staff/two-factor/setup")
    if response.status_code == 302 and response.headers["Location"].startswith(second_steps):
        return enter_code(client, email)
    return response


def enter_code(client, email: str = "admin@example.org"):
    """Post the code step with the code an authenticator app shows, a time step the
    account has not used yet; an account without a second factor gets one first, as if
    it had set it up earlier (the setup page itself is tested on its own)."""
    import time

    import pyotp
    import sqlalchemy as sa

    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    if user.totp_enabled_at is None:
        user.totp_secret = pyotp.random_base32()
        user.totp_enabled_at = datetime.now(UTC)
        db.session.flush()
    step = max(int(time.time()) // 30, (user.totp_last_step or 0) + 1)
    code = pyotp.TOTP(user.totp_secret).generate_otp(step)
    page = client.get("/staff/login/code")
    return client.post(
        "/staff/login/code", data={"code": code, "csrf_token": csrf_token_from(page.text)}
    )


def make_checkout(
    frequency: str = "once",
    amount: int = 500,
    currency: str = "USD",
    email: str = "reader@example.org",
    name: str = "Rea Der",
) -> Gift:
    """A pending gift with an open Checkout Session in the sandbox, committed in two steps
    as the support page does (the gift first, then the session it opened)."""
    choice = GiftChoice(
        frequency=frequency, amount=amount, currency=currency, email=email, name=name
    )
    with commit_or_rollback():
        gift = create_pending_gift(choice)
    with commit_or_rollback():
        open_checkout(gift, success_url="http://127.0.0.1/thanks", cancel_url="http://127.0.0.1/")
    return gift


# the recurring-donor rows' factories: appended, so their imports are here
from donations.enums import OutboxStatus  # noqa: E402
from donations.models import OutboxEmail, RenewalFailure  # noqa: E402


def make_renewal_failure(
    gift: Gift,
    attempt: int = 1,
    failed: str | datetime = "2025-06-01 10:00",
    *,
    invoice: str | None = None,
    retry: str | datetime | None = None,
    **fields,
) -> RenewalFailure:
    """Stripe's ``attempt``-th failure to collect a renewal of ``gift`` (its amount due,
    retried at ``retry``, or never when None), for invoice ``invoice`` (a new one unless
    given)."""
    fields.setdefault("amount", gift.amount)
    fields.setdefault("currency", gift.currency)
    failure = RenewalFailure(
        gift_id=gift.id,
        stripe_invoice_id=invoice or f"in_test{next(_numbers)}",
        attempt=attempt,
        failed_at=at(failed),
        next_attempt_at=at(retry) if retry else None,
        **fields,
    )
    return _added(failure)


def make_outbox_email(
    gift: Gift,
    template: str,
    queued: str | datetime = "2025-06-01 10:00",
    *,
    sent: str | datetime | None = None,
    **fields,
) -> OutboxEmail:
    """An email about ``gift`` queued at ``queued``, and sent at ``sent`` unless None."""
    fields.setdefault("to", gift.donor.email)
    fields.setdefault("dedupe_key", f"{template}:test{next(_numbers)}")
    email = OutboxEmail(
        gift_id=gift.id,
        template=template,
        created_at=at(queued),
        next_attempt_at=at(queued),
        sent_at=at(sent) if sent else None,
        status=OutboxStatus.SENT if sent else OutboxStatus.PENDING,
        **fields,
    )
    return _added(email)


# the money records' factories (fees, disputes): appended, so their imports are here
from donations.enums import DisputeState  # noqa: E402
from donations.models import Dispute  # noqa: E402

#: how Stripe's ids of each kind of movement begin
MOVEMENT_ID_PREFIXES = {
    PaymentKind.CHARGE: "pi_move",
    PaymentKind.REFUND: "re_move",
    PaymentKind.DISPUTE: "dp_move",
    PaymentKind.DISPUTE_REVERSAL: "dp_move",
}


def make_movement(
    gift: Gift,
    kind: PaymentKind,
    amount: int,
    when: str | datetime,
    *,
    fee: int | None = None,
    **fields,
) -> Payment:
    """A money movement of ``kind`` and signed ``amount`` on ``gift``, with Stripe's ``fee``
    (net = amount − fee) or, with ``fee=None``, a fee not known yet (no net either)."""
    number = next(_numbers)
    fields.setdefault("stripe_id", f"{MOVEMENT_ID_PREFIXES[kind]}{number}")
    if kind == PaymentKind.CHARGE:
        fields.setdefault("stripe_payment_intent_id", fields["stripe_id"])
        fields.setdefault("receipt_number", f"{at(when).year}-{number:06d}")
    payment = Payment(
        gift=gift,
        kind=kind,
        amount=amount,
        currency=gift.currency,
        fee=fee,
        net=None if fee is None else amount - fee,
        stripe_balance_transaction_id=None if fee is None else f"txn_move{number}",
        created_at=at(when),
        **fields,
    )
    return _added(payment)


def make_dispute(
    charge: Payment,
    state: DisputeState = DisputeState.OPEN,
    opened: str | datetime = "2025-06-01 10:00",
    *,
    respond_by: str | datetime | None = "2025-06-20 23:59",
    **fields,
) -> Dispute:
    """A dispute of all of ``charge`` (its movements are made apart with ``make_movement``);
    flags the charge and its gift as disputed, as the ledger does."""
    charge.disputed = True
    charge.gift.disputed = True
    fields.setdefault("amount", charge.amount)
    dispute = Dispute(
        stripe_id=f"dp_test{next(_numbers)}",
        gift_id=charge.gift_id,
        payment_id=charge.id,
        state=state,
        currency=charge.currency,
        reason=fields.pop("reason", "fraudulent"),
        respond_by=at(respond_by) if respond_by else None,
        opened_at=at(opened),
        closed_at=None if state == DisputeState.OPEN else at(opened),
        **fields,
    )
    return _added(dispute)


# the retention purge's factories: appended, so their imports are here
from donations.models import StripeEvent  # noqa: E402


def make_stripe_event(
    received: str | datetime = "2025-06-01 10:00",
    *,
    processed: bool = True,
    payload: str = '{"data": {"object": {"customer_email": "reader@example.org"}}}',
    **fields,
) -> StripeEvent:
    """A webhook event stored at ``received``, applied then unless ``processed`` is False
    (then it carries an error, as a failed one does)."""
    number = next(_numbers)
    fields.setdefault("stripe_id", f"evt_test{number}")
    fields.setdefault("type", "checkout.session.completed")
    fields.setdefault("object_id", f"cs_test{number}")
    fields.setdefault("error", "" if processed else "RuntimeError: boom")
    event = StripeEvent(
        payload=payload,
        received_at=at(received),
        processed_at=at(received) if processed else None,
        **fields,
    )
    return _added(event)
