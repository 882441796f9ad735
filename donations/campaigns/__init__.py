"""Appeals staff run: campaigns with their copy, presets, dates and goal, and A/B tests.

The reader pages ask ``services`` for a campaign's page; the staff pages (this
blueprint, under ``/staff/campaigns``) are guarded as the rest of the staff area is: the
staff blueprint's own ``require_staff``, so viewers read and only admins change.
"""

from flask import Blueprint, Flask

from donations.staff import no_store, require_staff

bp = Blueprint("campaigns", __name__, url_prefix="/staff/campaigns")
bp.before_request(require_staff)
bp.after_request(no_store)


def init_app(app: Flask) -> None:
    from donations.campaigns import views  # noqa: F401  (registers the routes)

    app.register_blueprint(bp)
