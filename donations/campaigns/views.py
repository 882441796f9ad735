"""Staff pages of campaigns: the list, a campaign with its A/B results and verdict, the
campaign and variant forms, switching a variant off, and ending a test.

Viewers read; every change is ``admin_only`` (the staff guard answers 403). A form that
does not validate is shown again with its messages (400) and changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for

from donations.campaigns import admin, bp, queries, stats
from donations.campaigns import presets as preset_rules
from donations.campaigns.forms import (
    FREQUENCY_NAMES,
    CampaignForm,
    EndTestForm,
    ToggleForm,
    VariantForm,
)
from donations.campaigns.services import flush_counts
from donations.db import commit_or_rollback, db, utcnow
from donations.models import Campaign, CampaignVariant
from donations.staff import admin_only

ENDED_MESSAGE = "This campaign's test has ended: its variants no longer change."


def state(campaign: Campaign, now: datetime) -> str:
    """ "scheduled", "running" or "ended", by the campaign's dates."""
    if campaign.starts_at and now < campaign.starts_at:
        return "scheduled"
    if campaign.ends_at and now >= campaign.ends_at:
        return "ended"
    return "running"


def days(campaign: Campaign) -> tuple[date | None, date | None]:
    """The campaign's first and last day (UTC), as staff entered them."""
    first = campaign.starts_at.date() if campaign.starts_at else None
    last = (campaign.ends_at - timedelta(days=1)).date() if campaign.ends_at else None
    return first, last


def _campaign(campaign_id: int) -> Campaign:
    return db.session.get(Campaign, campaign_id) or abort(404)


def _variant(campaign: Campaign, variant_id: int) -> CampaignVariant:
    variant = db.session.get(CampaignVariant, variant_id)
    if variant is None or variant.campaign_id != campaign.id:
        abort(404)
    return variant


@bp.get("", endpoint="index")
def campaign_list():
    campaigns = db.session.scalars(sa.select(Campaign).order_by(Campaign.id.desc())).all()
    now = utcnow()
    rows = [
        {"campaign": c, "state": state(c, now), "goal": queries.goal_progress(c), "days": days(c)}
        for c in campaigns
    ]
    return render_template("staff/campaigns.html", rows=rows)


@bp.get("/<int:campaign_id>", endpoint="detail")
def campaign_detail(campaign_id: int):
    campaign = _campaign(campaign_id)
    flush_counts()  # this process's own counts, so a staff check right after a visit adds up
    results = queries.variant_results(campaign.id)
    arms = [
        stats.Arm(result.key.upper(), result.views, result.paid_gifts)
        for result in results
        if result.active
    ]
    currencies = preset_rules.offered(campaign.currencies)
    amount_currency = preset_rules.amount_currency(currencies)
    return render_template(
        "staff/campaign.html",
        campaign=campaign,
        state=state(campaign, utcnow()),
        days=days(campaign),
        goal=queries.goal_progress(campaign),
        results=results,
        verdict=stats.verdict(arms),
        revenue_currencies=sorted({c for r in results for c in r.revenue} or {amount_currency}),
        presets=preset_rules.parse(campaign.presets),
        currencies=currencies,
        amount_currency=amount_currency,
        frequency_names=FREQUENCY_NAMES,
        toggle_form=ToggleForm(),
        min_views=stats.MIN_VIEWS,
        min_conversions=stats.MIN_CONVERSIONS,
    )


def _campaign_form_page(form: CampaignForm, campaign: Campaign | None, status: int = 200):
    return render_template("staff/campaign_form.html", form=form, campaign=campaign), status


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@admin_only
def new_campaign():
    form = CampaignForm()
    if request.method == "GET":
        return _campaign_form_page(form, None)
    if not form.validate():
        return _campaign_form_page(form, None, 400)
    with commit_or_rollback():
        campaign = admin.save_campaign(form.spec)
    flash(f"Campaign “{campaign.slug}” saved.", "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"], endpoint="edit")
