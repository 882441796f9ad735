"""The 12-month bar chart, drawn as inline SVG on the server (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from donations.money import format_money
from donations.staff.figures import Total

WIDTH = 480
HEIGHT = 160
LABEL_SPACE = 18
GAP = 6


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  #: month abbreviation under the bar
    title: str  #: hover text with the exact figure
    negative: bool


def bars(months: list[tuple[datetime, Total]], currency: str) -> list[Bar]:
    """Bar geometry for each month's net, scaled to the largest absolute value."""
    if not months:
        return []
    plot = HEIGHT - LABEL_SPACE
    peak = max((abs(total.net) for _, total in months), default=0) or 1
    width = WIDTH / len(months)
    result = []
    for index, (start, total) in enumerate(months):
        height = max(plot * abs(total.net) / peak, 1 if total.net else 0)
        result.append(
            Bar(
                x=round(index * width + GAP / 2, 1),
                y=round(plot - height, 1),
                width=round(width - GAP, 1),
                height=round(height, 1),
                label=start.strftime("%b"),
                title=f"{start:%B %Y}: {format_money(total.net, currency)} net, "
                f"{total.gifts} gifts",
                negative=total.net < 0,
            )
        )
    return result
