"""The margins chart is well-formed SVG whatever its words: names and numbers escaped, bars to one scale, no
script and no inline style (the console's CSP allows neither)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from api.http.web.margin_chart import amount, margin_chart

pytestmark = pytest.mark.unit
NS = "{http://www.w3.org/2000/svg}"


def row(template_id: str, revenue: int, cost: int) -> dict[str, object]:
    margin = revenue - cost
    return {"template_id": template_id, "revenue_minor": revenue, "cost_minor": cost, "margin_minor": margin,
            "margin_percent": f"{margin * 100 / revenue:.1f}" if revenue else ""}


def test_names_and_words_are_escaped_and_the_bars_share_one_scale() -> None:
    hostile = '<script>alert("x")</script>&'
    svg = margin_chart([row(hostile, 10_000, 500), row("poster", 5_000, 6_000)], "INR", title=hostile,
                       words={"revenue": "<b>", "cost": "&", "margin": '"', "empty": "-"})
    tree = ElementTree.fromstring(svg)
    assert not tree.findall(f".//{NS}script") and "style=" not in svg
    assert tree.find(f"{NS}title").text == hostile  # type: ignore[union-attr]
    widths = [int(r.get("width", "0")) for g in tree.findall(f"{NS}g") for r in g.findall(f"{NS}rect")]
    assert widths[0] == max(widths) and widths[0] == round(widths[3] * 10_000 / 6_000)
    assert "INR -10.00" in svg  # the poster lost money: its margin is negative, and no bar is negative


def test_an_empty_period_says_so_and_amounts_keep_their_minor_digits() -> None:
    svg = margin_chart([], "INR", title="t", words={"revenue": "r", "cost": "c", "margin": "m", "empty": "none"})
    assert "none" in svg and ElementTree.fromstring(svg) is not None
    assert (amount(123456, "INR"), amount(150, "JPY"), amount(1234, "KWD")) == ("INR 1,234.56", "JPY 150",
                                                                                 "KWD 1.234")
