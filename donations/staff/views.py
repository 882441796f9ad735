"""Every staff route but sign-in and the account page (those are in ``auth``): the
dashboard, contributions (and their CSV), donors (their annual statements; for admins,
their data as JSON and its erasure), accounting (the payments export and the monthly
summary), and the admin actions.

An admin action is a form (GET), a confirmation page (first POST) and the action (POST
with ``confirmed``), all CSRF-protected; the blueprint guard answers 403 to viewers. Each
form carries the page's one-time intent, so repeating a confirmation returns its first
outcome. The work itself is in ``donations.giving.admin``; these views own its
transaction and turn its refusals and Stripe's errors into messages: a refusal changed
nothing, a lost answer (``GatewayUnavailable``) may have changed something, and says so.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from donations.db import commit_or_rollback, db, utcnow
from donations.enums import Collection, Frequency, GiftStatus
from donations.giving import admin
from donations.giving.admin import Actor
from donations.models import Donor, Gift, Payment
from donations.money import InvalidAmount, as_input, format_money, to_minor
from donations.payments import GatewayError, GatewayUnavailable
from donations.privacy import erasure, export
from donations.staff import (
    accounting,
    admin_only,
    bp,
    dashboard,
    details,
    queries,
    recurring,
)
from donations.staff.csv_export import csv_chunks, movement_chunks, summary_chunks
from donations.staff.forms import (
    AccountingForm,
    CancelForm,
    ConfirmForm,
    DonorSearchForm,
    DownloadForm,
    GiftFilterForm,
    RefundForm,
)
from donations.statements.download import statement_download
from donations.statements.services import NoStatement, statement_years


def currencies() -> list[str]:
    return list(current_app.config["CURRENCIES"])


# --- reading -----------------------------------------------------------------------------


@bp.route("/", endpoint="dashboard")
def dashboard_page():
    data = dashboard.figures(utcnow())
    charts = {
        item.currency: dashboard.chart_bars(item.months, item.currency) for item in data.currencies
    }
    return render_template(
        "staff/dashboard.html",
        data=data,
        charts=charts,
        width=dashboard.CHART_WIDTH,
        height=dashboard.CHART_HEIGHT,
        periods=dashboard.PERIODS,
        period_labels=dashboard.PERIOD_LABELS,
    )


def _filter_from_request() -> tuple[GiftFilterForm, queries.GiftFilter | None]:
    """The filter form bound to the query string, and the filter when it is valid."""
    form = GiftFilterForm(formdata=request.args, currencies=currencies())
    if not form.validate():
        return form, None
    spec = queries.GiftFilter(
        q=(form.q.data or "").strip(),
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        frequency=Frequency(form.frequency.data) if form.frequency.data else None,
        status=GiftStatus(form.status.data) if form.status.data else None,
        collection=Collection(form.collection.data) if form.collection.data else None,
        currency=form.currency.data or "",
        amount_min=form.amount_min.data,
        amount_max=form.amount_max.data,
        dispute=form.dispute.data or "",
        sort=form.sort.data or "date_desc",
    )
    return form, spec


@bp.route("/gifts")
def gifts():
    form, spec = _filter_from_request()
    if spec is None:
        return render_template("staff/gifts.html", form=form, page=None, totals=[]), 400
    page = queries.gift_page(spec, currencies(), request.args.get("cursor"))
    totals = queries.cached_by_movements(
        ("totals", spec, tuple(currencies())), lambda: queries.gift_totals(spec, currencies())
    )
    query = {k: v for k, v in request.args.items() if k != "cursor" and v}
    return render_template("staff/gifts.html", form=form, page=page, totals=totals, query=query)


@bp.route("/gifts.csv")
def export_csv():
    form, spec = _filter_from_request()
    if spec is None:
        return Response("Invalid filter: " + str(form.errors), status=400, mimetype="text/plain")
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(csv_chunks(spec, currencies())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="gifts-{stamp}.csv"'},
    )


@bp.route("/gifts/<int:gift_id>")
def gift(gift_id: int):
    gift = db.session.get(Gift, gift_id) or abort(404)
    return render_template(
        "staff/gift.html",
        detail=details.gift_detail(gift),
        life=recurring.gift_life(gift, utcnow()),
    )


@bp.route("/donors")
def donors():
    form = DonorSearchForm(formdata=request.args)
    q = (form.q.data or "").strip() if form.validate() else ""
    page = queries.donor_page(q, request.args.get("cursor"))
    return render_template("staff/donors.html", form=form, page=page, q=q)


@bp.route("/donors/<int:donor_id>")
def donor(donor_id: int):
    donor = db.session.get(Donor, donor_id) or abort(404)
    return render_template(
        "staff/donor.html", detail=details.donor_detail(donor), years=statement_years(donor)
    )


@bp.route("/donors/<int:donor_id>/statements/<int:year>.pdf")
def donor_statement(donor_id: int, year: int):
    donor = db.session.get(Donor, donor_id) or abort(404)
    try:
        return statement_download(donor, year)
    except NoStatement as error:
        flash(str(error), "error")
        return redirect(url_for("staff.donor", donor_id=donor.id))


# --- accounting --------------------------------------------------------------------------


def _default_range() -> AccountingForm:
    """The accounting page before a range is chosen: this year up to today (UTC)."""
    today = utcnow().date()
    return AccountingForm(formdata=None, date_from=today.replace(month=1, day=1), date_to=today)


def _accounting_page(form: AccountingForm, summaries=None):
    return render_template("staff/accounting.html", form=form, summaries=summaries)


@bp.route("/accounting")
def accounting_page():
    # only a chosen range is a submitted form: ``?lang=ru`` alone still shows this year
    chosen = any(key in request.args for key in ("date_from", "date_to"))
    form = AccountingForm(formdata=request.args) if chosen else _default_range()
    if chosen and not form.validate():
        return _accounting_page(form), 400
    summaries = accounting.monthly_summary(form.date_from.data, form.date_to.data)
    return _accounting_page(form, summaries)


def _csv_download(stream, name: str):
    """A streamed CSV of the range in the query string, or the page with its errors."""
    form = AccountingForm(formdata=request.args)
    if not form.validate():
        return _accounting_page(form), 400
    first, last = form.date_from.data, form.date_to.data
    return Response(
        stream_with_context(stream(first, last, bom=form.bom.data)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{first}-to-{last}.csv"'},
    )


@bp.route("/accounting/payments.csv")
def payments_csv():
    return _csv_download(movement_chunks, "payments")


@bp.route("/accounting/summary.csv")
def summary_csv():
    return _csv_download(summary_chunks, "monthly-summary")


# --- admin actions -----------------------------------------------------------------------


def _back(gift_id: int):
    return redirect(url_for("staff.gift", gift_id=gift_id))


def _failed(error: Exception, gift_id: int):
    if isinstance(error, GatewayError):
        flash(f"Stripe refused: {error.message} Nothing was changed.", "error")
    else:
        flash(f"{error} Nothing was changed.", "error")
    return _back(gift_id)


#: what a page says when Stripe's answer to a change never came
ANSWER_LOST = (
    "Stripe did not answer in time, so we do not know yet whether {what}. The outcome "
    "will show on the gift page once Stripe's event arrives. Confirming this page again "
    "is safe: it asks Stripe about the same request and cannot do it twice."
)


@bp.route("/payments/<int:payment_id>/refund", methods=["GET", "POST"])
@admin_only
def refund(payment_id: int):
    payment = db.session.get(Payment, payment_id) or abort(404)
    remaining = admin.remaining_refundable(payment)
    form = RefundForm()
    page = {"payment": payment, "remaining": remaining, "form": form}
    if not form.validate_on_submit():
        if not form.is_submitted():
            form.amount.data = as_input(remaining, payment.currency) if remaining else ""
        return render_template("staff/refund.html", **page, confirm=False)
    try:
        text = (form.amount.data or "").strip()
        amount = to_minor(text, payment.currency) if text else remaining
    except InvalidAmount as error:
        form.amount.errors = [str(error)]
        return render_template("staff/refund.html", **page, confirm=False), 400
    if form.confirmed.data == "yes":
        return _confirm_refund(payment, amount, form, page)
    if amount <= 0 or amount > remaining:
        limit = format_money(remaining, payment.currency)
        form.amount.errors = [f"Enter an amount above zero and at most {limit}."]
        return render_template("staff/refund.html", **page, confirm=False), 400
    form.amount.data = as_input(amount, payment.currency)
    return render_template("staff/refund.html", **page, amount=amount, confirm=True)


def _confirm_refund(payment: Payment, amount: int, form: RefundForm, page: dict):
    """Carry out a confirmed refund; the amount is checked against what remains by
    ``admin.refund_payment``, unless this confirmation was carried out before."""
    gift_id, currency = payment.gift_id, payment.currency
    actor, intent = Actor.staff(current_user), form.intent.data
    try:
        with commit_or_rollback():
            outcome = admin.refund_payment(payment, amount, actor=actor, intent=intent)
    except GatewayUnavailable:
        with commit_or_rollback():
            admin.record_lost_refund(payment, amount, actor=actor, intent=intent)
        what = f"{format_money(amount, currency)} was refunded"
        flash(ANSWER_LOST.format(what=what), "error")
        return render_template("staff/refund.html", **page, amount=amount, confirm=True), 504
    except (admin.ActionRefused, GatewayError) as error:
        return _failed(error, gift_id)
    refunded = format_money(outcome.amount, currency)
    if outcome.repeated:
        flash(f"This refund was already made: {refunded} refunded. Nothing more was done.", "info")
    elif outcome.row is None:
        flash(f"Stripe accepted the refund of {refunded}; it shows here once it completes.", "info")
    else:
        flash(f"Refunded {refunded}.", "success")
    return _back(gift_id)


@bp.route("/gifts/<int:gift_id>/cancel", methods=["GET", "POST"])
@admin_only
def cancel(gift_id: int):
    gift = db.session.get(Gift, gift_id) or abort(404)
    form = CancelForm()
    if not form.validate_on_submit():
        return render_template("staff/cancel.html", gift=gift, form=form, confirm=False)
    at_period_end = form.when.data != "now"
    if form.confirmed.data != "yes":
        return render_template("staff/cancel.html", gift=gift, form=form, confirm=True)
    try:
        with commit_or_rollback():
            admin.cancel_gift(
                gift,
                at_period_end=at_period_end,
                actor=Actor.staff(current_user),
                intent=form.intent.data,
            )
    except GatewayUnavailable:
        flash(ANSWER_LOST.format(what="the gift was cancelled"), "error")
        return render_template("staff/cancel.html", gift=gift, form=form, confirm=True), 504
    except (admin.ActionRefused, GatewayError) as error:
        return _failed(error, gift_id)
    flash(
        "The gift will end at the end of its paid period."
        if at_period_end
        else "The gift is cancelled.",
        "success",
    )
    return _back(gift_id)


@bp.route("/payments/<int:payment_id>/resend-receipt", methods=["GET", "POST"])
@admin_only
def resend_receipt(payment_id: int):
    payment = db.session.get(Payment, payment_id) or abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit() or form.confirmed.data != "yes":
        return render_template("staff/resend.html", payment=payment, form=form)
    gift_id, email = payment.gift_id, payment.gift.donor.email
    try:
        with commit_or_rollback():
            queued = admin.resend_receipt(
                payment, actor=Actor.staff(current_user), intent=form.intent.data
            )
    except admin.ActionRefused as error:
        return _failed(error, gift_id)
    flash(
        f"Receipt queued for {email}."
        if queued
        else f"This receipt was already queued for {email}. Nothing more was done.",
        "success",
    )
    return _back(gift_id)


# --- a donor's data (admins only: a whole person's data leaves in one file) -------------


@bp.post("/donors/<int:donor_id>/data.json")
@admin_only
def donor_data(donor_id: int):
    """Everything held about the donor, as the JSON file they would download themselves."""
    donor = db.session.get(Donor, donor_id) or abort(404)
    if not DownloadForm().validate_on_submit():
        abort(400)
    now = utcnow()
    body = export.as_json(export.donor_data(donor, now))
    with commit_or_rollback():
        export.record_export(donor, actor=Actor.staff(current_user))
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{export.filename(now)}"'},
    )


@bp.route("/donors/<int:donor_id>/erase", methods=["GET", "POST"])
@admin_only
def donor_erase(donor_id: int):
    """Erase the donor's personal data: a confirmation page (with its one-time intent),
    then the erasure; confirming again finds it done."""
    donor = db.session.get(Donor, donor_id) or abort(404)
    form = ConfirmForm()
    back = redirect(url_for("staff.donor", donor_id=donor_id))
    if not form.validate_on_submit() or form.confirmed.data != "yes":
        if donor.erased_at is not None:
            flash("This donor's personal data is erased already.", "info")
            return back
        return _erase_page(donor, form)
    try:
        with commit_or_rollback():
            done = erasure.erase_donor(
                donor, actor=Actor.staff(current_user), intent=form.intent.data
            )
    except GatewayUnavailable:
        flash(
            "Stripe did not answer in time, so nothing was erased here; Stripe may have "
            "cancelled gifts or deleted customers already. Confirming again is safe: it "
            "finishes the erasure.",
            "error",
        )
        return _erase_page(donor, form), 504
    except GatewayError as error:
        flash(f"Stripe refused: {error.message} Nothing was erased.", "error")
        return _erase_page(donor, form), 502
    if done.repeated:
        flash("This donor's personal data was erased already. Nothing more was done.", "info")
    else:
        flash(
            f"Personal data erased: {len(done.cancelled)} recurring gift(s) cancelled, "
            f"{len(done.customers)} Stripe customer(s) deleted.",
            "success",
        )
    return back


def _erase_page(donor: Donor, form: ConfirmForm):
    return render_template(
        "staff/erase.html", donor=donor, form=form, ending=erasure.ends_now(donor)
    )
