"""The emails of a recurring donor's life say what happened, what happens next and what the
donor can do, with readable dates and amounts, in both the text and the HTML part."""

from __future__ import annotations

import pytest

from donations.mail import render_email

PUBLIC_URL = "https://news.example.org"
MANAGE_URL = f"{PUBLIC_URL}/manage/manage-token"
CARD_URL = f"{PUBLIC_URL}/card/card-token"
RESTART_URL = f"{PUBLIC_URL}/restart/restart-token"

#: what every donor email carries about the gift, as the ledger queues it (plain JSON)
GIFT = {
    "donor_name": "Ann Example",
    "donor_email": "ann@example.org",
    "gift_id": 42,
    "frequency": "monthly",
    "gift_amount": 1000,
    "gift_currency": "USD",
    "next_payment_date": "2027-04-05",
    "card_brand": "visa",
    "card_last4": "4242",
    "manage_url": MANAGE_URL,
}
RENEWAL_FAILED = {
    "amount": 1000,
    "currency": "USD",
    "invoice_reference": "in_1Renewal",
    "update_card_url": CARD_URL,
    "next_attempt_date": "2027-03-08",
    "attempt": 1,
}
LAST_PAYMENT = {
    "last_payment_amount": 1000,
    "last_payment_currency": "USD",
    "last_payment_date": "2027-03-03",
}
NO_PAYMENT = dict.fromkeys(LAST_PAYMENT)
CANCELLED_NOW = {
    "at_period_end": False,
    "ends_on": None,
    "cancelled_by": "donor",
    "restart_url": RESTART_URL,
    **LAST_PAYMENT,
}
#: one realistic context per email
EMAILS = {
    "renewal_failed": RENEWAL_FAILED,
    "renewal_failed_again": RENEWAL_FAILED | {"attempt": 2, "next_attempt_date": "2027-03-13"},
    "support_stopped": LAST_PAYMENT | {"restart_url": RESTART_URL, "next_payment_date": None},
    "gift_cancelled": CANCELLED_NOW,
    "card_expiring": {
        "card_exp_month": 4,
        "card_exp_year": 2027,
        "update_card_url": CARD_URL,
        "next_payment_date": "2027-05-05",
    },
    "gift_changed": {"old_amount": 1000, "gift_amount": 1500},
    "gift_paused": {"resumes_on": "2027-06-06", "skipped_renewals": 2},
    "gift_resumed": {"was": "pause"},
}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PUBLIC_URL": PUBLIC_URL, "ORGANIZATION_NAME": "The Daily Example"}


def rendered(name: str, **context) -> tuple[str, str, str]:
    """The subject, text and HTML of email ``name`` for the gift context plus ``context``."""
    message = render_email(name, GIFT | context, to=GIFT["donor_email"])
    text, html = (part.get_payload(decode=True).decode() for part in message.get_payload())
    return str(message["Subject"]), text, html


@pytest.mark.parametrize("name", EMAILS)
def test_every_email_is_readable_on_a_phone_and_leads_back_to_the_gifts(app, name):
    subject, text, html = rendered(name, **EMAILS[name])

    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "max-width:560px" in html and "The Daily Example" in html
    assert text.startswith("Dear Ann Example,") and "Dear Ann Example," in html
    assert MANAGE_URL in text and f'href="{MANAGE_URL}"' in html
    assert f'href="{PUBLIC_URL}"' in html
    for part in (subject, text, html):
        assert "None" not in part and "{" not in part and "2027-" not in part


def test_the_first_failure_says_when_we_try_again_with_a_button_to_update_the_card(app):
    subject, text, html = rendered("renewal_failed", **RENEWAL_FAILED)

    assert subject == "Your monthly gift of $10.00 could not be renewed"
    for body in (text, html):
        assert "monthly gift of $10.00" in body and "Visa card ending 4242" in body
        assert "did not go through" in body and "8 March 2027" in body
        assert "in_1Renewal" in body
    assert CARD_URL in text
    assert f'href="{CARD_URL}"' in html and ">Update your card</a>" in html


