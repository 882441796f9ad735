"""The weekly newsletter sign-up: double opt-in, consent kept, hand-offs to the newsroom's
email service.

Two blueprints: ``newsletter`` for readers (sign-up, confirm, unsubscribe) and
``newsletter_staff`` for the subscriber list under /staff/newsletter, guarded by the staff
area's own ``before_request`` (the staff blueprint is registered before this package, so
its routes cannot be added to it).
"""

from flask import Blueprint, Flask

bp = Blueprint("newsletter", __name__, url_prefix="/newsletter")
staff_bp = Blueprint("newsletter_staff", __name__, url_prefix="/staff")


def init_app(app: Flask) -> None:
    from donations.newsletter import staff_views, views  # noqa: F401  (attach the routes)
    from donations.newsletter.services import consent_text, signup_action

    app.add_template_global(consent_text, "newsletter_consent_text")
    app.add_template_global(signup_action, "newsletter_signup_action")
    app.register_blueprint(bp)
    app.register_blueprint(staff_bp)
