"""Every setting: the environment variable it comes from, how it is read, and its default.

This table is the one place a default is written. Code reads ``current_app.config[KEY]``;
README.md's configuration table documents exactly these settings with the same defaults
(``tests/test_config.py`` checks both). An environment variable set to an empty string
counts as unset.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, has_request_context, request

from donations.enums import Frequency

DEV_SECRET_KEY = "dev-only-secret-key-change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
#: base of links built outside a request (worker, CLI) when ``PUBLIC_URL`` is not set
LOCAL_URL = "http://localhost:5000"


def parse_bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def parse_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_codes(text: str) -> list[str]:
    return [code.upper() for code in parse_list(text)]


@dataclass(frozen=True)
class Setting:
    """One environment variable and the config key it fills.

    ``default`` is written as it would be in the environment and read by ``parse`` like
    any value; a callable default computes the value from the settings read before it.
    ``readme`` is how the README states a default that is not such a text.
    """

    env: str
    default: str | Callable[[Mapping[str, Any]], Any] | None
    parse: Callable[[str], Any] = str
    key: str = ""  #: the config key, when it is not the variable's name
    readme: str = ""

    @property
    def config_key(self) -> str:
        return self.key or self.env

    def read(self, environ: Mapping[str, str], earlier: Mapping[str, Any]) -> Any:
        text = environ.get(self.env) or None
        if text is not None:
            return self.parse(text)
        if callable(self.default):
            return self.default(earlier)
        return None if self.default is None else self.parse(self.default)


#: preset amounts per frequency, in major units (``PRESETS_ONCE`` …)
DEFAULT_PRESETS = {
    Frequency.ONCE: "5,10,25,50",
    Frequency.MONTHLY: "2,5,10,20",
    Frequency.ANNUAL: "25,50,100,250",
}

#: card fees to estimate "cover the fees" from, per currency (suffix ""= any other):
#: a percentage of the amount plus a fixed part in major units, as Stripe's standard
#: pricing and the sandbox's fee model
FEE_MODEL = (("", "2.9", "0.30"), ("_EUR", "1.5", "0.25"), ("_GBP", "1.5", "0.20"))

SETTINGS: tuple[Setting, ...] = (
    Setting("DONATIONS_ENV", "development", key="ENV_NAME"),
    Setting("SECRET_KEY", DEV_SECRET_KEY, readme="a development value"),
    Setting(
        "DATABASE_URL",
        f"sqlite:///{INSTANCE_DIR / 'donations.sqlite3'}",
        key="SQLALCHEMY_DATABASE_URI",
        readme="`sqlite:///instance/donations.sqlite3`",
    ),
    Setting("PUBLIC_URL", "", readme="(the request's host; `http://localhost:5000` outside one)"),
    Setting("ORGANIZATION_NAME", "The Daily Example"),
    Setting(
        "ORGANIZATION_LEGAL_NAME",
        lambda earlier: earlier["ORGANIZATION_NAME"],
        readme="`ORGANIZATION_NAME`",
    ),
    Setting("ORGANIZATION_ADDRESS", ""),
    Setting("ORGANIZATION_TAX_ID", ""),
    Setting(
        "RECEIPT_STATEMENT",
        "No goods or services were provided in exchange for this contribution.",
    ),
    Setting("PRIVACY_POLICY_URL", "/privacy"),
    Setting("PAYMENT_GATEWAY", "stripe"),
    Setting("STRIPE_SECRET_KEY", "sk_test_sandbox"),
    Setting("STRIPE_PUBLISHABLE_KEY", "pk_test_sandbox"),
    Setting("STRIPE_WEBHOOK_SECRET", ""),
    Setting("STRIPE_API_BASE", None, readme="(unset: Stripe itself)"),
    Setting("CURRENCIES", "USD,EUR,GBP", parse_codes),
    Setting("DEFAULT_CURRENCY", "USD", str.upper),
    *(
        Setting(f"PRESETS_{frequency.name}", amounts, parse_list)
        for frequency, amounts in DEFAULT_PRESETS.items()
    ),
    Setting("MIN_AMOUNT", "2.00"),
    Setting("MAX_AMOUNT", "10000"),
    *(
        Setting(f"{name}{suffix}", value)
        for suffix, percent, fixed in FEE_MODEL
        for name, value in (("FEE_PERCENT", percent), ("FEE_FIXED", fixed))
    ),
    Setting("SMTP_HOST", "127.0.0.1"),
    Setting("SMTP_PORT", "8025", int),
    Setting("SMTP_USERNAME", ""),
    Setting("SMTP_PASSWORD", ""),
    Setting("SMTP_STARTTLS", "false", parse_bool),
    Setting("SMTP_SSL", "false", parse_bool),
    Setting("MAIL_FROM", "The Daily Example <support@example.org>"),
    Setting("SMTP_TIMEOUT", "10", float),
    Setting("WORKER_BATCH_SIZE", "50", int),
    Setting("WORKER_INTERVAL", "5", float),
    Setting("WORKER_MAX_ATTEMPTS", "8", int),
    Setting("WORKER_RETRY_BASE", "60", int),
    Setting("WORKER_RETRY_MAX", "21600", int),
    Setting("WORKER_LEASE", "300", int),
    Setting("REMINDER_CANCEL_MAX_AGE", "15552000", int),
    Setting("REMIND_RATE_LIMIT_IP", "10 per minute;30 per hour"),
    Setting("REMIND_RATE_LIMIT_EMAIL", "5 per day"),
    Setting("MANAGE_LINK_MAX_AGE", "86400", int),
    Setting("MANAGE_RATE_LIMIT", "5 per minute;20 per hour"),
    Setting("CARD_LINK_MAX_AGE", "2592000", int),
    Setting("RESTART_LINK_MAX_AGE", "7776000", int),
    Setting("STAFF_LOGIN_RATE_LIMIT", "10 per minute"),
    Setting("STAFF_LOCKOUT_THRESHOLD", "5", int),
    Setting("STAFF_LOCKOUT_MINUTES", "15", int),
    Setting("STAFF_2FA_REQUIRED", "admins"),
    Setting("STAFF_IDLE_TIMEOUT", "1800", int),
    Setting("STAFF_SESSION_LIFETIME", "43200", int),
    Setting("STRIPE_MAX_RETRIES", "3", int),
    Setting("STRIPE_RETRY_BASE", "0.5", float),
    Setting("RETAIN_ABANDONED_DAYS", "30", int),
    Setting("RETAIN_SENT_REMINDERS_DAYS", "90", int),
    Setting("RETAIN_WEBHOOK_PAYLOADS_DAYS", "30", int),
    Setting("RETAIN_EMAIL_BODIES_DAYS", "90", int),
    Setting("RATELIMIT_STORAGE_URI", "memory://"),
    Setting("START_RATE_LIMIT_IP", "5 per minute;20 per hour"),
    Setting("START_RATE_LIMIT_NETWORK", "15 per minute;60 per hour"),
    Setting("START_RATE_LIMIT_EMAIL", "5 per hour;10 per day"),
    Setting("START_RATE_LIMIT_DOMAIN", "30 per hour"),
    Setting(
        "START_DOMAIN_EXEMPT",
        "gmail.com,googlemail.com,outlook.com,hotmail.com,live.com,yahoo.com,icloud.com,"
        "proton.me,protonmail.com,gmx.de,web.de,yandex.ru,mail.ru,bk.ru,inbox.ru,list.ru",
        lambda text: frozenset(domain.lower() for domain in parse_list(text)),
    ),
    Setting("START_SESSION_CEILING", "60 per minute"),
    Setting("ALARM_WINDOW", "600", int),
    Setting("ALARM_MIN_STARTS", "20", int),
    Setting("ALARM_THRESHOLD", "0.5", float),
    Setting("ALTCHA_HMAC_KEY", lambda earlier: earlier["SECRET_KEY"], readme="`SECRET_KEY`"),
    Setting("ALTCHA_MAX_NUMBER", "100000", int),
    Setting("ALTCHA_EXPIRES", "300", int),
    Setting("CAPTCHA_SCRIPT_URL", ""),
    Setting("CAPTCHA_SITE_KEY", ""),
    Setting("CAPTCHA_VERIFY_URL", ""),
    Setting("CAPTCHA_SECRET", ""),
    Setting("CHECKOUT_EXPIRY_MINUTES", "60", int),
    Setting("ERASE_LINK_MAX_AGE", "86400", int),
    Setting("LANGUAGES", "en,ru", parse_list),
    Setting("DEFAULT_LANGUAGE", "en"),
    Setting("NEWSROOM_URL", "", readme="(unset: the support page)"),
    Setting("CAMPAIGN_GOAL_CACHE_SECONDS", "30", int),
    Setting("AB_COOKIE_DAYS", "90", int),
    Setting("AB_FLUSH_SECONDS", "5", float),
    Setting("NEWSLETTER_HANDOFF_URL", ""),
    Setting("NEWSLETTER_HANDOFF_SECRET", ""),
    Setting("NEWSLETTER_LINK_MAX_AGE", "604800", int),
    Setting("NEWSLETTER_RATE_LIMIT", "5 per minute;20 per hour"),
    Setting(
        "SESSION_COOKIE_SECURE",
        lambda earlier: earlier["ENV_NAME"] == "production",
        parse_bool,
        readme="`true` in production, else `false`",
    ),
    Setting("TRUSTED_PROXIES", "0", int),
)

#: settings with a per-currency variant (``MIN_AMOUNT_EUR=1.50``), read only when set
PER_CURRENCY = ("MIN_AMOUNT", "MAX_AMOUNT", "FEE_PERCENT", "FEE_FIXED")

#: Flask settings that are not configurable
FIXED = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
}


def from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        values[setting.config_key] = setting.read(environ, values)
    return values | _per_currency(environ) | FIXED


def _per_currency(environ: Mapping[str, str]) -> dict[str, str]:
    """``MIN_AMOUNT_EUR``-style variables, as config keys of the same name."""
    return {
        name: value
        for name, value in environ.items()
        if value and name[:-4] in PER_CURRENCY and name[-4:-3] == "_"
    }


def per_currency(key: str, currency: str) -> Any:
    """A per-currency setting (``MIN_AMOUNT_EUR``) when set, else the general one."""
    config = current_app.config
    specific = f"{key}_{currency}"
    return config[specific] if specific in config else config[key]


def public_url() -> str:
    """The site's base URL, without a trailing slash, for every absolute link.

    ``PUBLIC_URL`` when set (behind proxies, and in production); else the host of the
    request being handled; else (worker, CLI) ``LOCAL_URL``.
    """
    configured = current_app.config["PUBLIC_URL"]
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return LOCAL_URL


def derive(config: dict[str, Any]) -> None:
    """Settings that follow others, set after any overrides: the remember-me cookie is as
    secure as the session cookie."""
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]


def check_production_safety(config: Mapping[str, Any]) -> None:
    """Refuse to run in production with settings that are only safe on a laptop."""
    if config["ENV_NAME"] != "production":
        return
    problems = []
    if config["SECRET_KEY"] in (None, "", DEV_SECRET_KEY):
        problems.append("SECRET_KEY must be set to a secret value")
    if not str(config["PUBLIC_URL"] or "").startswith("https://"):
        problems.append("PUBLIC_URL must be the site's https:// address (links in emails use it)")
    if config["NEWSLETTER_HANDOFF_URL"] and not config["NEWSLETTER_HANDOFF_SECRET"]:
        problems.append("NEWSLETTER_HANDOFF_SECRET must be set to sign newsletter hand-offs")
    if problems:
        raise RuntimeError("DONATIONS_ENV=production: " + "; ".join(problems))
