"""The margins chart, drawn here as SVG: per template, a bar of revenue recognised and one of provider cost, with
the margin written beside them, its words in the operator's language. No script, no style attribute (the
console's CSP allows neither inline), and nothing fetched: it is text the console inserts as it is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from projections.finance.margins import exponent

WIDTH, LABEL, ROW, TOP, BAR = 820, 250, 58, 44, 16
REVENUE, COST = "#2563eb", "#d97706"  # blue and amber: apart for the common colour blindnesses, and labelled too


def amount(minor: int, currency: str) -> str:
    """``minor`` units of ``currency`` as the accountant reads them: INR 1,234.50."""
    places = exponent(currency)
    major = Decimal(minor).scaleb(-places)
    return f"{currency} {major:,.{places}f}"


# The chart's words in English; ``words`` maps the same keys to the operator's language.
WORDS = {"revenue": "Revenue", "cost": "Provider cost", "margin": "Margin", "empty": "No generations ended "
         "between these days."}


def margin_chart(templates: Sequence[Mapping[str, Any]], currency: str, *, title: str,
                 words: Mapping[str, str] = WORDS) -> str:
    """The SVG of ``templates`` (the margin report's per-template rows): two bars each, to one scale."""
    top = max([1, *(max(t["revenue_minor"], t["cost_minor"]) for t in templates)])
    span = WIDTH - LABEL - 20
    height = TOP + ROW * max(1, len(templates)) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
           f'height="{height}" role="img" aria-labelledby="margins-chart-title margins-chart-desc" '
           f'font-family="system-ui, sans-serif" font-size="13">',
           f'<title id="margins-chart-title">{escape(title)}</title>',
           f'<desc id="margins-chart-desc">{escape(describe(templates, currency, words))}</desc>',
           f'<rect x="{LABEL}" y="8" width="12" height="12" fill="{REVENUE}"/>',
           f'<text x="{LABEL + 18}" y="19" fill="#111827">{escape(words["revenue"])}</text>',
           f'<rect x="{LABEL + 170}" y="8" width="12" height="12" fill="{COST}"/>',
           f'<text x="{LABEL + 188}" y="19" fill="#111827">{escape(words["cost"])}</text>']
    if not templates:
        out.append(f'<text x="{LABEL}" y="{TOP + 20}" fill="#4b5563">{escape(words["empty"])}</text>')
    for i, t in enumerate(templates):
        y = TOP + i * ROW
        name = quoteattr(str(t["template_id"]))
        out.append(f"<g data-template={name}>")
        out.append(f'<text x="{LABEL - 8}" y="{y + 14}" text-anchor="end" fill="#111827" font-weight="600">'
                   f'{escape(str(t["template_id"]))}</text>')
        percent = f" ({t['margin_percent']} %)" if t["margin_percent"] else ""
        out.append(f'<text x="{LABEL - 8}" y="{y + 32}" text-anchor="end" fill="#4b5563">{escape(words["margin"])} '
                   f'{escape(amount(t["margin_minor"], currency))}{escape(percent)}</text>')
        for j, (key, colour) in enumerate((("revenue_minor", REVENUE), ("cost_minor", COST))):
            length = round(span * t[key] / top) if t[key] > 0 else 0
            bar_y = y + j * (BAR + 4)
            out.append(f'<rect x="{LABEL}" y="{bar_y}" width="{max(length, 1)}" height="{BAR}" fill="{colour}"/>')
            inside = length > span * 0.6  # a long bar carries its figure inside, in white
            x = LABEL + length - 6 if inside else LABEL + length + 6
            out.append(f'<text x="{x}" y="{bar_y + 12}" text-anchor="{"end" if inside else "start"}" '
                       f'fill="{"#ffffff" if inside else "#111827"}">{escape(amount(t[key], currency))}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def describe(templates: Sequence[Mapping[str, Any]], currency: str, words: Mapping[str, str] = WORDS) -> str:
    """The chart in words, for a screen reader."""
    if not templates:
        return words["empty"]
    return "; ".join(f"{t['template_id']}: {words['revenue']} {amount(t['revenue_minor'], currency)}, "
                     f"{words['cost']} {amount(t['cost_minor'], currency)}, "
                     f"{words['margin']} {amount(t['margin_minor'], currency)}" for t in templates) + "."
