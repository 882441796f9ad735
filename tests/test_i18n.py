"""Readers read the platform in their language: chosen with ``?lang=``, kept in a cookie,
else taken from the browser; every later email, statement and Checkout page about their
gift uses the language they gave in; amounts are written and read as that language does.
And no reader-facing template keeps words outside the catalogue."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
from datetime import timedelta
from email.header import decode_header, make_header
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from jinja2 import Environment, nodes
from jinja2.ext import i18n

from donations import links, outbox, worker
from donations.config import public_url
from donations.db import db, utcnow
from donations.enums import Frequency
from donations.giving.checkout import GiftChoice, create_pending_gift, open_checkout
from donations.ledger import emails
from donations.mail import render_email
from donations.models import Gift, OutboxEmail
from donations.money import InvalidAmount, format_money, to_minor
from donations.statements.services import statement_attachments
from tests.factories import make_donor, make_gift, make_payment
from tests.helpers_support import post_donation, read_session

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
TRANSLATIONS = ROOT / "translations"
RUSSIAN_FOOTER = "существует на деньги читателей"


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, "SMTP_HOST": smtp_server.host, "SMTP_PORT": smtp_server.port}


# Choosing the language


def test_lang_in_the_query_shows_the_page_in_russian_and_keeps_it_in_a_cookie(client):
    page = client.get("/no-such-page?lang=ru")

    html = page.get_data(as_text=True)
    assert page.status_code == 404
    assert '<html lang="ru">' in html and "Страница не найдена" in html
    assert RUSSIAN_FOOTER in html
    assert "lang=ru" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
    assert "Accept-Language" in page.headers["Vary"]
    later = client.get("/no-such-page").get_data(as_text=True)
    assert '<html lang="ru">' in later


def test_the_cookie_beats_the_browsers_language_and_the_query_beats_both(client):
    client.set_cookie("lang", "ru")

    by_cookie = client.get("/no-such-page", headers={"Accept-Language": "en-GB,en"})
    by_query = client.get("/no-such-page?lang=en", headers={"Accept-Language": "ru"})

    assert '<html lang="ru">' in by_cookie.get_data(as_text=True)
    assert '<html lang="en">' in by_query.get_data(as_text=True)
    assert "lang=en" in by_query.headers["Set-Cookie"]


def test_the_browsers_language_is_used_when_the_reader_chose_none(client):
    russian = client.get("/no-such-page", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    german = client.get("/no-such-page", headers={"Accept-Language": "de-DE,de"})

    assert '<html lang="ru">' in russian.get_data(as_text=True)
    assert '<html lang="en">' in german.get_data(as_text=True)
    assert "Set-Cookie" not in russian.headers


@pytest.mark.parametrize("path", ["/?lang=xx", "/?lang=", "/?lang=../../etc", "/?lang=ru%00"])
def test_an_unknown_language_shows_the_default_page_and_sets_no_cookie(client, path):
    page = client.get(path)

    assert page.status_code == 200
    assert '<html lang="en">' in page.get_data(as_text=True)
    assert "lang=" not in page.headers.get("Set-Cookie", "")


def test_the_language_switch_keeps_the_query_and_names_each_language_in_itself(client):
    html = client.get("/no-such-page?source=article&lang=ru").get_data(as_text=True)

    switch = html[html.index('class="language-switch"') :]
    assert '<span lang="ru" aria-current="true"' in switch and "Русский" in switch
    assert 'href="/no-such-page?source=article&amp;lang=en" hreflang="en" lang="en"' in switch
    assert ">English</a>" in switch


def test_the_language_switch_never_links_to_another_site(client):
    page = client.get(
        "/x", query_string="lang=ru", environ_overrides={"PATH_INFO": "//evil.example/x"}
    )

    html = page.get_data(as_text=True)
    assert 'href="/evil.example/x?lang=en"' in html and "//evil.example" not in html


def test_staff_pages_stay_english_whatever_the_browser_asks(client):
    page = client.get("/staff/login", headers={"Accept-Language": "ru"})

    html = page.get_data(as_text=True)
    assert '<html lang="en">' in html and "is funded by readers like you" in html
    assert "language-switch" not in html


def test_the_brand_leads_to_the_newsroom_when_its_address_is_set(app, client):
    app.config["NEWSROOM_URL"] = "https://news.example.org/"

    html = client.get("/no-such-page").get_data(as_text=True)

    assert '<a class="brand" href="https://news.example.org/">' in html


# Money in the reader's language


def test_russian_writes_amounts_with_a_decimal_comma_and_the_sign_after(app):
    assert format_money(1050, "EUR", "ru") == "10,50\u00a0€"
    assert format_money(1000, "EUR", "ru", trim=True) == "10\u00a0€"
    assert format_money(1050, "EUR", "en") == "€10.50"
    assert format_money(1000, "USD", "en", trim=True) == "$10"
    with app.test_request_context("/?lang=ru"):
        assert format_money(123456, "USD") == "1\u00a0234,56\u00a0$"


@pytest.mark.parametrize(
    ("typed", "locale", "minor"),
    [
        ("10,50 €", "ru", 1050),
        ("10,50\u00a0€", "ru", 1050),
        ("10,50", "ru", 1050),
        ("10.50", "ru", 1050),
        ("10 EUR", "ru", 1000),
        ("10.50", "en", 1050),
        ("€10.50", "en", 1050),
        (" 7,5 ", "en", 750),
    ],
)
def test_typed_amounts_are_read_as_the_language_writes_them(app, typed, locale, minor):
    assert to_minor(typed, "EUR", locale) == minor


def test_a_mistyped_amount_is_explained_in_the_readers_language(app):
    with app.test_request_context("/?lang=ru"):
        with pytest.raises(InvalidAmount, match="без разделителей разрядов, например 1000"):
            to_minor("1 000", "EUR")
        with pytest.raises(InvalidAmount, match="например 10 или 7,50"):
            to_minor("£10", "EUR")
    with app.test_request_context("/"):
        with pytest.raises(InvalidAmount, match="without thousands separators"):
            to_minor("1,000", "EUR")


# Emails in the recipient's language


def test_a_receipt_to_a_russian_donor_goes_out_in_russian(app, smtp_server):
    gift = make_gift(
        make_donor("zoya@example.org", "Зоя", locale="ru"),
        1050,
        currency="EUR",
        frequency=Frequency.MONTHLY,
        locale="ru",
        current_period_end=utcnow() + timedelta(days=30),
    )
    emails.queue_receipt(
        gift, stripe_id="pi_ru", amount=1050, currency="EUR", paid_at=utcnow(), renewal=False
    )
    db.session.commit()

    result = worker.run_pending(now=utcnow() + timedelta(seconds=1))

    assert result.sent == 1
    [message] = smtp_server.messages
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "Спасибо за ваше пожертвование 10,50\u00a0€ для The Daily Example"
    assert message["Content-Language"] == "ru"
    text = message.get_body(("plain",)).get_content()
    assert "Здравствуйте, Зоя!" in text
    assert "Пожертвование:     Ежемесячное (10,50\u00a0€ в месяц)" in text
    assert '<html lang="ru">' in message.get_body(("html",)).get_content()


def test_an_email_queued_without_a_language_is_in_the_readers_language(app):
    with app.test_request_context("/manage?lang=ru"):
        outbox.enqueue("reader@example.org", "manage_link", {"manage_url": "https://x/m"})
    with app.test_request_context("/"):
        outbox.enqueue("reader@example.org", "manage_link", {"manage_url": "https://x/m"})
        outbox.enqueue("r@example.org", "manage_link", {"manage_url": "https://x/m"}, locale="ru")

    contexts = [email.context for email in db.session.scalars(sa.select(OutboxEmail))]
    assert ['"locale": "ru"' in c for c in contexts] == [True, False, True]


def test_russian_emails_take_all_three_plural_forms(app):
    base = {"frequency": "monthly", "gift_amount": 500, "gift_currency": "EUR"}
    texts = [
        render_email(
            "gift_paused",
            base | {"skipped_renewals": skipped, "resumes_on": "2027-05-05", "locale": "ru"},
            to="a@example.org",
        )
        .get_payload(0)
        .get_payload(decode=True)
        .decode()
        for skipped in (1, 3, 5, 21)
    ]

    assert "пропустим 1 платёж и" in texts[0]
    assert "пропустим 3 платежа и" in texts[1]
    assert "пропустим 5 платежей и" in texts[2]
    assert "пропустим 21 платёж и" in texts[3]
    assert "возобновится 5 мая 2027:" in texts[0]


def test_a_statement_is_drawn_in_the_language_of_its_email(app):
    donor = make_donor("zoya@example.org", "Зоя", locale="ru")
    make_payment(make_gift(donor, 1050, currency="EUR", created="2025-03-05"))

    [pdf] = statement_attachments({"donor_id": donor.id, "year": 2025, "locale": "ru"})

    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Годовая выписка о пожертвованиях за 2025 год" in text
    assert "1 января 2025 – 31 декабря 2025" in text
    assert "1 платёж" in text and "10,50" in text


# Checkout in the reader's language


def test_checkout_opens_in_the_language_of_the_gift(app, sandbox):
    choice = GiftChoice(
        frequency=Frequency.ONCE,
        amount=1000,
        currency="EUR",
        email="zoya@example.org",
        locale="ru",
    )
    gift = create_pending_gift(choice)
    db.session.commit()

    open_checkout(gift, success_url="http://127.0.0.1/thanks", cancel_url="http://127.0.0.1/")

    assert read_session(sandbox, gift.stripe_checkout_session_id)["locale"] == "ru"


def test_a_gift_given_on_the_russian_page_keeps_russian(client, sandbox):
    client.set_cookie("lang", "ru")

    response = post_donation(client)

    assert response.status_code == 303, response.get_data(as_text=True)
    gift = db.session.scalar(sa.select(Gift).order_by(Gift.id.desc()))
    assert gift.locale == "ru"
    assert read_session(sandbox, gift.stripe_checkout_session_id)["locale"] == "ru"


def test_a_link_in_a_russian_donors_email_opens_its_page_in_russian_in_any_browser(client):
    donor = make_donor(locale="ru")
    gift = make_gift(donor, frequency=Frequency.MONTHLY)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"

    for url in (links.manage_url(donor), links.erase_url(donor), links.update_card_url(gift)):
        assert "lang=ru" in url
    page = client.get(links.manage_url(donor).removeprefix(public_url()))

    assert page.status_code == 200
    assert RUSSIAN_FOOTER in page.get_data(as_text=True)


# Every reader-facing word is in the catalogue

#: templates only staff read, in English (the staff pages, the dispute alert to admins)
STAFF_TEMPLATES = ("staff/*", "email/dispute_opened.*")
GETTEXT_CALLS = {"_", "gettext", "ngettext", "pgettext", "npgettext"}
HOLE = "\x00"
MARKUP = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>|&[#\w]+;", re.S | re.I)
SHOWN_ATTRIBUTE = re.compile(
    r'\b(?:alt|title|placeholder|aria-label|data-[\w-]*(?:label|message)[\w-]*)\s*=\s*"([^"]*)"',
    re.I,
)
ADDRESS = re.compile(r"\S+@\S+|https?://\S+")
WORD = re.compile(r"[^\W\d_]{2,}")
PHRASE = re.compile(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}")
#: names that read the same in every language
NAMES = {
    *"Stripe Visa Mastercard American Express Apple Google Pay PDF UTC".split(),
    *"Cartes Bancaires Diners Club Discover JCB UnionPay".split(),
}


def reader_templates() -> list[str]:
    return sorted(
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*")
        if path.is_file() and not any(path.relative_to(TEMPLATES).match(p) for p in STAFF_TEMPLATES)
    )


def words_outside_the_catalogue(source: str) -> list[tuple[int, str]]:
    """Text a template shows that no ``{% trans %}`` or ``_()`` carries: its literal text
    (tags, scripts and styles removed; ``alt``, ``title``, ``placeholder``, ``aria-label``
    and label-like ``data-`` attributes kept) and string constants of two words or more."""
    parts: list[tuple[int, str, bool]] = []
    _collect(Environment(extensions=[i18n]).parse(source), parts)
    found, skeleton, lines = [], [], []
    for lineno, text, constant in parts:
        if constant and PHRASE.search(ADDRESS.sub(" ", text)) and _words(text):
            found.append((lineno, text))
        piece = HOLE if constant else text
        skeleton.append(piece)
        lines.extend([lineno] * len(piece))
    page = "".join(skeleton)
    shown = [(m.start(1), m.group(1)) for m in SHOWN_ATTRIBUTE.finditer(page)]
    text = MARKUP.sub(lambda m: HOLE * len(m.group(0)), page)
    shown += [(m.start(), m.group(0)) for m in re.finditer(f"[^{HOLE}]+", text)]
    found += [(lines[start], " ".join(words.split())) for start, words in shown if _words(words)]
    return sorted(found)


def _collect(node: nodes.Node, parts: list[tuple[int, str, bool]]) -> None:
    if isinstance(node, nodes.Call) and getattr(node.node, "name", None) in GETTEXT_CALLS:
        parts.append((node.lineno, HOLE, False))
    elif isinstance(node, nodes.TemplateData):
        parts.append((node.lineno, node.data, False))
    elif isinstance(node, nodes.Const) and isinstance(node.value, str):
        parts.append((node.lineno, node.value, True))
    else:
        if isinstance(node, nodes.Expr):
            parts.append((node.lineno, HOLE, False))
        for child in node.iter_child_nodes():
            _collect(child, parts)


def _words(text: str) -> list[str]:
    return [word for word in WORD.findall(ADDRESS.sub(" ", text)) if word not in NAMES]


@pytest.mark.parametrize("template", reader_templates())
def test_a_reader_template_shows_no_words_outside_the_catalogue(template):
    found = words_outside_the_catalogue((TEMPLATES / template).read_text())

    assert not found, "wrap in {% trans %} or _(): " + "; ".join(
        f"line {line}: {text!r}" for line, text in found
    )


def test_the_check_finds_plain_text_attributes_and_phrases_but_not_markup():
    source = (
        '<p class="hint" data-x="a b">{{ _("Fine") }} {% trans %}Also fine{% endtrans %}</p>\n'
        '<img alt="A chart" src="{{ url }}"><a href="{{ url }}">Plain words</a>\n'
        '{{ button(url, "Start again") }} {{ "memory" if x }} name@example.org Stripe'
    )

    found = [text for _, text in words_outside_the_catalogue(source)]

    assert found == ["A chart", "Plain words", "Start again"]


#: code whose messages readers see (form labels and errors, refusals, flashes), and what
#: carries a message there; staff-only modules are left out
READER_CODE = ("donations/support", "donations/remind", "donations/manage", "donations/newsletter")
READER_CODE_FILES = ("donations/giving/admin.py", "donations/links.py", "donations/money.py")
STAFF_CODE = ("staff_views.py", "cli.py")
MESSAGE_CARRIERS = {
    *"ValidationError ActionRefused InvalidReminder InvalidCancelLink InvalidAmount flash".split(),
    *"StringField EmailField BooleanField RadioField SelectField TextAreaField".split(),
    *"IntegerField DecimalField SubmitField MonthField".split(),
}


def reader_code() -> list[str]:
    files = [ROOT / name for name in READER_CODE_FILES]
    files += [path for folder in READER_CODE for path in (ROOT / folder).rglob("*.py")]
    return sorted(str(p.relative_to(ROOT)) for p in files if p.name not in STAFF_CODE)


def untranslated_messages(source: str) -> list[tuple[int, str]]:
    """Literal text (or an f-string) handed straight to a form field, a form error, a
    refusal or a flash, rather than through ``_()``/``lazy_gettext``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        first = node.args[0]
        literal = isinstance(first, ast.JoinedStr) or (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        )
        if name in MESSAGE_CARRIERS and literal and _words(ast.unparse(first)):
            found.append((node.lineno, ast.unparse(first)))
    return found


