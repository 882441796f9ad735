"""Test card numbers and card-field checks for the hosted payment page.

The outcomes follow Stripe's documented test cards: 4242 4242 4242 4242 succeeds, the decline
cards answer Stripe's messages, 4000 0025 0000 3155 (and 4000 0027 6000 3184) ask for 3-D Secure.
4000 0000 0000 0341 can be saved (setup mode) but every charge on it is declined, so a payment
with it is declined at once. Any other well-formed number that passes the Luhn check succeeds.
A declined charge carries Stripe's ``outcome``: the bank's decline code as its ``reason``.
"""

import datetime
import re
from dataclasses import dataclass

GENERIC_DECLINE = ("Your card was declined.", "card_declined", "generic_decline")

DECLINES = {
    "4000000000000002": GENERIC_DECLINE,
    "4000000000000341": GENERIC_DECLINE,
    "4000000000009995": (
        "Your card has insufficient funds.",
        "card_declined",
        "insufficient_funds",
    ),
    "4000000000009987": ("Your card was declined.", "card_declined", "lost_card"),
    "4000000000009979": ("Your card was declined.", "card_declined", "stolen_card"),
    "4000000000000069": ("Your card has expired.", "expired_card", "expired_card"),
    "4000000000000127": (
        "Your card's security code is incorrect.",
        "incorrect_cvc",
        "incorrect_cvc",
    ),
    "4000000000000119": (
        "An error occurred while processing your card. Try again in a little bit.",
        "processing_error",
        "processing_error",
    ),
}

# Saving these cards succeeds; charging them is declined (Stripe: "attaching succeeds, charges
# fail").
DECLINED_AFTER_SAVING = {"4000000000000341"}

THREE_D_SECURE = {"4000002500003155", "4000002760003184", "4000003800000446"}

AUTHENTICATION_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again."
)


GENERIC_SELLER_MESSAGE = "The bank did not return any further details with this decline."


def declined_outcome(decline_code):
    """Stripe's ``outcome`` of a charge the card's bank declined for ``decline_code``."""
    seller_message = (
        GENERIC_SELLER_MESSAGE
        if decline_code == "generic_decline"
        else f"The bank returned the decline code `{decline_code}`."
    )
    return {
        "network_status": "declined_by_network",
        "reason": decline_code,
        "risk_level": "normal",
        "risk_score": 20,
        "seller_message": seller_message,
        "type": "issuer_declined",
    }


class CardError(ValueError):
    """A problem with what was typed, shown next to the form."""


@dataclass
class Card:
    number: str
    exp_month: int
    exp_year: int
    cvc: str

    @property
    def last4(self):
        return self.number[-4:]

    @property
    def brand(self):
        if self.number.startswith("4"):
            return "visa"
        if re.match(r"^(5[1-5]|2[2-7])", self.number):
            return "mastercard"
        if re.match(r"^3[47]", self.number):
            return "amex"
        if re.match(r"^(6011|65|64[4-9])", self.number):
            return "discover"
        return "unknown"

    @property
    def decline(self):
        """Why a payment with this card is declined: (message, code, decline_code), or None."""
        return DECLINES.get(self.number)

    @property
    def setup_decline(self):
        """Why saving this card (setup mode) is declined, or None."""
        return None if self.declines_charges else self.decline

    @property
    def declines_charges(self):
        """Whether every later charge on the saved card is declined."""
        return self.number in DECLINED_AFTER_SAVING

    @property
    def needs_authentication(self):
        return self.number in THREE_D_SECURE


def luhn_ok(digits):
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def parse_card(number, expiry="12/34", cvc="123", today=None):
    """Check the three card fields as Checkout does; raise ``CardError`` with its message."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits:
        raise CardError("Your card number is incomplete.")
    if not digits.isdigit() or not 13 <= len(digits) <= 19 or not luhn_ok(digits):
        raise CardError("Your card number is invalid.")
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", expiry or "")
    if not (expiry or "").strip():
        raise CardError("Your card's expiration date is incomplete.")
    if not match or not 1 <= int(match.group(1)) <= 12:
        raise CardError("Your card's expiration date is invalid.")
    month, year = int(match.group(1)), int(match.group(2))
    if year < 100:
        year += 2000
    today = today or datetime.date.today()
    if (year, month) < (today.year, today.month):
        raise CardError("Your card's expiration year is in the past.")
    if year > today.year + 50:
        raise CardError("Your card's expiration year is invalid.")
    cvc = (cvc or "").strip()
    if not cvc:
        raise CardError("Your card's security code is incomplete.")
    if not cvc.isdigit() or len(cvc) not in (3, 4):
        raise CardError("Your card's security code is invalid.")
    return Card(digits, month, year, cvc)
