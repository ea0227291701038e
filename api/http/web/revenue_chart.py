"""The revenue chart, drawn on the server as SVG: each day's revenue recognised and breakage as stacked bars,
and the deferred revenue (liability) at each day's close as a line, in one currency. The SVG carries numbers
only (days of the month, amounts in major units); the console names it and its series in the operator's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

# ISO 4217 currencies whose minor unit is not a hundredth; every other has two decimals.
DECIMALS = {"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
            "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3,
            "LYD": 3, "OMR": 3, "TND": 3}
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
COLOURS = {"recognised": "#1d4ed8", "breakage": "#b45309", "deferred": "#047857"}  # each 3:1 or more on white


def decimals(currency: str) -> int:
    """How many decimals the currency's minor unit has (2 unless ``DECIMALS`` says otherwise)."""
    return DECIMALS.get(currency, 2)


def _ceiling(value: int) -> int:
    """A round number at least ``value`` (1, 2 or 5 times a power of ten), the top of the scale."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= value:
                return top * step
        top *= 10


def _major(minor: int, currency: str, *, always: bool = False) -> str:
    """``minor`` in major units, with the currency's decimals when there is a fraction (or ``always``)."""
    places = decimals(currency)
    whole, part = divmod(minor, 10**places)
    return f"{whole:,}" + (f".{part:0{places}d}" if places and (part or always) else "")


def revenue_svg(days: Sequence[Mapping[str, Any]], currency: str) -> str:
    """The chart of ``days`` (report rows, one per day, of any currencies: those of ``currency`` are drawn)."""
    rows = [r for r in days if r["currency"] == currency]
    top = _ceiling(max([1, *(max(r["recognised"] + r["breakage"], r["closing_deferred"]) for r in rows)]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(rows), 1)

    def y(minor: int) -> float:
        return TOP + plot_h - plot_h * minor / top

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'class="revenue-chart" data-currency={quoteattr(currency)}>',
             f"<title>{escape(currency)}: revenue recognised and breakage per day, deferred revenue at close</title>"]
    ticks = [top * n // 4 for n in range(5)]  # the scale: five lines, labelled in major units
    fractions = any(value % 10 ** decimals(currency) for value in ticks)
    for value in ticks:
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="#d1d5db" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#374151">{escape(_major(value, currency, always=fractions))}</text>')
    line = []
    every = max(1, len(rows) // 16)
    for i, r in enumerate(rows):
        x = LEFT + i * slot
        width = max(slot * 0.7, 1)
        recognised_top = y(r["recognised"])
        parts.append(f'<rect class="bar-recognised" x="{x + slot * 0.15:.1f}" y="{recognised_top:.1f}" '
                     f'width="{width:.1f}" height="{TOP + plot_h - recognised_top:.1f}" '
                     f'fill="{COLOURS["recognised"]}" data-day={quoteattr(r["period"])} '
                     f'data-minor="{r["recognised"]}"/>')
        if r["breakage"]:
            broke_top = y(r["recognised"] + r["breakage"])
            parts.append(f'<rect class="bar-breakage" x="{x + slot * 0.15:.1f}" y="{broke_top:.1f}" '
                         f'width="{width:.1f}" height="{recognised_top - broke_top:.1f}" '
                         f'fill="{COLOURS["breakage"]}" data-minor="{r["breakage"]}"/>')
        line.append(f"{x + slot / 2:.1f},{y(r['closing_deferred']):.1f}")
        if i % every == 0:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="11" '
                         f'fill="#374151">{escape(str(r["period"])[8:10].lstrip("0") or r["period"])}</text>')
    if line:
        parts.append(f'<polyline class="line-deferred" points="{" ".join(line)}" fill="none" '
                     f'stroke="{COLOURS["deferred"]}" stroke-width="2.5"/>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
                 f'stroke="#374151" stroke-width="1"/>')
    parts.append("</svg>")
    return "".join(parts)
