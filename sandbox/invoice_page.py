"""The hosted invoice page at each finalized invoice's ``hosted_invoice_url``: read-only.

It shows what the invoice is for, its amount and whether it is paid, open or void, so links
the platform sends donors lead somewhere. Unlike Stripe's, it takes no payment: an open invoice
is paid by a retry, ``POST /v1/invoices/{id}/pay`` or a new default card.
"""

import html
from datetime import UTC, datetime

from localstripe import resources as ls

from .common import match
from .money import format_amount
from .payment_page import page

STATUS_TEXT = {
    "paid": "Paid",
    "open": "Due: the payment has not gone through yet.",
    "void": "Void: nothing is owed.",
    "draft": "Draft",
}


def _day(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %B %Y")


def _product_name(line):
    product = ls.store.get("product:" + line.plan.product) if line.plan else None
    return product.name if product is not None else "Subscription"


async def show(request):
    invoice = ls.store.get("invoice:" + match(request, "id"))
    if invoice is None or getattr(invoice, "hosted_invoice_url", None) is None:
        return page("Not found", "<h1>No such invoice.</h1>", status=404)
    lines = "".join(
        f"<p>{html.escape(_product_name(line))} · "
        f"{_day(line.period['start'])} – {_day(line.period['end'])}</p>"
        for line in invoice.lines._list
    )
    body = (
        f"<h1>Invoice {html.escape(invoice.id)}</h1>"
        f'<p class="amount">{format_amount(invoice.total, invoice.currency)}</p>{lines}'
        f'<p class="muted">{html.escape(STATUS_TEXT.get(invoice.status, invoice.status))}</p>'
    )
    return page("Invoice", body)


PUBLIC_ROUTES = [("GET", "/invoices/{id}", show)]
