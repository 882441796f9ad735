"""Settings read from the environment, with defaults that work on a laptop.

Every setting is documented in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import os
from pathlib import Path

DEV_SECRET_KEY = "dev-only-secret-key-change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

DEFAULT_PRESETS = {
    "once": ["5", "10", "25", "50"],
    "monthly": ["2", "5", "10", "20"],
    "annual": ["25", "50", "100", "250"],
}


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _presets_from_env() -> dict[str, list[str]]:
    """Read ``PRESETS_ONCE``/``PRESETS_MONTHLY``/``PRESETS_ANNUAL`` as comma lists."""
    return {
        frequency: _env_list(f"PRESETS_{frequency.upper()}", amounts)
        for frequency, amounts in DEFAULT_PRESETS.items()
    }


def _amount_overrides() -> dict[str, str]:
    """``MIN_AMOUNT_EUR=1.50``-style per-currency limits, as config keys of the same name."""
    return {
        name: value
        for name, value in os.environ.items()
        if name.startswith(("MIN_AMOUNT_", "MAX_AMOUNT_")) and len(name) == 14
    }


def from_environment() -> dict:
    """Build the Flask config mapping from environment variables."""
    sqlite_default = f"sqlite:///{INSTANCE_DIR / 'donations.sqlite3'}"
    env_name = os.environ.get("DONATIONS_ENV", "development")
    return _amount_overrides() | {
        "ENV_NAME": env_name,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", sqlite_default),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", ""),
        "ORGANIZATION_NAME": os.environ.get("ORGANIZATION_NAME", "The Daily Example"),
        "PRIVACY_POLICY_URL": os.environ.get("PRIVACY_POLICY_URL", "/privacy"),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", "sk_test_sandbox"),
        "STRIPE_PUBLISHABLE_KEY": os.environ.get("STRIPE_PUBLISHABLE_KEY", "pk_test_sandbox"),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or None,
        "CURRENCIES": [c.upper() for c in _env_list("CURRENCIES", ["USD", "EUR", "GBP"])],
        "DEFAULT_CURRENCY": os.environ.get("DEFAULT_CURRENCY", "USD").upper(),
        "PRESET_AMOUNTS": _presets_from_env(),
        "MIN_AMOUNT": os.environ.get("MIN_AMOUNT", "2.00"),
        "MAX_AMOUNT": os.environ.get("MAX_AMOUNT", "10000"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "8025")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _env_bool("SMTP_STARTTLS", False),
        "SMTP_SSL": _env_bool("SMTP_SSL", False),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "The Daily Example <support@example.org>"),
        "SMTP_TIMEOUT": float(os.environ.get("SMTP_TIMEOUT", "10")),
        "WORKER_BATCH_SIZE": int(os.environ.get("WORKER_BATCH_SIZE", "50")),
        "WORKER_INTERVAL": float(os.environ.get("WORKER_INTERVAL", "5")),
        "WORKER_MAX_ATTEMPTS": int(os.environ.get("WORKER_MAX_ATTEMPTS", "8")),
        "WORKER_RETRY_BASE": int(os.environ.get("WORKER_RETRY_BASE", "60")),
        "WORKER_RETRY_MAX": int(os.environ.get("WORKER_RETRY_MAX", "21600")),
        "WORKER_LEASE": int(os.environ.get("WORKER_LEASE", "300")),
        "REMINDER_CANCEL_MAX_AGE": int(os.environ.get("REMINDER_CANCEL_MAX_AGE", "15552000")),
        "REMIND_RATE_LIMIT_IP": os.environ.get("REMIND_RATE_LIMIT_IP", "10 per minute;30 per hour"),
        "REMIND_RATE_LIMIT_EMAIL": os.environ.get("REMIND_RATE_LIMIT_EMAIL", "5 per day"),
        "MANAGE_LINK_MAX_AGE": int(os.environ.get("MANAGE_LINK_MAX_AGE", "86400")),
        "MANAGE_RATE_LIMIT": os.environ.get("MANAGE_RATE_LIMIT", "5 per minute;20 per hour"),
        "STAFF_LOGIN_RATE_LIMIT": os.environ.get("STAFF_LOGIN_RATE_LIMIT", "10 per minute"),
        "STAFF_LOCKOUT_THRESHOLD": int(os.environ.get("STAFF_LOCKOUT_THRESHOLD", "5")),
        "STAFF_LOCKOUT_MINUTES": int(os.environ.get("STAFF_LOCKOUT_MINUTES", "15")),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", env_name == "production"),
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
    }


def check_production_safety(config: dict) -> None:
    """Refuse to run in production with settings that are only safe on a laptop."""
    if config.get("ENV_NAME") != "production":
        return
    problems = []
    if config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY):
        problems.append("SECRET_KEY must be set to a secret value")
    if not str(config.get("PUBLIC_URL") or "").startswith("https://"):
        problems.append("PUBLIC_URL must be the site's https:// address (links in emails use it)")
    if problems:
        raise RuntimeError("DONATIONS_ENV=production: " + "; ".join(problems))
