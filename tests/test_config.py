"""Settings: one table in ``donations/config.py``, documented by README.md's table.

How the README states a default (the rule this file enforces):

- a fixed default is written in backticks exactly as it would be set in the environment,
  optionally followed by a remark in parentheses: `` `15552000` (180 days) ``;
- an empty default is written ``(empty)``;
- a default that is not one fixed text (unset, computed, a secret) is written as the
  setting's ``readme`` text in config.py, word for word;
- a row may name several variables separated by `` / ``, with one default each, or one
  default for all of them;
- a per-currency variant is written ``NAME_<CURRENCY>`` and its default ``(the above)``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from donations import config, create_app
from donations.config import LOCAL_URL, PER_CURRENCY, SETTINGS, from_environment, public_url

README = Path(__file__).resolve().parents[1] / "README.md"
PER_CURRENCY_DEFAULT = "(the above)"


def readme_defaults() -> dict[str, str]:
    """Each variable in README.md's configuration table and how its default is written."""
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        variables, defaults = (cell.strip() for cell in line.strip("|").split(" | ")[:2])
        names = re.findall(r"`([A-Z0-9_<>]+)`", variables)
        values = defaults.split(" / ")
        if len(values) == 1:
            values = values * len(names)
        assert len(values) == len(names), f"one default per variable: {line}"
        documented |= dict(zip(names, values, strict=True))
    return documented


def expected_default(setting: config.Setting) -> str:
    if setting.readme:
        return setting.readme
    if setting.default == "":
        return "(empty)"
    return f"`{setting.default}`"


def test_the_readme_documents_exactly_the_settings_config_reads():
    documented = set(readme_defaults())
    read = {setting.env for setting in SETTINGS} | {f"{name}_<CURRENCY>" for name in PER_CURRENCY}
    assert documented - read == set(), "documented but not read by config.py"
    assert read - documented == set(), "read by config.py but not in README.md"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.env)
def test_the_readme_states_each_default_as_config_has_it(setting):
    written = readme_defaults()[setting.env]
    expected = expected_default(setting)
    assert written == expected or written.startswith(f"{expected} ("), (
        f"README says {written!r} for {setting.env}; config.py means {expected!r}"
    )


def test_a_per_currency_limit_defaults_to_the_general_one():
    documented = readme_defaults()
    for name in PER_CURRENCY:
        assert documented[f"{name}_<CURRENCY>"] == PER_CURRENCY_DEFAULT


def test_defaults_are_read_like_environment_values():
    values = from_environment({})
    assert values["SMTP_PORT"] == 8025 and values["SMTP_TIMEOUT"] == 10.0
    assert values["SMTP_STARTTLS"] is False and values["STRIPE_API_BASE"] is None
    assert values["CURRENCIES"] == ["USD", "EUR", "GBP"]
    assert values["PRESETS_MONTHLY"] == ["2", "5", "10", "20"]
    assert values["ENV_NAME"] == "development" and values["SESSION_COOKIE_SECURE"] is False
    assert values["PAYMENT_GATEWAY"] == "stripe"


def test_the_environment_overrides_and_an_empty_variable_counts_as_unset():
    values = from_environment(
        {
            "DONATIONS_ENV": "production",
            "SMTP_PORT": "2525",
            "CURRENCIES": "usd, chf",
            "ORGANIZATION_NAME": "",
            "MIN_AMOUNT_CHF": "3",
            "MIN_AMOUNT_XYZW": "9",
        }
    )
    assert values["SMTP_PORT"] == 2525 and values["CURRENCIES"] == ["USD", "CHF"]
    assert values["ORGANIZATION_NAME"] == "The Daily Example"
    assert values["SESSION_COOKIE_SECURE"] is True  # computed from DONATIONS_ENV
    assert values["MIN_AMOUNT_CHF"] == "3" and "MIN_AMOUNT_XYZW" not in values


@pytest.fixture
def bare_app() -> Flask:
    app = Flask(__name__)
    app.config.update(from_environment({}))
    return app


def test_links_use_public_url_when_it_is_set(bare_app):
    bare_app.config["PUBLIC_URL"] = "https://give.example.org/"
    with bare_app.test_request_context(base_url="http://10.0.0.5:8000"):
        assert public_url() == "https://give.example.org"


def test_without_public_url_links_use_the_request_host_or_the_local_address(bare_app):
    with bare_app.test_request_context(base_url="http://127.0.0.1:5050"):
        assert public_url() == "http://127.0.0.1:5050"
    with bare_app.app_context():
        assert public_url() == LOCAL_URL


def test_the_remember_me_cookie_is_as_secure_as_the_session_cookie_even_when_overridden():
    app = create_app({"SESSION_COOKIE_SECURE": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
