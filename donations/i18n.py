"""The reader's language: chosen by ``?lang=``, then the ``lang`` cookie, then the
browser's ``Accept-Language``, among the offered ``LANGUAGES``; ``DEFAULT_LANGUAGE``
outside a request.

Staff pages are written in English only, so they are always English (dates and amounts
too). Every reader-facing string goes through the catalogues in ``translations/``
(Flask-Babel's ``_``/``ngettext`` in code, ``{% trans %}``/``_()`` in templates); a
language is added by adding a catalogue (README, "Languages"). An email is rendered in the
language stored with it (``mail.render_email``), not the one of the request that sent it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from babel import Locale
from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import Babel, get_locale, refresh

babel = Babel()
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
#: the language the staff pages are written in
STAFF_LANGUAGE = "en"


def offered_language(value: str | None) -> str | None:
    """``value`` if it names an offered language (``ru``, ``ru-RU``), else None."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in current_app.config["LANGUAGES"] else None


def language_or_default(value: str | None) -> str:
    """An offered language for a stored one (a gift's, a reminder's), else the default."""
    return offered_language(value) or current_app.config["DEFAULT_LANGUAGE"]


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["DEFAULT_LANGUAGE"]
    if request.blueprint == "staff":
        return STAFF_LANGUAGE
    return (
        offered_language(_given(request.args, "lang"))
        or offered_language(_given(request.cookies, LANGUAGE_COOKIE))
        or request.accept_languages.best_match(current_app.config["LANGUAGES"])
        or current_app.config["DEFAULT_LANGUAGE"]
    )


def _given(values, key: str) -> str | None:
    """``values.get(key)`` for a request's MultiDict without its cost when ``key`` is
    absent, as it is on nearly every page view (``get`` builds and catches an exception)."""
    return values[key] if key in values else None


def current_language() -> str:
    """The language being used now (``"ru"``): the reader's in a request, the one forced
    while an email is rendered, else the default. Store it with what a reader starts."""
    locale = get_locale()
    return str(locale) if locale is not None else current_app.config["DEFAULT_LANGUAGE"]


def language_switch() -> list[dict[str, str]]:
    """Links to this page in each offered language, keeping the other query arguments;
    each names its language in that language ("English", "Русский"). None on staff pages,
    which are English only."""
    if request.blueprint == "staff":
        return []
    current = current_language()
    others = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    path = "/" + request.path.lstrip("/")  # never "//host/…", a link to another site
    return [
        {
            "code": code,
            "name": _native_name(code),
            "url": f"{path}?{urlencode([*others, ('lang', code)])}",
            "current": code == current,
        }
        for code in current_app.config["LANGUAGES"]
    ]


def _native_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def remember_language(response: Response) -> Response:
    """Keep a language chosen with ``?lang=`` in a cookie, so the next pages use it too;
    an unknown ``lang`` is ignored (the page is shown in the language chosen otherwise)."""
    chosen = offered_language(_given(request.args, "lang"))
    if chosen and request.blueprint != "staff" and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        default_locale=app.config["DEFAULT_LANGUAGE"],
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/../translations"),
    )
    # a {% trans %} block's line breaks and indentation are not part of its message
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals.update(current_language=current_language, language_switch=language_switch)
    # the language is chosen afresh for each request, even one sharing an app context
    # (the test client inside a test's context) with an earlier one or with later work
    app.before_request(refresh)
    app.after_request(remember_language)
    app.teardown_request(lambda _error: refresh())
