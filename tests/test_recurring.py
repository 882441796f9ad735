"""The recurring donor's life after the first gift, end to end: the sandbox delivers its
webhooks to the live app, emails go through the outbox to a real SMTP server, and the
donor acts through the links in those emails and on ``/manage``.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from donations import links
from donations.db import db, utcnow
from donations.enums import ActorKind, AuditAction, GiftStatus, PaymentKind
from donations.models import AuditLog, Gift, OutboxEmail, Payment, RenewalFailure
from donations.worker import run_pending
from tests.factories import csrf_token_from, form_fields_from, make_checkout
from tests.helpers_events import sandbox_get


@pytest.fixture
def app_config(app_config, smtp_server):
    return app_config | {"SMTP_HOST": smtp_server.host, "SMTP_PORT": smtp_server.port}


def paid_monthly(sandbox, amount=1000, currency="USD", email="monthly@example.org") -> Gift:
    """A monthly gift paid on the sandbox page, its webhooks applied."""
    gift = make_checkout("monthly", amount, currency, email=email)
    assert sandbox.pay(gift.stripe_checkout_session_id, email=email, exp="04/30").ok
    return settled(sandbox, gift)


def paid_once(sandbox, amount=3000, email="once@example.org") -> Gift:
    gift = make_checkout("once", amount, email=email)
    assert sandbox.pay(gift.stripe_checkout_session_id, email=email).ok
    return settled(sandbox, gift)


def settled(sandbox, gift: Gift) -> Gift:
    sandbox.settle()
    db.session.expire_all()
    return db.session.get(Gift, gift.id)


def emails(template: str, gift: Gift | None = None) -> list[OutboxEmail]:
    query = sa.select(OutboxEmail).where(OutboxEmail.template == template)
    if gift is not None:
        query = query.where(OutboxEmail.gift_id == gift.id)
    return list(db.session.scalars(query.order_by(OutboxEmail.id)))


def context(email: OutboxEmail) -> dict:
    return json.loads(email.context)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def charges(gift: Gift) -> list[Payment]:
    query = sa.select(Payment).where(Payment.gift_id == gift.id, Payment.kind == PaymentKind.CHARGE)
    return list(db.session.scalars(query.order_by(Payment.created_at, Payment.id)))


def fail_renewal(sandbox, gift: Gift) -> dict:
    """The card now declines and the renewal fails; the open invoice."""
    sandbox.fail_next_renewal(gift.stripe_subscription_id)
    invoice = sandbox.renew(gift.stripe_subscription_id)
    assert invoice["status"] == "open"
    return invoice


def save_card_from_link(client, sandbox, url: str, card="4242424242424242", exp="03/31"):
    """Follow an "update your card" link: our page, Stripe's page, and back."""
    page = client.get(path_of(url))
    assert page.status_code == 200
    assert "Update your card" in page.get_data(as_text=True)
    opened = client.post(path_of(url), data=form_fields_from(page.get_data(as_text=True)))
    assert opened.status_code == 303
    session_id = opened.headers["Location"].rstrip("/").split("/")[-1]
    session = sandbox_get(sandbox, f"/v1/checkout/sessions/{session_id}")
    assert session["mode"] == "setup"
    paid = sandbox.pay(session_id, card=card, exp=exp)
    return session, paid


def returned(client, session: dict):
    """The page the donor comes back to from Stripe's setup page."""
    success = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
    return client.get(path_of(success))


