"""Admin actions: refund, cancel, resend a receipt.

Each is a form (GET), a confirmation page (first POST) and the action (POST with
``confirmed``), all CSRF-protected; the blueprint guard answers 403 to viewers. The work
itself is in ``donations.giving.admin``; views only translate its refusals and Stripe's
errors into messages.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from donations.extensions import db
from donations.giving import admin
from donations.models import Gift, Payment
from donations.money import InvalidAmount, as_input, format_money, to_minor
from donations.payments import GatewayError
from donations.staff import admin_only, bp
from donations.staff.forms import CancelForm, ConfirmForm, RefundForm


def _back(gift_id: int):
    return redirect(url_for("staff.gift", gift_id=gift_id))


def _failed(error: Exception, gift_id: int):
    if isinstance(error, GatewayError):
        flash(f"Stripe refused: {error.message} Nothing was changed.", "error")
    else:
        flash(f"{error} Nothing was changed.", "error")
    return _back(gift_id)


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
    if amount <= 0 or amount > remaining:
        limit = format_money(remaining, payment.currency)
        form.amount.errors = [f"Enter an amount above zero and at most {limit}."]
        return render_template("staff/refund.html", **page, confirm=False), 400
    if form.confirmed.data != "yes":
        form.amount.data = as_input(amount, payment.currency)
        return render_template("staff/refund.html", **page, amount=amount, confirm=True)
    try:
        admin.refund_payment(payment, amount, actor=current_user)
    except (admin.ActionRefused, GatewayError) as error:
        return _failed(error, payment.gift_id)
    flash(f"Refunded {format_money(amount, payment.currency)}.", "success")
    return _back(payment.gift_id)


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
        admin.cancel_gift(gift, at_period_end=at_period_end, actor=current_user)
    except (admin.ActionRefused, GatewayError) as error:
        return _failed(error, gift.id)
    flash(
        "The gift will end at the end of its paid period."
        if at_period_end
        else "The gift is cancelled.",
        "success",
    )
    return _back(gift.id)


@bp.route("/payments/<int:payment_id>/resend-receipt", methods=["GET", "POST"])
@admin_only
def resend_receipt(payment_id: int):
    payment = db.session.get(Payment, payment_id) or abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit() or form.confirmed.data != "yes":
        return render_template("staff/resend.html", payment=payment, form=form)
    try:
        admin.resend_receipt(payment, actor=current_user)
    except (admin.ActionRefused, GatewayError) as error:
        return _failed(error, payment.gift_id)
    flash(f"Receipt queued for {payment.gift.donor.email}.", "success")
    return _back(payment.gift_id)