def test_a_failure_stripe_will_not_retry_says_the_gift_stops_without_a_new_card(app):
    context = RENEWAL_FAILED | {"next_attempt_date": None, "card_brand": None, "card_last4": None}
    _, text, html = rendered("renewal_failed", **context | {"donor_name": None})

    for body in (text, html):
        assert "We will not try this payment again" in body and "it will stop" in body
        assert "from your card did not go through" in body and "Next try" not in body
    assert text.startswith("Hello,")


def test_the_second_failure_reads_differently_and_more_urgently(app):
    first_subject, first_text, _ = rendered("renewal_failed", **RENEWAL_FAILED)
    context = EMAILS["renewal_failed_again"]
    subject, text, html = rendered("renewal_failed_again", **context)

    assert subject == "We still could not renew your monthly gift" != first_subject
    for body in (text, html):
        assert "second time" in body and "tried twice" in body
        assert "13 March 2027" in body and "your gift will stop" in body
    assert "second time" not in first_text
    assert f'href="{CARD_URL}"' in html and ">Update your card</a>" in html


def test_the_second_failure_counts_later_attempts(app):
    context = EMAILS["renewal_failed_again"] | {"attempt": 4, "next_attempt_date": None}
    _, text, html = rendered("renewal_failed_again", **context)

    for body in (text, html):
        assert "tried 4 times" in body
        assert "Unless you update your card, your gift will stop" in body
        assert "Next try" not in body


def test_support_stopped_gives_the_last_payment_and_a_prefilled_restart(app):
    subject, text, html = rendered("support_stopped", **EMAILS["support_stopped"])

    assert subject == "Your monthly support has stopped"
    for body in (text, html):
        assert "your gift has now ended" in body
        assert "Your last payment was $10.00 on 3 March 2027." in body
        assert "already filled in" in body
    assert RESTART_URL in text
    assert f'href="{RESTART_URL}"' in html and ">Start again</a>" in html


def test_support_stopped_for_a_gift_never_paid_says_nothing_of_a_last_payment(app):
    context = NO_PAYMENT | {"restart_url": RESTART_URL, "frequency": "annual"}
    subject, text, html = rendered("support_stopped", **context)

    assert subject == "Your annual support has stopped"
    for body in (text, html):
        assert "last payment" not in body and "annual gift of $10.00" in body


def test_a_cancellation_takes_effect_now_and_offers_to_start_again(app):
    subject, text, html = rendered("gift_cancelled", **CANCELLED_NOW)

    assert subject == "Your monthly gift has been cancelled"
    for body in (text, html):
        assert "As you asked, we have cancelled your monthly gift of $10.00" in body
        assert (
            "No further payments will be taken. Your last payment was $10.00 on 3 March 2027."
            in body
        )
        assert "continues until" not in body
    assert RESTART_URL in text
    assert f'href="{RESTART_URL}"' in html and ">Start again</a>" in html


def test_a_cancellation_at_period_end_says_when_the_gift_stops(app):
    context = CANCELLED_NOW | {"at_period_end": True, "ends_on": "2027-04-05"}
    subject, text, html = rendered("gift_cancelled", **context)

    assert subject == "Your monthly gift will end on 5 April 2027"
    for body in (text, html):
        assert "Your gift continues until 5 April 2027 and will not renew." in body
        assert "keep your gift going from your gifts page before 5 April 2027" in body
        assert "Your last payment was $10.00 on 3 March 2027." in body
    assert RESTART_URL in text and f'href="{RESTART_URL}"' in html
    assert ">Keep my gift going</a>" in html


