"""The newsletter: double opt-in by email, one-click unsubscribe, consent kept, signed
hand-offs to the newsroom's email service (received by a real HTTP server), and the staff
list with its export."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from donations import worker
from donations.db import commit_or_rollback, db, utcnow
from donations.enums import HandOffEvent, OutboxStatus, StaffRole, SubscriberStatus
from donations.models import HandOff, NewsletterSubscriber, OutboxEmail
from donations.newsletter import handoffs, services
from tests.factories import make_staff, sign_in
from tests.fixtures.http_receiver import HttpReceiver

PUBLIC_URL = "https://news.example.org"
SECRET = "whsec_newsletter_test"
CONSENT = "Send me the weekly newsletter."


@pytest.fixture
def app_config(app_config, smtp_server):
    return {
        **app_config,
        "SMTP_PORT": smtp_server.port,
        "PUBLIC_URL": PUBLIC_URL,
        "NEWSLETTER_RATE_LIMIT": "100 per minute",
        "NEWSLETTER_HANDOFF_SECRET": SECRET,
    }


@pytest.fixture
def receiver(app):
    """The newsroom's email service: a real HTTP server the hand-offs are POSTed to."""
    with HttpReceiver() as server:
        app.config["NEWSLETTER_HANDOFF_URL"] = server.url
        yield server


def sign_up(client, email="Reader@Example.org", source="appeal", lang="en"):
    return client.post(f"/newsletter?lang={lang}", data={"email": email, "source": source})


def subscribers() -> list[NewsletterSubscriber]:
    return list(
        db.session.scalars(sa.select(NewsletterSubscriber).order_by(NewsletterSubscriber.id))
    )


def confirmation_emails() -> list[OutboxEmail]:
    query = sa.select(OutboxEmail).where(OutboxEmail.template == services.CONFIRM_TEMPLATE)
    return list(db.session.scalars(query))


def all_handoffs() -> list[HandOff]:
    return list(db.session.scalars(sa.select(HandOff).order_by(HandOff.id)))


def path_of(url: str) -> str:
    return url.removeprefix(PUBLIC_URL)


def requested(email="reader@example.org", now=None) -> NewsletterSubscriber:
    """A sign-up as the form records it (committed)."""
    with commit_or_rollback():
        return services.request_subscription(
            email, locale="en", source="appeal", consent_text=CONSENT, now=now
        )


def confirmed(email="reader@example.org", now=None) -> NewsletterSubscriber:
    subscriber = requested(email, now)
    with commit_or_rollback():
        services.confirm(subscriber, now or utcnow())
    return subscriber


def verify(request) -> bool:
    """Check a received hand-off's signature as the README tells the newsroom to."""
    parts = dict(part.split("=", 1) for part in request.headers["X-Signature"].split(","))
    signed = parts["t"].encode() + b"." + request.body
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


# --- double opt-in -----------------------------------------------------------------------


def test_nothing_is_subscribed_until_the_emailed_link_is_confirmed(app, client, smtp_server):
    response = sign_up(client)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Check your email" in page and "reader@example.org" in page

    [subscriber] = subscribers()
    assert subscriber.status == SubscriberStatus.PENDING
    assert (subscriber.email, subscriber.source, subscriber.locale) == (
        "reader@example.org",
        "appeal",
        "en",
    )
    assert subscriber.consent_text == services.consent_text()
    assert "unsubscribe at any time" in subscriber.consent_text

    worker.run_pending(now=utcnow())
    [message] = smtp_server.messages
    assert message["To"] == "reader@example.org"
    assert "Confirm your subscription" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    confirm_link = re.search(r"https://\S+/newsletter/confirm/\S+", text).group(0)
    assert confirm_link in html.replace("&amp;", "&")
    assert 'name="viewport"' in html

    opened = client.get(path_of(confirm_link))
    assert opened.status_code == 200
    assert "Yes, subscribe me" in opened.get_data(as_text=True)
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.PENDING  # a mail scanner's GET subscribes nobody

    done = client.post(path_of(confirm_link))
    assert done.status_code == 200
    assert "You are subscribed" in done.get_data(as_text=True)
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.CONFIRMED
    assert subscriber.confirmed_at is not None


