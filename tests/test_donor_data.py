"""A donor's own data: downloading everything held about their address, and erasing it,
from ``/manage`` (the erasure confirmed from an email) or by an admin from the donor page.

The end-to-end erasure runs against the sandbox, whose webhooks reach the live app, with
emails sent through the worker to a real SMTP server.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from donations import links, outbox
from donations.audit import STRIPE, record_audit
from donations.db import commit_or_rollback, db, utcnow
from donations.enums import (
    ActorKind,
    AuditAction,
    Frequency,
    GiftStatus,
    HandOffEvent,
    OutboxStatus,
    ReminderStatus,
    StaffRole,
    SubscriberStatus,
    TributeKind,
)
from donations.models import (
    AuditLog,
    Donor,
    Gift,
    HandOff,
    NewsletterSubscriber,
    OutboxEmail,
    Reminder,
    StripeEvent,
)
from donations.payments import gateway
from donations.privacy.services import purge
from donations.staff import dashboard
from donations.statements.queries import count_donors_who_gave
from donations.statements.services import year_bounds
from donations.worker import run_pending
from tests.factories import (
    csrf_token_from,
    form_fields_from,
    make_checkout,
    make_donor,
    make_gift,
    make_outbox_email,
    make_payment,
    make_reminder,
    make_staff,
    make_stripe_event,
    sign_in,
)
from tests.helpers_support import post_donation

ADA, BEA = "ada@example.org", "bea@example.org"
MONEY = ("gross", "refunds", "disputes", "received", "fees", "net", "fees_pending", "charges")


@pytest.fixture
def app_config(app_config, smtp_server):
    return app_config | {"SMTP_HOST": smtp_server.host, "SMTP_PORT": smtp_server.port}


def donor_with_everything(email: str, name: str, tribute: str, receipt: str) -> Donor:
    """A donor with a row in every table that can hold something about them."""
    donor = make_donor(email, name)
    gift = make_gift(
        donor,
        1500,
        frequency=Frequency.MONTHLY,
        status=GiftStatus.ACTIVE,
        tribute_kind=TributeKind.MEMORY,
        tribute_name=tribute,
        tribute_message=f"For {tribute}, always",
        tribute_notify_email=f"family-of-{email}",
        source_url=f"https://news.example/{name.split()[0].lower()}-read-this",
        card_brand="visa",
        card_last4="4242",
        card_exp_month=4,
        card_exp_year=2030,
    )
    charge = make_payment(gift, receipt_number=receipt)
    make_payment(gift, -500, refund_of=charge)
    make_reminder(email, status=ReminderStatus.SENT, source="https://news.example/article")
    make_outbox_email(gift, "receipt", sent="2025-01-01 12:05")
    make_stripe_event(gift_id=gift.id, payload=json.dumps({"customer_email": email}))
    subscriber = NewsletterSubscriber(
        email=email, status=SubscriberStatus.CONFIRMED, consent_text="Yes, send me the newsletter"
    )
    db.session.add(subscriber)
    db.session.flush()
    db.session.add(
        HandOff(
            event=HandOffEvent.SUBSCRIBED,
            payload=json.dumps({"email": email}),
            dedupe_key=f"subscribed:{subscriber.id}",
            subscriber_id=subscriber.id,
        )
    )
    record_audit(STRIPE, AuditAction.RESEND_RECEIPT, gift, detail=f"receipt sent again to {email}")
    db.session.flush()
    return donor


def manage_path(donor: Donor) -> str:
    return f"/manage/{links.token(links.MANAGE, donor)}"


def download(client, donor: Donor):
    page = client.get(manage_path(donor))
    return client.post(
        f"{manage_path(donor)}/data", data={"csrf_token": csrf_token_from(page.text)}
    )


# --- export ------------------------------------------------------------------------------


def test_the_download_holds_every_row_about_the_donor_and_nothing_about_another(app, client):
    ada = donor_with_everything(ADA, "Ada Reader", "Grandpa Joe", "2025-000001")
    donor_with_everything(BEA, "Bea Other", "Aunt May", "2025-000002")

    response = download(client, ada)

    assert response.status_code == 200
    today = utcnow().date().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="donor-data-{today}.json"'
    )
    data = json.loads(response.text)
    assert (data["donor"]["email"], data["donor"]["name"]) == (ADA, "Ada Reader")
    [gift] = data["gifts"]
    assert (gift["amount"], gift["currency"], gift["frequency"]) == (1500, "USD", "monthly")
    assert gift["card"] == {"brand": "visa", "last4": "4242", "exp_month": 4, "exp_year": 2030}
    assert gift["dedication"] == {
        "kind": "memory",
        "name": "Grandpa Joe",
        "message": "For Grandpa Joe, always",
        "notify_email": f"family-of-{ADA}",
    }
    assert [(p["kind"], p["amount"], p["receipt_number"]) for p in data["payments"]] == [
        ("charge", 1500, "2025-000001"),
        ("refund", -500, None),
    ]
    assert [r["came_from"] for r in data["reminders"]] == ["https://news.example/article"]
    assert data["newsletter"]["status"] == "confirmed"
    assert data["newsletter"]["told_our_email_service"][0]["event"] == "subscribed"
    assert [(e["email"], e["status"]) for e in data["emails"]] == [("receipt", "sent")]
    assert [e["type"] for e in data["payment_processor_messages"]] == ["checkout.session.completed"]
    assert [a["action"] for a in data["audit_trail"]] == ["resend_receipt"]
    for other in (BEA, "Bea Other", "Aunt May", "2025-000002", "bea-read-this"):
        assert other not in response.text
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == AuditAction.EXPORT))
    assert (entry.actor_kind, entry.donor_id) == (ActorKind.DONOR, ada.id)


def test_a_download_needs_the_pages_form(app, client):
    ada = make_donor(ADA)
    make_gift(ada)
    assert client.post(f"{manage_path(ada)}/data").status_code == 400
    assert client.post("/manage/not-a-token/data").status_code == 400


def test_admins_download_a_donors_data_and_viewers_cannot(app, client):
    ada = donor_with_everything(ADA, "Ada Reader", "Grandpa Joe", "2025-000001")
    make_staff()
    make_staff("viewer@example.org", role=StaffRole.VIEWER)
    db.session.commit()

    sign_in(client)
    page = client.get(f"/staff/donors/{ada.id}")
    assert "Download data (JSON)" in page.text and "Erase personal data" in page.text
    response = client.post(
        f"/staff/donors/{ada.id}/data.json", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert response.status_code == 200
    assert json.loads(response.text)["donor"]["email"] == ADA
    assert "attachment;" in response.headers["Content-Disposition"]
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == AuditAction.EXPORT))
    assert (entry.actor_kind, entry.donor_id) == (ActorKind.STAFF, ada.id)

    client.post("/staff/logout", data={"csrf_token": csrf_token_from(page.text)})
    sign_in(client, "viewer@example.org")
    page = client.get(f"/staff/donors/{ada.id}")
    assert "Download data (JSON)" not in page.text
    refused = client.post(
        f"/staff/donors/{ada.id}/data.json", data={"csrf_token": csrf_token_from(page.text)}
    )
    assert refused.status_code == 403
    assert client.get(f"/staff/donors/{ada.id}/erase").status_code == 403


def test_asking_for_a_link_answers_the_same_for_known_and_unknown_addresses(app, client):
    make_gift(make_donor(ADA))

    def ask(email: str) -> str:
        page = client.get("/manage")
        assert "download everything we hold about you" in page.text
        answer = client.post(
            "/manage", data={"csrf_token": csrf_token_from(page.text), "email": email}
        )
        assert answer.status_code == 200
        return answer.text.replace(email, "EMAIL")

    assert ask(ADA) == ask("stranger@example.org")
    assert [email.to for email in db.session.scalars(sa.select(OutboxEmail))] == [ADA]


# --- erasure, end to end -------------------------------------------------------------------


def paid(sandbox, frequency: str, email: str, name: str) -> Gift:
    """A gift paid on the sandbox's page (its webhooks still on their way)."""
    gift = make_checkout(frequency, 1000, email=email, name=name)
    assert sandbox.pay(gift.stripe_checkout_session_id, email=email, name=name, exp="04/30").ok
    return gift


