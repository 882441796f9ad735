"""The reader's language: chosen by ``?lang=``, then the ``lang`` cookie, then the
browser's ``Accept-Language``, among the offered ``LANGUAGES``; English outside a request.

Staff pages may stay English; every reader-facing string goes through the catalogues in
``translations/`` (Flask-Babel's ``_``/``ngettext`` in code, ``{% trans %}``/``_()`` in
templates).
"""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel

babel = Babel()
LANGUAGE_COOKIE = "lang"


def offered_language(value: str | None) -> str | None:
    """``value`` if it names an offered language (``ru``, ``ru-RU``), else None."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in current_app.config["LANGUAGES"] else None


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["DEFAULT_LANGUAGE"]
    return (
        offered_language(request.args.get("lang"))
        or offered_language(request.cookies.get(LANGUAGE_COOKIE))
        or request.accept_languages.best_match(current_app.config["LANGUAGES"])
        or current_app.config["DEFAULT_LANGUAGE"]
    )


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/../translations"),
    )