def test_the_confirmation_email_offers_one_click_unsubscribe(app, client, smtp_server):
    sign_up(client)
    worker.run_pending(now=utcnow())
    [message] = smtp_server.messages
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{PUBLIC_URL}/newsletter/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in message.get_body(("plain",)).get_content()

    assert client.post(path_of(link), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    [subscriber] = subscribers()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED


def test_the_sign_up_form_works_without_a_session_as_from_the_appeal_iframe(client):
    page = client.get("/newsletter?source=appeal").get_data(as_text=True)
    assert 'name="source" value="appeal"' in page and 'target="_top"' in page
    assert services.consent_text() in page
    assert 'action="/newsletter?lang=en"' in page

    response = client.post("/newsletter", data={"email": "reader@example.org", "source": "appeal"})
    assert response.status_code == 302  # no CSRF token, no cookie: still accepted


def test_signing_up_again_keeps_one_subscriber_and_sends_one_email_a_day(client):
    for email in ("reader@example.org", "READER@example.org", " Reader@Example.org "):
        assert sign_up(client, email=email).status_code == 302
    assert len(subscribers()) == 1
    assert len(confirmation_emails()) == 1

    [subscriber] = subscribers()
    first_sent = subscriber.confirmation_sent_at
    requested(now=utcnow() + timedelta(days=1))
    assert len(confirmation_emails()) == 2
    db.session.refresh(subscriber)
    assert subscriber.confirmation_sent_at > first_sent


def test_a_repeated_sign_up_that_sends_nothing_changes_the_consent_record_not(client):
    sign_up(client, source="appeal", lang="en")
    sign_up(client, source="support", lang="ru")
    [subscriber] = subscribers()
    assert (subscriber.source, subscriber.locale) == ("appeal", "en")


def test_a_confirmed_reader_signing_up_again_gets_the_same_page_and_no_email(client):
    subscriber = confirmed()
    before = subscriber.confirmed_at
    response = sign_up(client)
    assert response.status_code == 302
    assert "Check your email" in client.get("/newsletter/sent").get_data(as_text=True)
    assert len(confirmation_emails()) == 1
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.CONFIRMED and subscriber.confirmed_at == before


def test_an_unsubscribed_reader_can_sign_up_again_the_same_day(client):
    subscriber = confirmed()
    with commit_or_rollback():
        services.unsubscribe(subscriber, utcnow())
    sign_up(client)
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.PENDING
    assert len(confirmation_emails()) == 2


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter your email address."),
        ("not-an-email", "Enter a valid email address"),
        ("reader@example", "Enter a valid email address"),
        ("a" * 250 + "@example.org", "That email address is too long."),
    ],
    ids=["empty", "no-at", "no-dot", "too-long"],
)
def test_a_bad_email_is_explained_and_nothing_is_stored(client, email, message):
    response = sign_up(client, email=email)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert subscribers() == [] and confirmation_emails() == []


def test_the_service_refuses_a_bad_email_before_storing_anything(app):
    with pytest.raises(services.InvalidEmail, match="valid email address"):
        services.request_subscription("nobody", locale="en", source="support", consent_text=CONSENT)
    assert subscribers() == []


def test_sign_ups_are_rate_limited_per_address(app, client):
    app.config["NEWSLETTER_RATE_LIMIT"] = "2 per minute"
    codes = [sign_up(client, email=f"r{n}@example.org").status_code for n in range(3)]
    assert codes == [302, 302, 429]


@pytest.mark.postgres
@pytest.mark.committing
def test_two_sign_ups_at_the_same_moment_make_one_subscriber_and_one_email(app):
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def sign_up_in_thread() -> None:
        try:
            with app.app_context():
                start.wait()
                requested()
                db.session.remove()
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=sign_up_in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(subscribers()) == 1 and len(confirmation_emails()) == 1


# --- links -------------------------------------------------------------------------------


def test_an_expired_confirm_link_is_refused_and_changes_nothing(app, client):
    subscriber = requested()
    old = utcnow() - timedelta(seconds=app.config["NEWSLETTER_LINK_MAX_AGE"] + 60)
    path = f"/newsletter/confirm/{services.confirm_token(subscriber, old)}"
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert "This confirmation link has expired" in response.get_data(as_text=True)
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.PENDING and subscriber.confirmed_at is None


@pytest.mark.parametrize("kind", ["confirm", "unsubscribe"])
def test_a_tampered_link_is_refused_and_changes_nothing(app, client, kind):
    subscriber = requested()
    token = (
        services.confirm_token(subscriber)
        if kind == "confirm"
        else services.unsubscribe_token(subscriber)
    )
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.post(f"/newsletter/{kind}/{forged}")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.PENDING


def test_a_link_to_an_address_no_longer_held_is_refused(app, client):
    subscriber = requested()
    path = f"/newsletter/unsubscribe/{services.unsubscribe_token(subscriber)}"
    subscriber.email = "erased-1@invalid"
    db.session.flush()
    response = client.post(path)
    assert response.status_code == 400
    assert "could not find this subscription" in response.get_data(as_text=True)


def test_an_unsubscribe_link_never_expires(app, client):
    subscriber = confirmed(now=utcnow() - timedelta(days=900))
    path = f"/newsletter/unsubscribe/{services.unsubscribe_token(subscriber)}"
    page = client.get(path)
    assert page.status_code == 200 and "Unsubscribe from the newsletter?" in page.get_data(
        as_text=True
    )
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.CONFIRMED  # opening the page changes nothing


