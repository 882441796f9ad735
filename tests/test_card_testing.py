"""The card-testing defence on starting a gift: limits per address, network, email and
domain, a ceiling of Checkout sessions, the alarm and its proof of work (ALTCHA or a
hosted captcha), the sweep that expires stale Checkout pages, and the staff dashboard.

Readers' addresses come from ``X-Forwarded-For`` behind one trusted proxy, as a web
server in front of the app would send them. Every limit is generous here unless a test
tightens it, and the alarm is read afresh on every request (no per-process cache).
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import altcha
import pytest
import requests
import sqlalchemy as sa

from donations import links
from donations.db import commit_or_rollback, db, utcnow
from donations.defence import queries
from donations.enums import BlockReason, Frequency, GiftStatus
from donations.giving.expiry import expire_stale_checkouts
from donations.models import BlockedAttempt, Gift, SpentChallenge
from donations.payments import gateway
from tests.factories import (
    form_fields_from,
    make_checkout,
    make_gift,
    make_staff,
    sign_in,
)
from tests.helpers_support import SAME_ORIGIN, read_session

GENEROUS = "1000 per minute"
TOO_MANY = "Too many attempts from your network. You have not been charged."
UNUSUAL = "We are seeing unusual activity. Please try again in a minute."
MIN_STARTS = 4


@pytest.fixture
def app_config(app_config):
    return {
        **app_config,
        "TRUSTED_PROXIES": 1,
        "START_RATE_LIMIT_IP": GENEROUS,
        "START_RATE_LIMIT_NETWORK": GENEROUS,
        "START_RATE_LIMIT_EMAIL": GENEROUS,
        "START_RATE_LIMIT_DOMAIN": GENEROUS,
        "START_SESSION_CEILING": GENEROUS,
        "ALARM_MIN_STARTS": MIN_STARTS,
        "ALTCHA_MAX_NUMBER": 2000,
    }


@pytest.fixture(autouse=True)
def _alarm_read_every_time(monkeypatch):
    monkeypatch.setattr(queries, "ALARM_CACHE_SECONDS", -1)


def start(client, address="203.0.113.10", email="reader@example.org", **fields):
    """Post the support form for a $10 gift from ``address``."""
    headers = {"X-Forwarded-For": address} | SAME_ORIGIN
    client.get("/", headers=headers)
    data = {
        "frequency": "once",
        "amount": "10",
        "currency": "USD",
        "email": email,
    }
    return client.post("/support", data=data | fields, headers=headers)


def started_gifts() -> int:
    return db.session.scalar(sa.select(sa.func.count(Gift.id)))


def blocked() -> list[BlockReason]:
    return list(db.session.scalars(sa.select(BlockedAttempt.reason).order_by(BlockedAttempt.id)))


def sound_alarm() -> None:
    """Recent starts that all went nowhere: the alarm is on."""
    for minutes in range(MIN_STARTS):
        make_gift(status=GiftStatus.ABANDONED, created=utcnow() - timedelta(minutes=minutes + 1))


def solution(client, address="198.51.100.7") -> str:
    """Fetch a challenge and solve it as the widget would (in Python)."""
    data = client.get("/challenge", headers={"X-Forwarded-For": address}).get_json()
    challenge = altcha.Challenge.from_dict(data)
    return altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()


LIMITS = {
    "ip": (
        "START_RATE_LIMIT_IP",
        ["203.0.113.5"] * 3,
        ["a@one.example.com", "b@two.example.com", "c@six.example.com"],
    ),
    "network": (
        "START_RATE_LIMIT_NETWORK",
        ["203.0.113.5", "203.0.113.6", "203.0.113.200"],
        ["a@one.example.com", "b@two.example.com", "c@six.example.com"],
    ),
    "network-ipv6": (
        "START_RATE_LIMIT_NETWORK",
        ["2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1:ffff::9"],
        ["a@one.example.com", "b@two.example.com", "c@six.example.com"],
    ),
    "email": (
        "START_RATE_LIMIT_EMAIL",
        ["203.0.113.5", "198.51.100.5", "192.0.2.5"],
        ["Reader@Example.org", "reader@example.org", "READER@EXAMPLE.ORG"],
    ),
    "domain": (
        "START_RATE_LIMIT_DOMAIN",
        ["203.0.113.5", "198.51.100.5", "192.0.2.5"],
        ["a@example.net", "b@example.net", "c@EXAMPLE.net"],
    ),
    "ceiling": (
        "START_SESSION_CEILING",
        ["203.0.113.5", "198.51.100.5", "192.0.2.5"],
        ["a@one.example.com", "b@two.example.com", "c@six.example.com"],
    ),
}


@pytest.mark.parametrize("limit", LIMITS, ids=list(LIMITS))
def test_each_limit_refuses_the_third_start_with_429_and_records_its_reason(
    app, client, sandbox, limit
):
    setting, addresses, emails = LIMITS[limit]
    app.config[setting] = "2 per minute"

    answers = [
        start(client, address, email) for address, email in zip(addresses, emails, strict=True)
    ]

    assert [answer.status_code for answer in answers] == [303, 303, 429]
    page = answers[2].get_data(as_text=True)
    assert TOO_MANY in page and emails[2] in page  # the form is kept
    assert "<altcha-widget" not in page  # no proof of work gets past a limit
    assert answers[2].headers["Retry-After"]
    assert blocked() == [BlockReason(limit.split("-")[0])]
    sessions = db.session.scalars(sa.select(Gift.stripe_checkout_session_id))
    assert started_gifts() == 2 and all(sessions)


def test_readers_of_one_mailbox_provider_are_not_counted_as_one_domain(app, client, sandbox):
    app.config["START_RATE_LIMIT_DOMAIN"] = "1 per minute"
    addresses = ["203.0.113.5", "198.51.100.5", "192.0.2.5"]

    answers = [
        start(client, address, f"reader{n}@gmail.com") for n, address in enumerate(addresses)
    ]

    assert [answer.status_code for answer in answers] == [303] * 3 and blocked() == []


def test_another_network_is_not_counted_with_the_first(app, client, sandbox):
    app.config["START_RATE_LIMIT_NETWORK"] = "1 per minute"
    addresses = ["203.0.113.5", "203.0.114.5", "2001:db8:1:1::1", "2001:db8:1:2::1"]

    answers = [start(client, address, f"r{n}@example.org") for n, address in enumerate(addresses)]

    assert [answer.status_code for answer in answers] == [303] * 4


def test_a_form_with_mistakes_spends_none_of_the_allowance(app, client, sandbox):
    app.config["START_RATE_LIMIT_IP"] = "1 per minute"

    mistakes = [start(client, amount="", other_amount="") for _ in range(3)]
    good = start(client)

    assert [answer.status_code for answer in mistakes] == [422] * 3
    assert good.status_code == 303 and blocked() == []


def test_a_restart_link_and_make_it_monthly_count_against_the_same_limits(app, client, sandbox):
    app.config["START_RATE_LIMIT_EMAIL"] = "1 per minute"
    stopped = make_gift(amount=1000, frequency=Frequency.MONTHLY, status=GiftStatus.CANCELLED)
    url = f"/restart/{links.token(links.RESTART, stopped.donor, stopped)}"
    fields = form_fields_from(client.get(url).get_data(as_text=True))

    first, second = (client.post(url, data=fields) for _ in range(2))

    assert (first.status_code, second.status_code) == (303, 429)
    assert TOO_MANY in second.get_data(as_text=True)
    assert blocked() == [BlockReason.EMAIL] and started_gifts() == 2


def test_the_alarm_counts_recent_starts_that_were_abandoned_failed_or_declined(app):
    now = utcnow()
    for status in (GiftStatus.ABANDONED, GiftStatus.FAILED, GiftStatus.PENDING):
        make_gift(status=status, created=now - timedelta(minutes=2))
    assert not queries.alarm(now).on  # three starts: fewer than ALARM_MIN_STARTS

    make_gift(status=GiftStatus.PAID, created=now - timedelta(minutes=1), declined_at=now)
    make_gift(status=GiftStatus.ABANDONED, created=now - timedelta(hours=2))  # outside
    alarm = queries.alarm(now)

    assert (alarm.on, alarm.started, alarm.went_nowhere, alarm.share) == (True, 4, 3, 0.75)


def test_the_alarm_stays_off_while_most_starts_are_paid(app):
    now = utcnow()
    for status in (GiftStatus.ABANDONED, GiftStatus.ABANDONED, GiftStatus.PAID, GiftStatus.PAID):
        make_gift(status=status, created=now - timedelta(minutes=1))

    assert not queries.alarm(now).on  # half, not more than ALARM_THRESHOLD (0.5)


def test_the_alarm_is_read_from_the_database_at_most_every_few_seconds(app, monkeypatch):
    monkeypatch.setattr(queries, "ALARM_CACHE_SECONDS", 60)
    assert not queries.current_alarm().on
    sound_alarm()
    assert not queries.current_alarm().on
    monkeypatch.setattr(queries, "ALARM_CACHE_SECONDS", -1)
    assert queries.current_alarm().on


def test_while_the_alarm_is_on_a_start_without_proof_gets_the_plain_message(app, client, sandbox):
    sound_alarm()

    answer = start(client, email="ada@example.org")

    page = answer.get_data(as_text=True)
    assert answer.status_code == 429 and UNUSUAL in page and "ada@example.org" in page
    assert "<altcha-widget" in page and 'src="/static/js/challenge.js"' in page
    assert "data-auto-continue" in page
    assert blocked() == [BlockReason.CHALLENGE] and started_gifts() == MIN_STARTS


def test_the_support_page_never_carries_the_challenge(app, client):
    sound_alarm()
    assert "altcha" not in client.get("/").get_data(as_text=True)


def test_a_solved_challenge_starts_the_gift_once_and_its_replay_is_refused(app, client, sandbox):
    sound_alarm()
    payload = solution(client)

    first = start(client, altcha=payload)
    replay = start(client, address="192.0.2.44", email="other@example.org", altcha=payload)

    assert first.status_code == 303 and first.headers["Location"].startswith(sandbox.url)
    assert replay.status_code == 429 and UNUSUAL in replay.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(SpentChallenge.id))) == 1
    assert blocked() == [BlockReason.CHALLENGE] and started_gifts() == MIN_STARTS + 1


def _forged(client, kind: str) -> str:
    key = "not-our-key" if kind == "other key" else "test-secret-key"
    expires = -60 if kind == "expired" else 300
    challenge = altcha.create_challenge(
        "SHA-256", 1, counter=7, expires_at=int(utcnow().timestamp()) + expires, hmac_secret=key
    )
    found = altcha.solve_challenge(challenge)
    if kind == "wrong answer":
        found = altcha.Solution(found.counter + 1, found.derived_key)
    if kind == "tampered":
        challenge.parameters.key_prefix = "00"
    payload = altcha.Payload(challenge, found).to_base64()
    if kind == "not base64":
        return "%%%" + payload
    if kind == "not json":
        return base64.b64encode(b"[1, 2").decode()
    if kind == "no expiry":
        data = json.loads(base64.b64decode(payload))
        del data["challenge"]["parameters"]["expiresAt"]
        return base64.b64encode(json.dumps(data).encode()).decode()
    return payload


FORGERIES = ["other key", "expired", "wrong answer", "tampered", "not base64", "not json"]


@pytest.mark.parametrize("kind", [*FORGERIES, "no expiry"])
def test_a_forged_or_broken_solution_is_refused(app, client, sandbox, kind):
    sound_alarm()

    answer = start(client, altcha=_forged(client, kind))

    assert answer.status_code == 429 and blocked() == [BlockReason.CHALLENGE]
    page = answer.get_data(as_text=True)  # the widget again, but no automatic loop
    assert "<altcha-widget" in page and "data-auto-continue" not in page
    assert db.session.scalar(sa.select(sa.func.count(SpentChallenge.id))) == 0


def test_the_challenge_endpoint_answers_a_signed_expiring_challenge(app, client):
    answer = client.get("/challenge")

    data = answer.get_json()
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert data["parameters"]["algorithm"] == "SHA-256" and data["signature"]
    assert data["parameters"]["expiresAt"] > utcnow().timestamp()


class CaptchaService:
    """A hosted captcha's verification endpoint on a real local port: ``solved-token``
    with the right secret is a success; every request it got is kept."""

    def __init__(self):
        self.requests: list[dict] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                fields = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                service.requests.append(fields)
                ok = fields == fields | {"secret": "captcha-secret", "response": "solved-token"}
                body = json.dumps({"success": ok}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/siteverify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def captcha(app):
    service = CaptchaService()
    app.config |= {
        "CAPTCHA_VERIFY_URL": service.url,
        "CAPTCHA_SECRET": "captcha-secret",
        "CAPTCHA_SITE_KEY": "site-key-1",
        "CAPTCHA_SCRIPT_URL": "https://captcha.example/api.js",
    }
    yield service
    service.close()


def test_a_hosted_captcha_replaces_altcha_during_the_alarm(app, client, sandbox, captcha):
    sound_alarm()

    asked = start(client)
    wrong = start(client, **{"h-captcha-response": "made-up"})
    solved = start(client, **{"cf-turnstile-response": "solved-token"})

    page = asked.get_data(as_text=True)
    assert asked.status_code == 429 and 'data-sitekey="site-key-1"' in page
    assert "https://captcha.example/api.js" in page and "<altcha-widget" not in page
    assert (wrong.status_code, solved.status_code) == (429, 303)
    assert [r["response"] for r in captcha.requests] == ["made-up", "solved-token"]
    assert captcha.requests[-1]["remoteip"] == "203.0.113.10"
    assert blocked() == [BlockReason.CHALLENGE] * 2


def test_an_unreachable_hosted_captcha_refuses_without_an_error(app, client, sandbox, captcha):
    sound_alarm()
    captcha.close()

    answer = start(client, **{"g-recaptcha-response": "solved-token"})

    assert answer.status_code == 429 and blocked() == [BlockReason.CHALLENGE]


def backdate(gift: Gift, minutes: int) -> None:
    with commit_or_rollback():
        db.session.get(Gift, gift.id).created_at = utcnow() - timedelta(minutes=minutes)


def test_the_sweep_expires_stale_checkouts_at_stripe_and_marks_them_abandoned(app, sandbox):
    stale, fresh = make_checkout(email="stale@example.org"), make_checkout()
    backdate(stale, 120)

    assert expire_stale_checkouts(utcnow()) == 1
    assert expire_stale_checkouts(utcnow()) == 0

    db.session.expire_all()
    assert (stale.status, fresh.status) == (GiftStatus.ABANDONED, GiftStatus.PENDING)
    assert read_session(sandbox, stale.stripe_checkout_session_id)["status"] == "expired"
    assert read_session(sandbox, fresh.stripe_checkout_session_id)["status"] == "open"


def test_the_sweep_records_a_paid_checkout_instead_of_abandoning_it(app, sandbox):
    paid = make_checkout(email="paid@example.org")
    assert sandbox.pay(paid.stripe_checkout_session_id, email="paid@example.org").ok
    backdate(paid, 120)

    assert expire_stale_checkouts(utcnow()) == 0

    db.session.expire_all()
    assert paid.status == GiftStatus.PAID and [p.amount for p in paid.payments] == [500]


def test_the_sweep_abandons_a_page_stripe_already_closed_and_a_page_never_opened(app, sandbox):
    closed = make_checkout()
    gateway().expire_checkout_session(closed.stripe_checkout_session_id)
    never_opened = make_gift(status=GiftStatus.PENDING, created=utcnow() - timedelta(hours=3))
    db.session.commit()
    backdate(closed, 120)

    assert expire_stale_checkouts(utcnow()) == 2

    db.session.expire_all()
    assert {closed.status, never_opened.status} == {GiftStatus.ABANDONED}


def test_the_expire_checkouts_command_reports_how_many(app, runner, sandbox):
    backdate(make_checkout(), 120)

    first = runner.invoke(args=["defence", "expire-checkouts"])
    second = runner.invoke(args=["defence", "expire-checkouts"])

    assert (first.exit_code, first.output) == (0, "1 pending gift marked abandoned\n")
    assert second.output == "0 pending gifts marked abandoned\n"


def test_the_dashboard_shows_the_alarm_and_the_starts_refused_in_24_hours(app, client):
    sound_alarm()
    now = utcnow()
    for reason, minutes in [("ip", 5), ("ip", 60), ("ceiling", 10), ("challenge", 2), ("ip", 2000)]:
        db.session.add(BlockedAttempt(reason=reason, created_at=now - timedelta(minutes=minutes)))
    make_staff()
    sign_in(client)

    page = client.get("/staff/").get_data(as_text=True)

    alarm = page.split('id="card-testing-alarm"')[1].split("</a>")[0]
    assert "On" in alarm and "100% of 4 started in 10 min" in alarm
    table = page.split('id="blocked-attempts"')[1].split("</table>")[0]
    rows = [cell.split("</td>")[0] for cell in table.split('<td class="num')[1:]]
    assert [row.rsplit(">", 1)[1] for row in rows] == ["2", "0", "0", "0", "1", "1", "4"]


def test_a_refusal_keeps_no_address_or_email(app):
    columns = {column.name for column in BlockedAttempt.__table__.columns}
    assert columns == {"id", "reason", "created_at"}


def test_a_card_testing_run_is_stopped_and_a_reader_still_gives(app, live_server, sandbox):
    """Bots start checkouts from many addresses and emails and try a declined card on each
    page they get. The network limit turns away every third bot of a /24; the pages
    nobody paid are swept two hours later, which turns the alarm on; the next wave, from
    fresh networks, gets no page at all, while a reader who solves the challenge gives."""
    app.config["START_RATE_LIMIT_NETWORK"] = "2 per minute"
    domains = ["mail.example.com", "post.example.com", "inbox.example.com"]

    def bot(network: int, host: int) -> requests.Response:
        visitor = requests.Session()
        visitor.headers["X-Forwarded-For"] = f"10.0.{network}.{host}"
        visitor.headers["Origin"] = live_server  # a bot writes what a browser would
        visitor.get(f"{live_server}/", timeout=30)
        data = {
            "frequency": "once",
            "amount": "2",
            "currency": "USD",
            "email": f"card{network}-{host}@{domains[host % 3]}",
        }
        answer = visitor.post(f"{live_server}/support", data=data, timeout=30)
        if answer.url.startswith(sandbox.url):
            assert sandbox.pay_via_form(answer.url, card="4000000000000002").status_code == 402
        return answer

    first_wave = [bot(network, host) for network in (1, 2) for host in (1, 2, 3)]
    db.session.remove()
    assert expire_stale_checkouts(utcnow() + timedelta(hours=2)) == 4
    second_wave = [bot(network, 9) for network in range(10, 22)]
    reader = requests.Session()
    reader.headers["X-Forwarded-For"] = "192.0.2.77"
    reader.headers["Origin"] = live_server
    challenge = altcha.Challenge.from_dict(reader.get(f"{live_server}/challenge").json())
    payload = altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()
    fields = {"frequency": "once", "amount": "25", "currency": "USD", "altcha": payload}
    fields |= {"email": "reader@example.org"}
    gave = reader.post(f"{live_server}/support", data=fields, timeout=30)

    bots = first_wave + second_wave
    assert all(answer.status_code < 500 for answer in bots)
    assert [answer.url.startswith(sandbox.url) for answer in first_wave] == [True, True, False] * 2
    assert [answer.status_code for answer in second_wave] == [429] * 12
    assert gave.status_code == 200 and gave.url.startswith(sandbox.url)
    db.session.remove()
    reasons = blocked()
    assert (reasons.count(BlockReason.NETWORK), reasons.count(BlockReason.CHALLENGE)) == (2, 12)
    assert len(reasons) == 14 and started_gifts() == 5


def test_a_hosted_captcha_is_the_only_third_party_the_policy_then_allows(app_config):
    from donations import create_app

    plain = create_app(app_config).test_client().get("/privacy")
    hosted = create_app(app_config | {"CAPTCHA_SCRIPT_URL": "https://captcha.example/api.js"})
    policy = hosted.test_client().get("/privacy").headers["Content-Security-Policy"]

    assert "captcha.example" not in plain.headers["Content-Security-Policy"]
    assert "script-src 'self' https://captcha.example;" in policy
    assert "frame-src https://captcha.example" in policy
