"""Amounts as Stripe writes them in messages, and the smallest charge it accepts per currency.

Amounts are integers in the currency's minor unit (cents), except for zero-decimal currencies
such as JPY, whose amounts are whole units.
"""

ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "chf": "CHF ", "jpy": "¥"}

# Stripe's documented minimum charge amounts (https://docs.stripe.com/currencies, "Minimum and
# maximum charge amounts"), in minor units. Stripe states them per settlement currency; the
# sandbox applies them to the charge's currency. Currencies not listed are not checked.
MINIMUM_CHARGE = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
}


def format_amount(amount, currency):
    """``1050, "usd"`` as ``$10.50``; a currency without a symbol as ``10.50 SEK``."""
    currency = (currency or "").lower()
    if currency in ZERO_DECIMAL:
        number = f"{amount:,}"
    else:
        number = f"{amount / 100:,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"