def test_one_click_unsubscribe_needs_no_csrf_token_and_is_idempotent(app, client):
    subscriber = confirmed()
    path = f"/newsletter/unsubscribe/{services.unsubscribe_token(subscriber)}"
    first = client.post(path, data={"List-Unsubscribe": "One-Click"})
    second = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert (first.status_code, second.status_code) == (200, 200)
    assert "You are unsubscribed" in first.get_data(as_text=True)
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert "already unsubscribed" in client.get(path).get_data(as_text=True)


def test_an_old_confirm_link_does_not_resubscribe_someone_who_left(app, client):
    subscriber = confirmed()
    path = f"/newsletter/confirm/{services.confirm_token(subscriber)}"
    with commit_or_rollback():
        services.unsubscribe(subscriber, utcnow())
    page = client.post(path).get_data(as_text=True)
    assert "You unsubscribed from the newsletter" in page
    db.session.refresh(subscriber)
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED


# --- hand-offs ---------------------------------------------------------------------------


def test_no_hand_off_is_queued_without_an_email_service(app):
    confirmed()
    assert all_handoffs() == []
    assert handoffs.deliver_handoffs()["claimed"] == 0


def test_a_confirmation_is_handed_off_signed_to_the_email_service(app, client, receiver):
    subscriber = confirmed()
    path = f"/newsletter/confirm/{services.confirm_token(subscriber)}"
    client.post(path)  # confirming twice hands off once
    [handoff] = all_handoffs()

    result = handoffs.deliver_handoffs()
    assert result["sent"] == 1
    [request] = receiver.requests
    assert request.method == "POST" and request.headers["Content-Type"] == "application/json"
    assert verify(request)
    body = request.json()
    assert body == {
        "event": "subscribed",
        "email": "reader@example.org",
        "language": "en",
        "source": "appeal",
        "consented_at": subscriber.confirmed_at.isoformat(),
        "consent_text": CONSENT,
        "occurred_at": subscriber.confirmed_at.isoformat(),
        "id": handoff.id,
    }
    db.session.refresh(handoff)
    assert handoff.status == OutboxStatus.SENT and handoff.sent_at is not None
    assert handoffs.deliver_handoffs()["claimed"] == 0


def test_a_signature_made_with_another_secret_does_not_verify(app, receiver):
    confirmed()
    app.config["NEWSLETTER_HANDOFF_SECRET"] = "someone-else"
    handoffs.deliver_handoffs()
    [request] = receiver.requests
    assert not verify(request)


def test_a_refused_hand_off_is_retried_after_the_back_off(app, receiver):
    confirmed()
    receiver.answer(500)
    now = utcnow()
    first = handoffs.deliver_handoffs(now)
    assert (first["retrying"], first["sent"]) == (1, 0)
    [handoff] = all_handoffs()
    assert handoff.status == OutboxStatus.PENDING and handoff.attempts == 1
    assert handoff.last_error.startswith("HTTP 500")
    base = app.config["WORKER_RETRY_BASE"]
    assert handoff.next_attempt_at == now + timedelta(seconds=base)

    assert handoffs.deliver_handoffs(now + timedelta(seconds=base - 1))["claimed"] == 0
    assert handoffs.deliver_handoffs(now + timedelta(seconds=base))["sent"] == 1
    assert len(receiver.requests) == 2
    assert receiver.requests[0].json()["id"] == receiver.requests[1].json()["id"]
    db.session.refresh(handoff)
    assert (handoff.status, handoff.last_error) == (OutboxStatus.SENT, "")


def test_an_unsubscription_is_handed_off_after_the_subscription(app, receiver):
    subscriber = confirmed()
    with commit_or_rollback():
        services.unsubscribe(subscriber, utcnow())
    receiver.answer(503)
    now = utcnow()
    handoffs.deliver_handoffs(now)
    assert [r.json()["event"] for r in receiver.requests] == ["subscribed"]

    later = now + timedelta(hours=1)
    assert handoffs.deliver_handoffs(later)["sent"] == 1  # the subscription, at last
    assert handoffs.deliver_handoffs(later)["sent"] == 1  # then the unsubscription
    events = [r.json()["event"] for r in receiver.requests]
    assert events == ["subscribed", "subscribed", "unsubscribed"]
    assert all(verify(r) for r in receiver.requests)
    assert [h.event for h in all_handoffs()] == [HandOffEvent.SUBSCRIBED, HandOffEvent.UNSUBSCRIBED]