@admin_only
def edit_campaign(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = CampaignForm(campaign=campaign)
    if request.method == "GET":
        form.fill(campaign)
        return _campaign_form_page(form, campaign)
    if not form.validate():
        return _campaign_form_page(form, campaign, 400)
    with commit_or_rollback():
        admin.save_campaign(form.spec, campaign)
    flash(f"Campaign “{campaign.slug}” saved.", "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


def _variant_page(campaign, form, variant=None, status: int = 200):
    currency = preset_rules.amount_currency(preset_rules.offered(campaign.currencies))
    return render_template(
        "staff/campaign_variant.html",
        campaign=campaign,
        form=form,
        variant=variant,
        amount_currency=currency,
    ), status


def _save_variant(campaign: Campaign, form: VariantForm, variant: CampaignVariant | None):
    if campaign.test_ended_at is not None:
        flash(ENDED_MESSAGE, "error")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    if request.method == "GET":
        return _variant_page(campaign, form, variant)
    currency = preset_rules.amount_currency(preset_rules.offered(campaign.currencies))
    valid = form.validate()
    presets = form.read_presets(currency)
    if not valid or presets is None:
        return _variant_page(campaign, form, variant, 400)
    with commit_or_rollback():
        saved = admin.save_variant(
            campaign, form.headline.data or "", form.body.data or "", presets, variant
        )
    flash(f"Variant {saved.key.upper()} saved.", "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.route("/<int:campaign_id>/variants/new", methods=["GET", "POST"], endpoint="new_variant")
@admin_only
def new_variant(campaign_id: int):
    return _save_variant(_campaign(campaign_id), VariantForm(), None)


@bp.route(
    "/<int:campaign_id>/variants/<int:variant_id>/edit",
    methods=["GET", "POST"],
    endpoint="edit_variant",
)
@admin_only
def edit_variant(campaign_id: int, variant_id: int):
    campaign = _campaign(campaign_id)
    variant = _variant(campaign, variant_id)
    form = VariantForm(obj=variant if request.method == "GET" else None)
    if request.method == "GET":
        form.fill_presets(
            variant.presets,
            preset_rules.amount_currency(preset_rules.offered(campaign.currencies)),
        )
    return _save_variant(campaign, form, variant)


@bp.post("/<int:campaign_id>/variants/<int:variant_id>/active", endpoint="toggle_variant")
@admin_only
def toggle_variant(campaign_id: int, variant_id: int):
    campaign = _campaign(campaign_id)
    variant = _variant(campaign, variant_id)
    back = redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    if not ToggleForm().validate_on_submit():
        flash("This page has expired; please try again. Nothing was changed.", "error")
        return back
    active = request.form.get("active") == "yes"
    try:
        with commit_or_rollback():
            admin.set_active(variant, active)
    except admin.TestEnded:
        flash(ENDED_MESSAGE, "error")
        return back
    flash(
        f"Variant {variant.key.upper()} is {'back in' if active else 'out of'} the test.",
        "success",
    )
    return back


@bp.route("/<int:campaign_id>/end-test", methods=["GET", "POST"], endpoint="end_test")
@admin_only
def end_test(campaign_id: int):
    campaign = _campaign(campaign_id)
    back = redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    if campaign.test_ended_at is not None:
        flash("This test has already ended. Nothing more was done.", "info")
        return back
    if not campaign.variants:
        flash("This campaign has no variants to choose from.", "error")
        return back
    results = queries.variant_results(campaign.id)
    verdict = stats.verdict(
        [stats.Arm(r.key.upper(), r.views, r.paid_gifts) for r in results if r.active]
    )
    form = EndTestForm()
    form.winner.choices = [(r.key, f"Variant {r.key.upper()}") for r in results]
    if request.method == "GET":
        best = max(results, key=lambda r: (r.conversion or 0, r.active))
        form.winner.data = (verdict.winner or best.key.upper()).lower()
    page = {"campaign": campaign, "form": form, "verdict": verdict, "results": results}
    if request.method == "GET":
        return render_template("staff/campaign_end.html", confirm=False, **page)
    winner = next((v for v in campaign.variants if v.key == form.winner.data), None)
    if not form.validate_on_submit() or winner is None:
        if winner is None:
            form.winner.errors = [*form.winner.errors, "Choose the variant to keep."]
        return render_template("staff/campaign_end.html", confirm=False, **page), 400
    if form.confirmed.data != "yes":
        return render_template("staff/campaign_end.html", confirm=True, winner=winner, **page)
    with commit_or_rollback():
        admin.end_test(campaign, winner)
    flash(
        f"The test has ended: variant {winner.key.upper()} is now the campaign's copy.", "success"
    )
    return back