def test_a_new_card_after_a_failed_renewal_pays_the_open_invoice(
    app, client, sandbox, registered_webhook, smtp_server
):
    gift = paid_monthly(sandbox)
    invoice = fail_renewal(sandbox, gift)
    gift = settled(sandbox, gift)

    assert gift.status == GiftStatus.PAST_DUE
    [failure] = db.session.scalars(sa.select(RenewalFailure))
    assert (failure.gift_id, failure.stripe_invoice_id, failure.attempt) == (
        gift.id,
        invoice["id"],
        1,
    )
    assert failure.next_attempt_at is not None
    [dunning] = emails("renewal_failed", gift)
    run_pending()
    [sent] = [m for m in smtp_server.messages if "renew" in m["Subject"].lower()]
    body = sent.get_body(("plain",)).get_content()
    assert context(dunning)["update_card_url"] in body
    assert context(dunning)["next_attempt_date"] is not None

    session, paid = save_card_from_link(client, sandbox, context(dunning)["update_card_url"])
    assert paid.ok
    page = returned(client, session).get_data(as_text=True)
    gift = settled(sandbox, gift)

    assert "We collected your payment of" in page and "$10.00" in page
    assert gift.status == GiftStatus.ACTIVE
    assert (gift.card_last4, gift.card_exp_month, gift.card_exp_year) == ("4242", 3, 2031)
    first, recovered = charges(gift)
    assert (recovered.stripe_id, recovered.amount, recovered.recovered) == (
        invoice["id"],
        1000,
        True,
    )
    assert not first.recovered
    assert len(emails("receipt", gift)) == 2
    assert sandbox_get(sandbox, f"/v1/invoices/{invoice['id']}")["status"] == "paid"
    [audit] = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == AuditAction.UPDATE_CARD)
    )
    assert (audit.actor_kind, audit.donor_id) == (ActorKind.DONOR, gift.donor_id)


def test_a_declined_card_on_the_setup_page_changes_nothing(
    app, client, sandbox, registered_webhook
):
    gift = paid_monthly(sandbox)
    before = (gift.card_last4, gift.card_exp_month, gift.card_exp_year, gift.status)
    url = links.update_card_url(gift)

    session, paid = save_card_from_link(client, sandbox, url, card="4000000000000002")
    gift = settled(sandbox, gift)

    assert "Your card was declined." in paid.text
    assert sandbox_get(sandbox, f"/v1/checkout/sessions/{session['id']}")["status"] == "open"
    assert (gift.card_last4, gift.card_exp_month, gift.card_exp_year, gift.status) == before
    assert not db.session.scalars(sa.select(AuditLog)).all()


def test_a_late_failed_invoice_does_not_unpay_an_active_gift(
    app, client, sandbox, registered_webhook
):
    """The failure's event is delivered again after the donor's new card paid it: the gift
    follows the subscription (active) and no second dunning email goes out."""
    gift = paid_monthly(sandbox)
    invoice = fail_renewal(sandbox, gift)
    gift = settled(sandbox, gift)
    session, _ = save_card_from_link(client, sandbox, links.update_card_url(gift))
    gift = settled(sandbox, gift)
    assert gift.status == GiftStatus.ACTIVE
    failed_event = next(
        e
        for e in sandbox_get(sandbox, "/v1/events", limit=100)["data"]
        if e["type"] == "invoice.payment_failed" and e["data"]["object"]["id"] == invoice["id"]
    )
    from tests.helpers_events import post_event

    failed_event["id"] += "_late"
    assert post_event(client, failed_event).status_code == 200
    db.session.expire_all()

    assert db.session.get(Gift, gift.id).status == GiftStatus.ACTIVE
    assert len(emails("renewal_failed", gift)) == 1
    assert emails("renewal_failed_again", gift) == []


def test_two_failures_then_stripe_gives_up_end_the_gift_for_non_payment(
    app, client, sandbox, registered_webhook
):
    gift = paid_monthly(sandbox)
    invoice = fail_renewal(sandbox, gift)
    sandbox.settle()
    sandbox.retry_invoice(invoice["id"])
    gift = settled(sandbox, gift)

    assert [f.attempt for f in gift.renewal_failures] == [1, 2]
    assert [len(emails(t, gift)) for t in ("renewal_failed", "renewal_failed_again")] == [1, 1]

    sandbox.give_up(gift.stripe_subscription_id)
    gift = settled(sandbox, gift)

    assert gift.status == GiftStatus.LAPSED and gift.cancelled_at is not None
    [stopped] = emails("support_stopped", gift)
    assert emails("gift_cancelled", gift) == []
    [audit] = db.session.scalars(sa.select(AuditLog).where(AuditLog.gift_id == gift.id))
    assert (audit.action, audit.actor_kind) == (AuditAction.LAPSE, ActorKind.STRIPE)

    restart = client.get(path_of(context(stopped)["restart_url"]))
    page = restart.get_data(as_text=True)
    assert restart.status_code == 200 and "$10.00 per month" in page
    started = client.post(path_of(context(stopped)["restart_url"]), data=form_fields_from(page))
    assert started.status_code == 303
    new_gift = db.session.scalar(sa.select(Gift).where(Gift.source == "restart"))
    assert (new_gift.amount, new_gift.frequency, new_gift.donor_id) == (
        1000,
        "monthly",
        gift.donor_id,
    )
    assert (
        started.headers["Location"]
        == sandbox_get(sandbox, f"/v1/checkout/sessions/{new_gift.stripe_checkout_session_id}")[
            "url"
        ]
    )