def test_an_unreachable_email_service_costs_one_attempt_not_one_per_hand_off(app):
    with HttpReceiver() as gone:
        url = gone.url
    app.config["NEWSLETTER_HANDOFF_URL"] = url
    confirmed("first@example.org")
    confirmed("second@example.org")
    result = handoffs.deliver_handoffs()
    assert (result["retrying"], result["released"]) == (1, 1)
    first, second = all_handoffs()
    assert first.last_error.startswith("Cannot reach the email service")
    assert (first.attempts, second.attempts) == (1, 0)
    assert second.status == OutboxStatus.PENDING
    assert second.last_error.startswith("Not tried yet: Cannot reach the email service")


def test_a_missing_secret_keeps_hand_offs_waiting(app, receiver):
    confirmed()
    app.config["NEWSLETTER_HANDOFF_SECRET"] = ""
    result = handoffs.deliver_handoffs()
    assert "NEWSLETTER_HANDOFF_SECRET" in result["error"] and result["claimed"] == 0
    assert receiver.requests == []


def test_a_hand_off_fails_after_the_last_attempt_and_staff_can_retry_it(app, client, receiver):
    app.config["WORKER_MAX_ATTEMPTS"] = 2
    confirmed()
    receiver.answer(500, 502)
    now = utcnow()
    handoffs.deliver_handoffs(now)
    result = handoffs.deliver_handoffs(now + timedelta(days=1))
    assert result["failed"] == 1
    [handoff] = all_handoffs()
    assert handoff.status == OutboxStatus.FAILED and handoff.last_error.startswith("HTTP 502")
    assert handoffs.deliver_handoffs(now + timedelta(days=30))["claimed"] == 0

    make_staff()
    sign_in(client)
    page = client.get("/staff/newsletter").get_data(as_text=True)
    assert "HTTP 502" in page and "reader@example.org" in page
    assert f"/staff/newsletter/handoffs/{handoff.id}/retry" in page

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    retried = client.post(
        f"/staff/newsletter/handoffs/{handoff.id}/retry",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "will be sent again" in retried.get_data(as_text=True)
    assert handoffs.deliver_handoffs()["sent"] == 1
    db.session.refresh(handoff)
    assert handoff.status == OutboxStatus.SENT


# --- staff -------------------------------------------------------------------------------


def test_staff_pages_need_a_staff_login(client):
    for path in ("/staff/newsletter", "/staff/newsletter.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_a_viewer_sees_the_list_but_cannot_retry_hand_offs(app, client):
    make_staff("viewer@example.org", role=StaffRole.VIEWER)
    sign_in(client, "viewer@example.org")
    assert client.get("/staff/newsletter").status_code == 200
    page = client.get("/staff/newsletter").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/staff/newsletter/handoffs/1/retry", data={"csrf_token": token})
    assert response.status_code == 403


def test_staff_see_subscribers_newest_first_with_counts_and_a_status_filter(app, client):
    now = utcnow()
    for number in range(3):
        requested(f"pending{number}@example.org", now=now - timedelta(hours=number))
    confirmed("confirmed@example.org")
    make_staff()
    sign_in(client)

    page = client.get("/staff/newsletter").get_data(as_text=True)
    assert page.index("confirmed@example.org") < page.index("pending0@example.org")
    assert page.index("pending0@example.org") < page.index("pending2@example.org")
    assert re.search(r"pending</span><strong>3</strong>", page)
    assert re.search(r"confirmed</span><strong>1</strong>", page)

    filtered = client.get("/staff/newsletter?status=confirmed").get_data(as_text=True)
    assert "confirmed@example.org" in filtered and "pending0@example.org" not in filtered
    searched = client.get("/staff/newsletter?q=pending1").get_data(as_text=True)
    assert "pending1@example.org" in searched and "pending2@example.org" not in searched
    assert client.get("/staff/newsletter?status=bogus").status_code == 400


def test_staff_pages_through_a_long_list(app, client):
    for number in range(53):
        requested(f"r{number:02d}@example.org")
    make_staff()
    sign_in(client)
    first = client.get("/staff/newsletter").get_data(as_text=True)
    assert "r52@example.org" in first and "r02@example.org" not in first
    cursor = re.search(r'cursor=([^"&]+)', first).group(1)
    second = client.get(f"/staff/newsletter?cursor={cursor}").get_data(as_text=True)
    assert "r02@example.org" in second and "r52@example.org" not in second


def test_the_csv_export_has_the_consent_record(app, client):
    confirmed("reader@example.org")
    requested("=cmd@example.org")
    make_staff()
    sign_in(client)
    response = client.get("/staff/newsletter.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["email"] for row in rows] == ["'=cmd@example.org", "reader@example.org"]
    reader = rows[1]
    assert reader["status"] == "confirmed" and reader["consent_text"] == CONSENT
    assert (reader["language"], reader["source"]) == ("en", "appeal")
    assert reader["confirmed_at"] and reader["signed_up_at"] and reader["unsubscribed_at"] == ""

    only = client.get("/staff/newsletter.csv?status=pending").get_data(as_text=True)
    assert "reader@example.org" not in only
