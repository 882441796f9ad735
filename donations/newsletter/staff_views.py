"""Staff: the subscriber list (filter, counts, pages), its CSV export, and the hand-offs
to the email service that failed, each with its error and (admins) a retry button.

The staff area's guard runs first (login, second factor, 403 for viewers on
``admin_only`` views), as on every staff page.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for

from donations.db import commit_or_rollback, utcnow
from donations.enums import SubscriberStatus
from donations.newsletter import handoffs, queries, staff_bp
from donations.newsletter.forms import SubscriberFilterForm
from donations.staff import admin_only, no_store, require_staff

staff_bp.before_request(require_staff)
staff_bp.after_request(no_store)


def _filter_from_request() -> tuple[SubscriberFilterForm, queries.SubscriberFilter | None]:
    form = SubscriberFilterForm(formdata=request.args)
    if not form.validate():
        return form, None
    status = SubscriberStatus(form.status.data) if form.status.data else None
    return form, queries.SubscriberFilter(q=(form.q.data or "").strip(), status=status)


@staff_bp.route("/newsletter")
def subscribers():
    form, spec = _filter_from_request()
    page = {
        "form": form,
        "counts": queries.status_counts(),
        "handoff_counts": queries.handoff_counts(),
        "troubled": queries.troubled_handoffs(),
    }
    if spec is None:
        return render_template("staff/newsletter.html", list_page=None, **page), 400
    query = {k: v for k, v in request.args.items() if k != "cursor" and v}
    list_page = queries.subscriber_page(spec, request.args.get("cursor"))
    return render_template("staff/newsletter.html", list_page=list_page, query=query, **page)


@staff_bp.route("/newsletter.csv")
def export_csv():
    form, spec = _filter_from_request()
    if spec is None:
        return Response("Invalid filter: " + str(form.errors), status=400, mimetype="text/plain")
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(queries.csv_chunks(spec)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="newsletter-{stamp}.csv"'},
    )


@staff_bp.post("/newsletter/handoffs/<int:handoff_id>/retry")
@admin_only
def retry_handoff(handoff_id: int):
    """Put a failed hand-off back in the queue; the worker sends it on its next round."""
    with commit_or_rollback():
        retried = handoffs.retry(handoff_id, utcnow())
    if retried:
        flash(f"Hand-off {handoff_id} will be sent again on the worker's next round.", "success")
    else:
        flash(f"Hand-off {handoff_id} has not failed: there is nothing to retry.", "error")
    return redirect(url_for("newsletter_staff.subscribers"))