@pytest.mark.parametrize(
    ("cancelled_by", "wording"),
    [
        ("donor", "As you asked, we have cancelled your monthly gift"),
        (
            "staff",
            "Our team has cancelled your monthly gift of $10.00, "
            "at your request or as arranged with you.",
        ),
        ("stripe", "was cancelled by our payment processor, Stripe."),
        ("system", "Your monthly gift of $10.00 has been cancelled."),
    ],
)
def test_a_cancellation_says_who_cancelled_the_gift(app, cancelled_by, wording):
    _, text, html = rendered("gift_cancelled", **CANCELLED_NOW | {"cancelled_by": cancelled_by})

    assert wording in text and wording in html


def test_a_cancellation_of_a_gift_never_paid_says_nothing_of_a_last_payment(app):
    _, text, html = rendered("gift_cancelled", **CANCELLED_NOW | NO_PAYMENT)

    for body in (text, html):
        assert "No further payments will be taken." in body and "last payment" not in body


def test_card_expiring_names_the_card_its_expiry_and_the_next_payment(app):
    subject, text, html = rendered("card_expiring", **EMAILS["card_expiring"])

    assert subject == "Your Visa card ending 4242 expires before your next gift"
    sentence = (
        "Your Visa card ending 4242 expires at the end of {}04/2027{}, before your next "
        "monthly payment of $10.00 to The Daily Example on {}5 May 2027{}."
    )
    assert sentence.format("", "", "", "") in text
    assert sentence.format("<strong>", "</strong>", "<strong>", "</strong>") in html
    assert CARD_URL in text
    assert f'href="{CARD_URL}"' in html and ">Update your card</a>" in html


def test_an_amount_change_gives_the_new_and_old_amounts_from_the_next_payment(app):
    subject, text, html = rendered("gift_changed", **EMAILS["gift_changed"])

    assert subject == "Your monthly gift is now $15.00"
    assert (
        "From 5 April 2027 your monthly gift to The Daily Example will be $15.00 (was $10.00)."
        in text
    )
    assert "From 5 April 2027" in html and "<strong>$15.00</strong> (was $10.00)" in html


@pytest.mark.parametrize(
    ("skipped", "words"), [(1, "1 payment "), (2, "2 payments"), (3, "3 payments")]
)
def test_a_pause_counts_the_payments_it_skips_and_says_when_it_ends(app, skipped, words):
    context = {"resumes_on": "2027-06-06", "skipped_renewals": skipped}
    subject, text, html = rendered("gift_paused", **context)

    assert subject == "Your monthly gift is paused until 6 June 2027"
    assert f"we will skip {words}" in text
    assert f"we will skip <strong>{words.strip()}</strong>" in html
    for body in (text, html):
        assert "picks up again on" in body and "6 June 2027" in body


def test_resuming_a_paused_gift_gives_the_next_payment(app):
    subject, text, html = rendered("gift_resumed", was="pause")

    assert subject == "Your monthly gift is no longer paused"
    for body in (text, html):
        assert "is no longer paused" in body and "5 April 2027" in body
        assert "Your next payment of $10.00 will be on" in body


def test_resuming_a_cancelling_gift_says_it_will_no_longer_stop(app):
    subject, text, html = rendered("gift_resumed", was="cancellation")

    assert subject == "Your monthly gift will continue"
    for body in (text, html):
        assert "will continue; it will no longer stop at the end of the period." in body
        assert "5 April 2027" in body


def test_a_donors_name_is_escaped_in_html_and_kept_in_text(app):
    _, text, html = rendered("gift_resumed", was="pause", donor_name="Ann <O'Neil> & Co")

    assert text.startswith("Dear Ann <O'Neil> & Co,")
    assert "Dear Ann &lt;O&#39;Neil&gt; &amp; Co," in html and "<O'Neil>" not in html


def test_a_refund_notice_gives_its_dates_in_words(app):
    context = {
        "amount": 400,
        "currency": "USD",
        "date": "2027-03-10",
        "original_amount": 1000,
        "original_date": "2027-03-05",
        "partial": True,
    }
    _, text, html = rendered("refund_notice", **context)

    for body in (text, html):
        assert "of your $10.00 gift from 5 March 2027 (a partial refund)" in body
        assert "10 March 2027" in body and "2027-" not in body