def manage(client, gift: Gift, path: str = "", **data):
    """GET or (with data) POST a /manage page of the gift's donor, CSRF token included."""
    base = f"/manage/{links.token(links.MANAGE, gift.donor)}"
    url = f"{base}/gifts/{gift.id}/{path}" if path else base
    if not data:
        return client.get(url)
    form_page = client.get(url if path not in ("resume", "card") else base)
    data |= form_fields_from(form_page.get_data(as_text=True))
    return client.post(url, data=data)


def test_a_changed_amount_is_charged_from_the_next_renewal(
    app, client, sandbox, registered_webhook
):
    gift = paid_monthly(sandbox, amount=1000)

    response = manage(client, gift, "amount", amount="15.50", currency="USD")
    again = manage(client, gift, "amount", amount="15.50", currency="USD")
    gift = settled(sandbox, gift)

    assert response.status_code == 303 and again.status_code == 303
    assert gift.amount == 1550
    assert "$15.50 per month" in manage(client, gift).get_data(as_text=True)
    [changed] = emails("gift_changed", gift)
    assert context(changed)["old_amount"] == 1000
    invoice = sandbox.renew(gift.stripe_subscription_id)
    gift = settled(sandbox, gift)
    assert invoice["amount_paid"] == 1550
    assert [c.amount for c in charges(gift)] == [1000, 1550]
    renewal_receipt = emails("receipt", gift)[-1]
    assert context(renewal_receipt)["amount"] == 1550


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("1", "USD", "The smallest gift is $2.00."),
        ("20000", "USD", "The largest gift is $10,000.00."),
        ("ten", "USD", "Enter an amount such as 10 or 7.50."),
        ("15", "EUR", "its amount can change, not its currency"),
    ],
)
def test_a_bad_amount_is_refused_and_changes_nothing(
    app, client, sandbox, typed, currency, message
):
    gift = paid_monthly_without_webhooks(sandbox)

    response = manage(client, gift, "amount", amount=typed, currency=currency)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Gift, gift.id).amount == 1000


def paid_monthly_without_webhooks(sandbox) -> Gift:
    """A paid monthly gift recorded by the ledger directly (no live server needed)."""
    from donations import ledger
    from donations.payments import gateway

    gift = make_checkout("monthly", 1000, "USD", email="quiet@example.org")
    assert sandbox.pay(gift.stripe_checkout_session_id, email="quiet@example.org").ok
    ledger.apply_checkout_session(
        gateway().retrieve_checkout_session(gift.stripe_checkout_session_id)
    )
    db.session.commit()
    return db.session.get(Gift, gift.id)


def test_a_paused_gift_skips_renewals_until_its_resume_date(
    app, client, sandbox, registered_webhook
):
    gift = paid_monthly(sandbox)
    period_end = gift.current_period_end

    assert manage(client, gift, "pause", renewals="2").status_code == 303
    refused = manage(client, gift, "pause", renewals="1")
    gift = settled(sandbox, gift)

    assert gift.paused_until is not None and gift.paused_until > period_end + timedelta(days=28)
    assert "already paused" in client.get(refused.headers["Location"]).get_data(as_text=True)
    [paused] = emails("gift_paused", gift)
    assert context(paused)["skipped_renewals"] == 2
    skipped = [sandbox.renew(gift.stripe_subscription_id) for _ in range(2)]
    charged = sandbox.renew(gift.stripe_subscription_id)
    gift = settled(sandbox, gift)

    assert [i["status"] for i in skipped] == ["void", "void"]
    assert charged["status"] == "paid" and charged["amount_paid"] == 1000
    assert len(charges(gift)) == 2
    assert gift.paused_until is None and gift.status == GiftStatus.ACTIVE


