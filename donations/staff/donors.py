"""Donors list (search, keyset pages) and donor page."""

from __future__ import annotations

from flask import abort, render_template, request

from donations.extensions import db
from donations.models import Donor
from donations.staff import bp, details
from donations.staff.forms import DonorSearchForm
from donations.staff.listing import donor_page


@bp.route("/donors")
def donors():
    form = DonorSearchForm(formdata=request.args)
    q = (form.q.data or "").strip() if form.validate() else ""
    page = donor_page(q, request.args.get("cursor"))
    return render_template("staff/donors.html", form=form, page=page, q=q)


@bp.route("/donors/<int:donor_id>")
def donor(donor_id: int):
    donor = db.session.get(Donor, donor_id) or abort(404)
    return render_template("staff/donor.html", detail=details.donor_detail(donor))
