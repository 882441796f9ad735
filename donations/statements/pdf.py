"""Draw an annual statement as an A4 PDF with fpdf2.

Most statements are set in Helvetica, one of the fonts every PDF reader has, so no font is
embedded: its Windows-1252 characters cover English and Western European names, €, £ and
the statement's own punctuation. A statement with any other character (a name in Cyrillic,
Greek, Polish …) embeds DejaVu Sans instead (``static/fonts/``, see its README), so "Зоя"
reads as typed. Embedding is what costs: fpdf2 parses and subsets the fonts of each PDF,
which makes such a statement three to four times slower to draw (``bench/statements.py``).

The wording, dates and amounts are in the current language (the donor's, when the worker
attaches a statement to its email); a language Windows-1252 cannot write, such as
Russian, embeds DejaVu Sans too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date

from babel.dates import format_date
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from donations.config import PROJECT_ROOT
from donations.enums import TributeKind
from donations.i18n import current_language
from donations.money import format_money
from donations.statements.services import Line, Organisation, Statement, Total
from donations.templating import FREQUENCY_LABELS

#: a standard PDF font (never embedded) and the character set its text is written in
STANDARD_FAMILY = "helvetica"
STANDARD_ENCODING = "windows-1252"
#: the embedded font for every other statement, by style ("" regular, "B" bold)
UNICODE_FAMILY = "DejaVuSans"
UNICODE_FONTS = {
    "": PROJECT_ROOT / "static" / "fonts" / "DejaVuSans-subset.ttf",
    "B": PROJECT_ROOT / "static" / "fonts" / "DejaVuSans-Bold-subset.ttf",
}
INK = (28, 27, 26)
MUTED = (95, 91, 85)
BRAND = (179, 38, 30)
RULE = (221, 215, 205)
#: the payments table: heading, width (mm; 180 fill the A4 page inside its margins), align
COLUMNS = (
    (_l("Date"), 22, "L"),
    (_l("Receipt no."), 24, "L"),
    (_l("Gift"), 38, "L"),
    (_l("Amount"), 24, "R"),
    (_l("Refunded"), 24, "R"),
    (_l("Disputed"), 24, "R"),
    (_l("Retained"), 24, "R"),
)
ROW_HEIGHT = 6.5
NOTHING = "–"


class _Document(FPDF):
    """An A4 page with the issuer and page number in the footer of every page."""

    def __init__(self, footer: str, *, unicode: bool) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=20)
        if unicode:
            for style, path in UNICODE_FONTS.items():
                self.add_font(UNICODE_FAMILY, style, path)
            self.typeface = UNICODE_FAMILY
        else:
            self.core_fonts_encoding = STANDARD_ENCODING
            self.typeface = STANDARD_FAMILY

    def footer(self) -> None:
        self.set_y(-13)
        _font(self, 7.5, MUTED)
        page = _("page %(page)s of %(pages)s", page=self.page_no(), pages="{nb}")
        self.cell(0, 5, f"{self.footer_text} · {page}", align="C")


def render(statement: Statement, organisation: Organisation) -> bytes:
    title = _("Annual statement %(year)s", year=statement.year)
    pdf = _Document(
        f"{_text(organisation.legal_name)} · {title}",
        unicode=needs_unicode_font(statement, organisation),
    )
    pdf.set_title(title)
    pdf.set_author(_text(organisation.legal_name))
    pdf.set_lang(current_language())
    pdf.add_page()
    _issuer(pdf, organisation)
    _summary(pdf, statement)
    _payments(pdf, statement.lines)
    _totals(pdf, statement)
    _tributes(pdf, statement)
    _notes(pdf, statement, organisation)
    return bytes(pdf.output())


def needs_unicode_font(statement: Statement, organisation: Organisation) -> bool:
    """Whether the statement's words (names, addresses, currency signs, and the wording
    in the current language) have a character the standard font cannot print."""
    texts = [
        _("Annual statement of contributions %(year)s", year=statement.year),
        *(str(heading) for heading, _width, _align in COLUMNS),
        organisation.legal_name,
        *organisation.address,
        organisation.tax_id,
        organisation.receipt_statement,
        statement.donor_name,
        statement.donor_email,
        *(tribute.name for tribute in statement.tributes),
        *(format_money(0, total.currency) for total in statement.totals),
    ]
    try:
        _text("".join(texts)).encode(STANDARD_ENCODING)
    except UnicodeEncodeError:
        return True
    return False


def _issuer(pdf: _Document, organisation: Organisation) -> None:
    _font(pdf, 16, INK, bold=True)
    _paragraph(pdf, _text(organisation.legal_name), 7.5)
    _font(pdf, 9, MUTED)
    for line in organisation.address:
        _paragraph(pdf, _text(line), 4.5)
    if organisation.tax_id:
        number = _("Registration / tax number: %(number)s", number=_text(organisation.tax_id))
        _paragraph(pdf, number, 4.5)
    pdf.ln(3)
    pdf.set_fill_color(*BRAND)
    pdf.rect(pdf.l_margin, pdf.get_y(), pdf.epw, 0.8, style="F")
    pdf.ln(5)


def _summary(pdf: _Document, statement: Statement) -> None:
    _font(pdf, 14, INK, bold=True)
    pdf.cell(0, 8, _("Annual statement of contributions %(year)s", year=statement.year))
    pdf.ln(10)
    rows = [
        (_("Period"), _period(statement)),
        (_("Donor"), _text(statement.donor_name)),
        (_("Email"), _text(statement.donor_email)),
        (_("Issued"), _day(statement.issued_on, "d MMMM y")),
    ]
    for label, value in rows:
        if not value:
            continue
        _font(pdf, 9.5, MUTED)
        pdf.cell(30, 5.5, label)
        _font(pdf, 9.5, INK)
        _paragraph(pdf, value, 5.5)
    pdf.ln(5)


def _period(statement: Statement) -> str:
    start = _day(date(statement.year, 1, 1), "d MMMM y")
    if statement.complete:
        return f"{start} – {_day(date(statement.year, 12, 31), 'd MMMM y')}"
    today = _day(statement.issued_on, "d MMMM y")
    return _("%(start)s – %(today)s (the year so far)", start=start, today=today)


def _payments(pdf: _Document, lines: Sequence[Line]) -> None:
    _section(pdf, _("Payments"))
    _table_heading(pdf)
    for line in lines:
        if pdf.will_page_break(ROW_HEIGHT):
            pdf.add_page()
            _table_heading(pdf)
        cells = (
            _day(line.paid_at, "d MMM y"),
            line.receipt_number or NOTHING,
            _(
                "%(frequency)s, gift %(gift)s",
                frequency=FREQUENCY_LABELS[line.frequency],
                gift=line.gift_id,
            ),
            _money(line.amount, line.currency),
            _returned(line.refunded, line.currency),
            _returned(line.disputed, line.currency),
            _money(line.retained, line.currency),
        )
        _font(pdf, 8.5, INK)
        _row(pdf, cells)
        _rule(pdf)
    pdf.ln(6)


def _table_heading(pdf: _Document) -> None:
    _font(pdf, 8, MUTED)
    _row(pdf, [str(heading) for heading, _width, _align in COLUMNS])
    _rule(pdf, INK)


def _totals(pdf: _Document, statement: Statement) -> None:
    if pdf.will_page_break(14 + ROW_HEIGHT * len(statement.totals)):
        pdf.add_page()
    _section(pdf, _("Totals for %(year)s, per currency", year=statement.year))
    _font(pdf, 8, MUTED)
    label_width = sum(width for _heading, width, _align in COLUMNS[:3])
    pdf.cell(label_width, ROW_HEIGHT, _("Currency"))
    for heading, width, align in COLUMNS[3:]:
        pdf.cell(width, ROW_HEIGHT, str(heading), align=align)
    pdf.ln(ROW_HEIGHT)
    _rule(pdf, INK)
    for total in statement.totals:
        _total_row(pdf, total, label_width)
        _rule(pdf)
    pdf.ln(6)


def _total_row(pdf: _Document, total: Total, label_width: float) -> None:
    payments = ngettext("%(num)d payment", "%(num)d payments", total.payments)
    amounts = (
        _money(total.amount, total.currency),
        _returned(total.refunded, total.currency),
        _returned(total.disputed, total.currency),
        _money(total.retained, total.currency),
    )
    _font(pdf, 9.5, INK, bold=True)
    pdf.cell(label_width, ROW_HEIGHT, f"{total.currency} · {payments}")
    for (_heading, width, align), text in zip(COLUMNS[3:], amounts, strict=True):
        pdf.cell(width, ROW_HEIGHT, text, align=align)
    pdf.ln(ROW_HEIGHT)


def _tributes(pdf: _Document, statement: Statement) -> None:
    if not statement.tributes:
        return
    _section(pdf, _("Dedications"))
    _font(pdf, 9, INK)
    for tribute in statement.tributes:
        values = {"gift": tribute.gift_id, "name": _text(tribute.name)}
        if tribute.kind is TributeKind.MEMORY:
            words = _("Gift %(gift)s was given in memory of %(name)s.", **values)
        else:
            words = _("Gift %(gift)s was given in honour of %(name)s.", **values)
        _paragraph(pdf, words, 5)
    pdf.ln(4)


def _notes(pdf: _Document, statement: Statement, organisation: Organisation) -> None:
    issued = _day(statement.issued_on, "d MMMM y")
    notes = [
        _(
            "“Retained” is what %(organisation)s kept of each payment: the amount paid less "
            "any refund and any amount a card dispute withdrew and did not return. Amounts "
            "are in the currency paid; totals are per currency and never converted.",
            organisation=_text(organisation.legal_name),
        ),
        _(
            "Dates are the days payments were made (UTC). Refunds and disputes are as "
            "recorded on %(issued)s.",
            issued=issued,
        ),
    ]
    if not statement.complete:
        notes.append(
            _(
                "This statement covers %(year)s so far; a statement of the whole year will "
                "be available once it has ended.",
                year=statement.year,
            )
        )
    _font(pdf, 8.5, MUTED)
    for note in notes:
        _paragraph(pdf, note, 4.5)
        pdf.ln(1.5)
    if organisation.receipt_statement:
        pdf.ln(2)
        _font(pdf, 9.5, INK, bold=True)
        _paragraph(pdf, _text(organisation.receipt_statement), 5)


def _paragraph(pdf: _Document, text: str, height: float) -> None:
    """Text from where the cursor is to the right margin, wrapped at spaces, then back to
    the left margin on the next line.

    fpdf2's ``multi_cell`` measures the line again for each character it adds, which made
    a statement's few paragraphs a fifth of its time; here each word is measured once. A
    word wider than the space (no space to break at) is left to ``multi_cell``.
    """
    left = pdf.get_x()
    width = pdf.w - pdf.r_margin - left
    if pdf.get_string_width(text) <= width:
        pdf.cell(width, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    words = text.split()
    widths = [pdf.get_string_width(word) for word in words]
    if any(word_width > width for word_width in widths):
        pdf.multi_cell(width, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    space = pdf.get_string_width(" ")
    lines: list[list[str]] = []
    used = width  # so the first word starts a line
    for word, word_width in zip(words, widths, strict=True):
        if used + space + word_width > width:
            lines.append([word])
            used = word_width
        else:
            lines[-1].append(word)
            used += space + word_width
    for line in lines:
        pdf.set_x(left)
        pdf.cell(width, height, " ".join(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _section(pdf: _Document, title: str) -> None:
    _font(pdf, 11, BRAND, bold=True)
    pdf.cell(0, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _row(pdf: _Document, cells: Sequence[str]) -> None:
    for text, (_heading, width, align) in zip(cells, COLUMNS, strict=True):
        pdf.cell(width, ROW_HEIGHT, text, align=align)
    pdf.ln(ROW_HEIGHT)


def _rule(pdf: _Document, color: tuple[int, int, int] = RULE) -> None:
    pdf.set_draw_color(*color)
    pdf.set_line_width(0.2)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())


def _font(pdf: _Document, size: float, color: tuple[int, int, int], *, bold=False) -> None:
    """Size (points), colour and weight of the text."""
    pdf.set_font(pdf.typeface, "B" if bold else "", size)
    pdf.set_text_color(*color)


def _money(amount: int, currency: str) -> str:
    return format_money(amount, currency)


def _returned(amount: int, currency: str) -> str:
    """A refunded or disputed amount: a dash when nothing was returned, so the rows
    with a refund or dispute stand out."""
    return format_money(amount, currency) if amount else NOTHING


def _day(value, pattern: str) -> str:
    return format_date(value, pattern, locale=get_locale() or "en")


def _text(value: str) -> str:
    """Composed Unicode: a name typed as "E" plus a combining accent draws as "É"."""
    return unicodedata.normalize("NFC", value or "")