def test_resuming_before_the_period_end_withdraws_the_cancellation(
    app, client, sandbox, registered_webhook
):
    gift = paid_monthly(sandbox)
    manage(client, gift, "cancel", when="period_end")
    gift = settled(sandbox, gift)
    assert gift.cancel_at_period_end

    response = manage(client, gift, "resume", confirm="1")
    gift = settled(sandbox, gift)

    assert response.status_code == 303
    assert not gift.cancel_at_period_end and gift.status == GiftStatus.ACTIVE
    assert not sandbox_get(sandbox, f"/v1/subscriptions/{gift.stripe_subscription_id}")[
        "cancel_at_period_end"
    ]
    [resumed] = emails("gift_resumed", gift)
    assert context(resumed)["was"] == "cancellation"
    actions = [a.action for a in db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id))]
    assert actions == [AuditAction.CANCEL_AT_PERIOD_END, AuditAction.RESUME]


@pytest.mark.parametrize("by", ["donor", "staff", "stripe"])
def test_each_cancellation_sends_one_email_and_names_who_acted(
    app, client, sandbox, registered_webhook, by
):
    from donations.payments import gateway
    from tests.factories import make_staff, sign_in

    gift = paid_monthly(sandbox)
    if by == "donor":
        manage(client, gift, "cancel", when="now")
    elif by == "staff":
        make_staff()
        db.session.commit()
        sign_in(client)
        page = client.get(f"/staff/gifts/{gift.id}/cancel").get_data(as_text=True)
        client.post(
            f"/staff/gifts/{gift.id}/cancel",
            data={"csrf_token": csrf_token_from(page), "when": "now", "confirmed": "yes"},
        )
    else:
        gateway().cancel_subscription(gift.stripe_subscription_id, at_period_end=False)
    gift = settled(sandbox, gift)

    assert gift.status == GiftStatus.CANCELLED
    [cancelled] = emails("gift_cancelled", gift)
    assert context(cancelled)["cancelled_by"] == by
    assert context(cancelled)["last_payment_amount"] == 1000
    [audit] = db.session.scalars(sa.select(AuditLog).where(AuditLog.gift_id == gift.id))
    assert audit.action == AuditAction.CANCEL and audit.actor_kind == by


def test_the_card_expiring_job_emails_once_per_card(
    app, client, sandbox, registered_webhook, runner
):
    gift = paid_monthly(sandbox)
    subscription = sandbox_get(sandbox, f"/v1/subscriptions/{gift.stripe_subscription_id}")
    soon = gift.current_period_end - timedelta(days=40)
    sandbox.set_card_expiry(subscription["default_payment_method"], soon.month, soon.year)
    gift.card_exp_month, gift.card_exp_year = soon.month, soon.year
    db.session.commit()

    outputs = [runner.invoke(args=["recurring", "card-expiring"]).output for _ in range(2)]

    assert outputs == ["1 card-expiry emails queued\n", "0 card-expiry emails queued\n"]
    [expiring] = emails("card_expiring", gift)
    assert context(expiring)["card_last4"] == "4242"
    assert "/manage/card/" in context(expiring)["update_card_url"]

    session, _ = save_card_from_link(
        client, sandbox, context(expiring)["update_card_url"], exp="05/33"
    )
    returned(client, session)
    assert runner.invoke(args=["recurring", "card-expiring"]).output.startswith("0 ")
    assert len(emails("card_expiring", gift)) == 1


def test_the_worker_runs_the_daily_job_once_a_day(app, sandbox):
    from donations.models import DailyRun
    from donations.worker import run_daily_jobs

    today = utcnow()
    for moment in (today, today + timedelta(hours=1), today + timedelta(days=1)):
        run_daily_jobs(moment)
    runs = db.session.scalars(sa.select(DailyRun).where(DailyRun.job == "card_expiring"))
    assert sorted(run.day for run in runs) == [today.date(), (today + timedelta(days=1)).date()]