@pytest.mark.parametrize("module", reader_code())
def test_reader_facing_messages_in_code_are_in_the_catalogue(module):
    found = untranslated_messages((ROOT / module).read_text())

    assert not found, "wrap in _() or lazy_gettext(): " + "; ".join(
        f"line {line}: {text}" for line, text in found
    )


def test_every_reader_facing_message_has_a_russian_translation(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "-q", "extract", "-F", "babel.cfg"]
        + ["-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2"]
        + ["-k", "lazy_pgettext:1c,2", "-o", str(template), "."],
        cwd=ROOT,
        check=True,
    )
    with template.open("rb") as file:
        wanted = {(m.context, _msgid(m)) for m in read_po(file) if m.id}
    with (TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalogue = read_po(file)
    translated = {
        (m.context, _msgid(m))
        for m in catalogue
        if m.id and all(m.string if isinstance(m.string, tuple) else [m.string])
    }

    missing = sorted(wanted - translated, key=str)
    assert not missing, "run `make messages` and translate: " + "; ".join(
        repr(msgid) for _, msgid in missing
    )
    assert catalogue.num_plurals == 3


def _msgid(message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def test_the_compiled_catalogues_are_up_to_date():
    for source in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        compiled = source.with_suffix(".mo")
        assert compiled.exists(), f"run `make install` to compile {source}"
        assert compiled.stat().st_mtime >= source.stat().st_mtime, f"run `make install`: {source}"
