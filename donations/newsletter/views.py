"""Sign up for the newsletter, confirm from the email's link, unsubscribe from any email.

The sign-up POST takes no CSRF token (see ``forms.SignupForm``): the appeal box posts it
from an iframe on other sites, with ``target="_top"`` so the reader lands on our
"check your email" page; it is rate limited per IP (``NEWSLETTER_RATE_LIMIT``).

Confirming and unsubscribing open a page with one button (GET changes nothing, because
mail scanners follow links) that POSTs back to the same URL. Those POSTs need no CSRF
token: the signed link is the authority, and the unsubscribe POST is what mail providers
send for the one-click ``List-Unsubscribe-Post`` header (RFC 8058).
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import get_locale

from donations.db import commit_or_rollback, utcnow
from donations.enums import SubscriberStatus
from donations.extensions import csrf, limiter
from donations.newsletter import bp, services
from donations.newsletter.forms import SignupForm

SENT_KEY = "newsletter_sent"


def _rate_limit() -> str:
    return current_app.config["NEWSLETTER_RATE_LIMIT"]


@bp.route("", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(_rate_limit, methods=["POST"])
def signup():
    """The form; a valid address is recorded and sent a confirmation link."""
    if request.method == "POST":
        form = SignupForm()
    else:
        form = SignupForm(formdata=None, source=request.args.get("source", ""))
    if form.validate_on_submit():
        with commit_or_rollback():
            services.request_subscription(
                form.email.data,
                locale=str(get_locale()),
                source=form.source.data,
                consent_text=services.consent_text(),
            )
        session[SENT_KEY] = form.email.data
        return redirect(url_for("newsletter.sent"))
    status = 400 if request.method == "POST" else 200
    return render_template("newsletter/signup.html", form=form), status


@bp.route("/sent")
def sent():
    """The same page whatever the address's state, so it tells no one who subscribes."""
    email = session.get(SENT_KEY)
    if not email:
        return redirect(url_for("newsletter.signup"))
    days = max(1, current_app.config["NEWSLETTER_LINK_MAX_AGE"] // 86400)
    return render_template("newsletter/sent.html", email=email, link_days=days)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@csrf.exempt
def confirm(token: str):
    """GET: the confirm button (subscribes nobody). POST: subscribe, idempotently."""
    try:
        subscriber = services.subscriber_for_confirm_token(token)
    except services.InvalidLink as error:
        return render_template("newsletter/confirm.html", state="invalid", message=str(error)), 400
    if request.method == "POST":
        with commit_or_rollback():
            services.confirm(subscriber, utcnow())
    state = str(subscriber.status)
    if state == SubscriberStatus.PENDING:
        state = "confirm"
    return render_template(
        "newsletter/confirm.html",
        state=state,
        subscriber=subscriber,
        token=token,
        unsubscribe_path=url_for(
            "newsletter.unsubscribe", token=services.unsubscribe_token(subscriber)
        ),
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """GET: the unsubscribe button. POST (the button, or a mail provider's one-click):
    unsubscribe, idempotently."""
    try:
        subscriber = services.subscriber_for_unsubscribe_token(token)
    except services.InvalidLink as error:
        page = {"state": "invalid", "message": str(error)}
        return render_template("newsletter/unsubscribe.html", **page), 400
    if request.method == "GET":
        state = "unsubscribed" if subscriber.status == SubscriberStatus.UNSUBSCRIBED else "ask"
        page = {"subscriber": subscriber, "token": token}
        return render_template("newsletter/unsubscribe.html", state=state, **page)
    with commit_or_rollback():
        services.unsubscribe(subscriber, utcnow())
    return render_template("newsletter/unsubscribe.html", state="done", subscriber=subscriber)