def test_make_it_monthly_starts_a_linked_monthly_gift(app, client, sandbox, registered_webhook):
    once = paid_once(sandbox, amount=3000)
    thanks = client.get(f"/thanks?session_id={once.stripe_checkout_session_id}")
    page = thanks.get_data(as_text=True)
    assert "Make it monthly?" in page and "$10.00 a month" in page

    response = client.post(
        "/thanks/monthly",
        data=form_fields_from(page) | {"session_id": once.stripe_checkout_session_id},
    )

    assert response.status_code == 303
    monthly = db.session.scalar(sa.select(Gift).where(Gift.upsell_of_gift_id == once.id))
    assert (monthly.frequency, monthly.amount, monthly.donor_id) == ("monthly", 1000, once.donor_id)
    assert sandbox.pay(monthly.stripe_checkout_session_id, email=once.donor.email).ok
    monthly = settled(sandbox, monthly)
    assert monthly.status == GiftStatus.ACTIVE and monthly.source == "upsell"


def test_a_link_for_another_purpose_or_tampered_is_refused(app, client, sandbox):
    gift = paid_monthly_without_webhooks(sandbox)
    manage_token = links.token(links.MANAGE, gift.donor)

    for url in (
        f"/manage/card/{manage_token}",
        f"/manage/card/{links.token(links.UPDATE_CARD, gift.donor, gift)}x",
        f"/restart/{manage_token}",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert re.search("not valid", response.get_data(as_text=True)), url


def test_a_cancelled_or_one_time_gift_cannot_be_changed_or_paused(app, client, sandbox):
    from tests.factories import make_gift

    once = make_gift(frequency="once", status=GiftStatus.PAID)
    ended = make_gift(
        once.donor,
        1000,
        frequency="monthly",
        status=GiftStatus.CANCELLED,
        stripe_subscription_id="sub_ended",
    )
    db.session.commit()

    for gift, path, data in [
        (once, "amount", {"amount": "20", "currency": "USD"}),
        (ended, "amount", {"amount": "20", "currency": "USD"}),
        (ended, "pause", {"renewals": "1"}),
    ]:
        response = manage(client, gift, path, **data)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "you cannot" in page.lower() or "you can only" in page.lower(), (gift.id, path)
    db.session.expire_all()
    assert (db.session.get(Gift, ended.id).amount, db.session.get(Gift, once.id).amount) == (
        1000,
        once.amount,
    )
    assert emails("gift_changed") == [] and emails("gift_paused") == []


def test_a_double_click_on_pause_pauses_once_and_emails_once(
    app, client, sandbox, registered_webhook
):
    gift = paid_monthly(sandbox)
    base = f"/manage/{links.token(links.MANAGE, gift.donor)}/gifts/{gift.id}/pause"
    fields = form_fields_from(client.get(base).get_data(as_text=True)) | {"renewals": "1"}

    first, second = client.post(base, data=fields), client.post(base, data=fields)
    gift = settled(sandbox, gift)

    assert (first.status_code, second.status_code) == (303, 303)
    assert len(emails("gift_paused", gift)) == 1
    pauses = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == AuditAction.PAUSE))
    assert [a.actor_kind for a in pauses] == [ActorKind.DONOR]


def test_a_webhook_ahead_of_the_page_leaves_the_same_end_state(
    app, client, sandbox, registered_webhook
):
    """Stripe paused the gift (the page's answer was lost) and its webhook came first: the
    donor's retry finds the gift paused, and one email went out."""
    from donations.ledger.rules import pause_resumes_at
    from donations.payments import gateway

    gift = paid_monthly(sandbox)
    resumes_at = pause_resumes_at(gift.current_period_end, gift.frequency, 1)
    gateway().pause_subscription(
        gift.stripe_subscription_id, resumes_at=int(resumes_at.timestamp()), idempotency_key="lost"
    )
    gift = settled(sandbox, gift)

    retry = manage(client, gift, "pause", renewals="1")
    gift = settled(sandbox, gift)

    assert retry.status_code == 303
    assert gift.paused_until == resumes_at
    assert len(emails("gift_paused", gift)) == 1
