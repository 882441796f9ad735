"""Dashboard, contributions list and gift page: read-only views for every staff member."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from werkzeug.datastructures import MultiDict

from donations.extensions import db
from donations.models import Gift, utcnow
from donations.staff import bp, chart, details, figures
from donations.staff.cache import cached_by_gifts
from donations.staff.forms import GiftFilterForm
from donations.staff.listing import GiftFilter, gift_page, gift_totals


def currencies() -> list[str]:
    return list(current_app.config.get("CURRENCIES", ["USD"]))


@bp.app_template_global()
def stripe_url(object_id: str | None) -> str | None:
    return details.stripe_url(object_id)


@bp.route("/")
def dashboard():
    data = figures.dashboard(utcnow())
    charts = {item.currency: chart.bars(item.months, item.currency) for item in data.currencies}
    return render_template(
        "staff/dashboard.html", data=data, charts=charts, width=chart.WIDTH, height=chart.HEIGHT
    )


def filter_from_request() -> tuple[GiftFilterForm, GiftFilter | None]:
    """The filter form bound to the query string, and the filter when it is valid."""
    args = MultiDict(request.args)
    form = GiftFilterForm(formdata=args, currencies=currencies())
    if not form.validate():
        return form, None
    spec = GiftFilter(
        q=(form.q.data or "").strip(),
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        frequency=form.frequency.data or "",
        status=form.status.data or "",
        currency=form.currency.data or "",
        amount_min=form.amount_min.data,
        amount_max=form.amount_max.data,
        sort=form.sort.data or "date_desc",
    )
    return form, spec


@bp.route("/gifts")
def gifts():
    form, spec = filter_from_request()
    if spec is None:
        return render_template("staff/gifts.html", form=form, page=None, totals=[]), 400
    page = gift_page(spec, currencies(), request.args.get("cursor"))
    totals = cached_by_gifts(
        ("totals", spec, tuple(currencies())), lambda: gift_totals(spec, currencies())
    )
    query = {k: v for k, v in request.args.items() if k != "cursor" and v}
    return render_template("staff/gifts.html", form=form, page=page, totals=totals, query=query)


@bp.route("/gifts/<int:gift_id>")
def gift(gift_id: int):
    gift = db.session.get(Gift, gift_id) or abort(404)
    return render_template("staff/gift.html", detail=details.gift_detail(gift))