def sandbox_get(sandbox, path: str) -> dict:
    response = requests.get(f"{sandbox.url}{path}", auth=(sandbox.api_key, ""), timeout=5)
    response.raise_for_status()
    return response.json()


def everywhere(*needles: str) -> list[tuple[str, str, str]]:
    """(table, column, needle) for each text column of each table holding a needle."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, sa.String | sa.Text):
                continue
            for needle in needles:
                query = sa.select(sa.func.count()).where(
                    sa.func.lower(sa.cast(column, sa.Text)).contains(needle.lower())
                )
                if db.session.scalar(query.select_from(table)):
                    found.append((table.name, column.name, needle))
    return found


def money_now() -> dict:
    db.session.expire_all()
    return {
        currency: {name: getattr(figures.periods["year"], name) for name in MONEY}
        for currency, figures in dashboard.payment_totals(utcnow()).items()
    }


def erase_link_from(smtp_server) -> str:
    [message] = [m for m in smtp_server.messages if "erase your data" in m["Subject"]]
    text = message.get_body(("plain",)).get_content()
    return re.search(r"/manage/erase/\S+", text).group(0)


def test_a_donor_erases_their_data_and_nothing_about_them_is_left(
    app, client, sandbox, registered_webhook, smtp_server
):
    monthly = paid(sandbox, "monthly", ADA, "Ada Lovelace")
    once = paid(sandbox, "once", ADA, "Ada Lovelace")
    other = paid(sandbox, "monthly", BEA, "Bea Other")
    sandbox.settle()
    db.session.expire_all()
    ada = db.session.get(Gift, monthly.id).donor
    make_reminder(ADA, status=ReminderStatus.SCHEDULED, source="https://news.example/ada")
    db.session.add(NewsletterSubscriber(email=ADA, status=SubscriberStatus.CONFIRMED))
    db.session.commit()
    run_pending()
    customers = {
        gift.id: sandbox_get(sandbox, f"/v1/checkout/sessions/{gift.stripe_checkout_session_id}")[
            "customer"
        ]
        for gift in (monthly, once, other)
    }
    before = money_now()
    assert everywhere(ADA, "Ada Lovelace")

    gifts_page = client.get(manage_path(ada))
    assert "Download my data" in gifts_page.text
    request_page = client.get(f"{manage_path(ada)}/erase")
    assert "$10.00 per month" in request_page.text  # the gift that stops
    sent = client.post(
        f"{manage_path(ada)}/erase", data={"csrf_token": csrf_token_from(request_page.text)}
    )
    assert "Check your email" in sent.text
    assert db.session.get(Donor, ada.id).erased_at is None  # nothing yet
    run_pending()
    link = erase_link_from(smtp_server)
    confirm_page = client.get(link)
    assert confirm_page.status_code == 200 and "Erase my data" in confirm_page.text
    erased = client.post(link, data=form_fields_from(confirm_page.text))

    assert erased.status_code == 200
    assert "Your data is erased" in erased.text
    sandbox.settle()
    db.session.expire_all()
    subscription = sandbox_get(sandbox, f"/v1/subscriptions/{monthly.stripe_subscription_id}")
    assert subscription["status"] == "canceled"
    for gift in (monthly, once):
        assert sandbox_get(sandbox, f"/v1/customers/{customers[gift.id]}")["deleted"] is True
    assert "deleted" not in sandbox_get(sandbox, f"/v1/customers/{customers[other.id]}")
    assert sandbox_get(sandbox, f"/v1/subscriptions/{other.stripe_subscription_id}")["status"] == (
        "active"
    )
    # Stripe's customer.deleted, sent after the erasure, carries the customer as it was ...
    late = {table for table, _column, _needle in everywhere(ADA, "Ada Lovelace")}
    assert late <= {"stripe_events"}
    # ... until the day's purge lets its body go
    with commit_or_rollback():
        purge(utcnow())
    assert everywhere(ADA, "Ada Lovelace") == []
    assert everywhere(BEA, "Bea Other")

    donor = db.session.get(Donor, ada.id)
    assert (donor.email, donor.name) == (f"erased-{ada.id}@invalid", "")
    assert donor.erased_at is not None
    assert db.session.get(Gift, monthly.id).status == GiftStatus.CANCELLED
    assert db.session.get(Gift, other.id).status == GiftStatus.ACTIVE
    assert money_now() == before
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == AuditAction.ERASE))
    assert (entry.actor_kind, entry.donor_id, entry.gift_id) == (ActorKind.DONOR, ada.id, None)
    assert customers[monthly.id] in entry.detail
    waiting = sa.select(OutboxEmail).where(OutboxEmail.status == OutboxStatus.PENDING)
    assert not [email.to for email in db.session.scalars(waiting) if email.to.endswith("@invalid")]


# --- erasure: the link, repeats, staff, Stripe's refusals ---------------------------------


def erasable(
    email: str = ADA, name: str = "Ada Reader", tribute: str = "Grandpa Joe", receipt: str = "1"
) -> Donor:
    """A donor with a paid one-time gift that has nothing at Stripe."""
    donor = make_donor(email, name)
    make_payment(make_gift(donor, tribute_name=tribute), receipt_number=f"2025-{receipt:0>6}")
    db.session.commit()
    return donor


def erase_path(donor: Donor) -> str:
    return urlsplit(links.erase_url(donor)).path


def confirm(client, path: str):
    return client.post(path, data=form_fields_from(client.get(path).text))


def snapshot() -> list:
    db.session.expire_all()
    rows = [
        (d.email, d.name, d.erased_at)
        for d in db.session.scalars(sa.select(Donor).order_by(Donor.id))
    ]
    return rows + [(a.action, a.detail) for a in db.session.scalars(sa.select(AuditLog))]


def test_a_replayed_erasure_link_changes_nothing_and_says_so(app, client):
    ada = erasable()
    path = erase_path(ada)
    fields = form_fields_from(client.get(path).text)
    assert "Your data is erased" in client.post(path, data=fields).text
    after = snapshot()

    posted_again = client.post(path, data=fields)
    opened_again = client.get(path)

    for response in (posted_again, opened_again):
        assert response.status_code == 410
        assert "Your data has been erased" in response.text
        assert "Nothing more was changed" in response.text
    assert client.get(manage_path(ada)).status_code == 410  # a link made before: no more
    assert snapshot() == after


def test_a_tampered_erasure_link_changes_nothing(app, client):
    ada = erasable()
    before = snapshot()
    path = erase_path(ada)

    response = confirm(client, path[:-3] + "abc")

    assert response.status_code == 400
    assert "This link is not valid" in response.text
    assert snapshot() == before
    assert "Erase my data" in client.get(path).text  # the genuine link still works


def test_a_manage_link_only_asks_for_an_erasure(app, client):
    ada = erasable()
    page = client.get(f"{manage_path(ada)}/erase")
    client.post(f"{manage_path(ada)}/erase", data={"csrf_token": csrf_token_from(page.text)})

    [email] = db.session.scalars(sa.select(OutboxEmail))
    assert (email.to, email.template) == (ADA, "erase_confirm")
    erase_url = urlsplit(json.loads(email.context)["erase_url"])
    assert erase_url.path.startswith("/manage/erase/") and erase_url.query == "lang=en"
    assert links.read(links.ERASE, erase_url.path.rsplit("/", 1)[1]) == (ada, None)
    assert db.session.get(Donor, ada.id).erased_at is None


def test_an_erased_address_gives_again_as_a_new_donor(app, client, sandbox):
    ada = erasable()
    confirm(client, erase_path(ada))

    post_donation(client, email=ADA, name="Ada Reader")

    donors = list(db.session.scalars(sa.select(Donor).order_by(Donor.id)))
    assert [d.email for d in donors] == [f"erased-{ada.id}@invalid", ADA]
    assert donors[1].erased_at is None
    assert db.session.scalar(sa.select(Gift).where(Gift.donor_id == donors[1].id)) is not None


def test_an_admin_erases_a_donor_once_however_often_they_confirm(app, client):
    ada = erasable()
    bea = erasable(BEA, "Bea Other", "Aunt May", "2")
    make_staff()
    db.session.commit()
    sign_in(client)

    page = client.get(f"/staff/donors/{ada.id}/erase")
    assert "cannot be undone" in page.text
    fields = form_fields_from(page.text) | {"confirmed": "yes"}
    first = client.post(f"/staff/donors/{ada.id}/erase", data=fields, follow_redirects=True)
    again = client.post(f"/staff/donors/{ada.id}/erase", data=fields, follow_redirects=True)

    assert "Personal data erased: 0 recurring gift(s) cancelled" in first.text
    assert "erased already. Nothing more was done." in again.text
    assert f"erased-{ada.id}@invalid" in again.text and "personal data erased" in again.text
    [entry] = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == AuditAction.ERASE))
    assert (entry.actor_kind, entry.donor_id) == (ActorKind.STAFF, ada.id)
    assert everywhere(ADA, "Ada Reader", "Grandpa Joe") == []
    assert db.session.get(Donor, bea.id).email == BEA


def test_erasure_leaves_every_other_trace_of_the_donor_tombstoned(app, client):
    ada = donor_with_everything(ADA, "Ada Reader", "Grandpa Joe", "2025-000001")
    donor_with_everything(BEA, "Bea Other", "Aunt May", "2025-000002")
    gift = ada.gifts[0]
    make_outbox_email(gift, "renewal_failed")  # still waiting to go out
    friend = make_donor("cy@example.org", "Cy Friend")
    make_gift(friend, tribute_kind=TributeKind.HONOUR, tribute_name="Ada", tribute_notify_email=ADA)
    db.session.commit()

    confirm(client, erase_path(ada))

    assert everywhere(ADA, "Ada Reader", "Grandpa Joe", "ada-read-this") == []
    assert {needle for _t, _c, needle in everywhere(BEA, "Bea Other", "Aunt May")} == {
        BEA,
        "Bea Other",
        "Aunt May",
    }
    gift = db.session.get(Gift, gift.id)
    assert (gift.amount, gift.card_last4, gift.tribute_kind) == (1500, None, TributeKind.MEMORY)
    assert [p.receipt_number for p in gift.payments] == ["2025-000001", None]
    emails = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.gift_id == gift.id))
    assert {(e.template, e.status, e.context) for e in emails} == {
        ("receipt", OutboxStatus.SENT, "{}"),
        ("renewal_failed", OutboxStatus.FAILED, "{}"),
    }
    subscribers = db.session.scalars(sa.select(NewsletterSubscriber).order_by("id"))
    subscriber, other = subscribers
    assert subscriber.email == f"erased-subscriber-{subscriber.id}@invalid"
    assert (subscriber.status, other.status) == (
        SubscriberStatus.UNSUBSCRIBED,
        SubscriberStatus.CONFIRMED,
    )
    reminder = db.session.scalar(sa.select(Reminder).order_by(Reminder.id))
    assert (reminder.email, reminder.source) == (f"erased-{ada.id}@invalid", "")
    handoffs = db.session.scalars(sa.select(HandOff).where(HandOff.payload == "{}"))
    assert [h.subscriber_id for h in handoffs] == [subscriber.id]
    events = db.session.scalars(sa.select(StripeEvent).where(StripeEvent.payload == "{}"))
    assert [e.gift_id for e in events] == [gift.id]


def test_stripe_out_of_reach_erases_nothing_and_says_so(app, client, sandbox):
    gift = make_checkout("once", 1000, email=ADA, name="Ada Reader")
    path = erase_path(gift.donor)
    page = client.get(path)
    requests.post(f"{sandbox.url}/_sandbox/fail_next", data={"count": 10}).raise_for_status()

    response = client.post(path, data=form_fields_from(page.text))

    requests.post(f"{sandbox.url}/_sandbox/fail_next", data={"count": 0}).raise_for_status()
    assert response.status_code == 503
    assert "nothing has been erased yet" in response.text
    db.session.expire_all()
    donor = db.session.get(Donor, gift.donor_id)
    assert (donor.email, donor.erased_at) == (ADA, None)
    assert "Your data is erased" in confirm(client, path).text  # trying again works


def test_the_privacy_page_says_how_to_download_or_erase_your_data(app, client):
    page = client.get("/privacy").text
    assert "download everything we hold about you" in page
    assert "You can erase it there too" in page
    assert 'href="/manage"' in page
    assert "reply to any email" not in page
    assert "30 days" in page  # the retention table still shows its days


def test_the_gateway_deletes_a_customer_once_and_then_finds_it_gone(app, sandbox):
    gift = make_checkout("monthly", 1000, email=ADA)
    assert sandbox.pay(gift.stripe_checkout_session_id).ok
    customer_id = gateway().retrieve_checkout_session(gift.stripe_checkout_session_id).customer_id

    assert gateway().delete_customer(customer_id, idempotency_key="erase-test-1") is True
    assert gateway().delete_customer(customer_id, idempotency_key="erase-test-2") is False
    assert sandbox_get(sandbox, f"/v1/customers/{customer_id}")["deleted"] is True


def test_nothing_more_is_emailed_to_an_erased_donor(app, client):

    ada = donor_with_everything(ADA, "Ada Reader", "Grandpa Joe", "2025-000001")
    donor_with_everything(BEA, "Bea Other", "Aunt May", "2025-000002")
    db.session.commit()
    year = year_bounds(ada.gifts[0].payments[0].created_at.year)
    assert count_donors_who_gave(*year) == 2

    confirm(client, erase_path(ada))

    erased = db.session.get(Donor, ada.id)
    assert outbox.enqueue(erased.email, "refund_notice", {}, dedupe_key="late-refund") is None
    assert count_donors_who_gave(*year) == 1  # no annual statement for a tombstone
