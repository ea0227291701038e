"""Every character a learner types: counted as a reader counts it, control and invisible characters handled by
one rule, and a character no font can draw refused before any credit is held."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import anyio
import pytest

from ledger import Ledger, Money
from media.compositor import check_printable
from media.templates import Catalog, Variable, VariableError, load_catalog
from media.text import clean, clusters, is_emoji, length
from service.generations import GenerationRequest, request_generation
from service.policy import load_policy
from tests.conftest import T0
from tests.support.fakes import FakePhotos, Recorder

pytestmark = pytest.mark.unit
TTL = timedelta(minutes=10)
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # woman, woman, girl: one emoji


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.purchase(user_id="alice", payment_id="pay-1", pack_id="starter", amount=100, price=Money(900, "INR"), at=T0)
    yield app
    app.close()


# Unicode 15.1 extended grapheme clusters, as browsers' Intl.Segmenter counts: a conjunct (स्ते) is one
@pytest.mark.parametrize(("text", "count"), [
    ("नमस्ते", 3), (FAMILY, 1), ("👍🏽", 1), ("🇮🇳", 1), ("#️⃣", 1), ("Ünïcödé", 7), ("e\u0301", 1),
    ("ক্ষমা", 2), ("🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", 1),
])
def test_characters_are_counted_as_a_learner_sees_them(text: str, count: int) -> None:
    assert length(text) == count


def test_max_length_counts_grapheme_clusters_not_code_points() -> None:
    variable = Variable(name="offer", max_length=5)
    assert variable.check(FAMILY * 5) == FAMILY * 5  # 40 code points, five emoji
    assert variable.check("नमस्ते") == "नमस्ते"  # 6 code points, 3 characters
    with pytest.raises(VariableError, match="is 6 characters long, at most 5"):
        variable.check(FAMILY * 6)


def test_joiners_inside_emoji_and_indic_words_are_kept_and_every_other_invisible_character_is_dropped() -> None:
    assert clean(f"Family {FAMILY}") == f"Family {FAMILY}"
    assert clean("क्\u200dष") == "क्\u200dष"  # a half form asked for with ZWJ
    assert clean("ক্\u200cষ") == "ক্\u200cষ"  # ZWNJ keeps the virama visible
    assert clean("می\u200cخواهم") == "می\u200cخواهم"  # ZWNJ in an Arabic-script word
    # bidi overrides, isolates and marks, zero-width spaces and joiners between plain letters, a BOM, a soft hyphen
    assert clean("\u202eevil\u202c \u2066x\u2069 \u200fa\u200db\u200bc \ufeffd\u00ade") == "evil x abc de"
    assert clean("a\u200d") == "a" and clean("\u200d🎉") == "🎉"
    assert clean("one\ntwo\t\tthree\u2028four") == "one two three four"
    assert clean("half\ud800surrogate") == "half surrogate"  # as a broken client sends it in JSON
    flag = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # Scotland
    assert clean(f"Go {flag}") == f"Go {flag}"
    assert clean("tag\U000e0067 alone") == "tag alone"


def test_emoji_are_told_from_text_symbols() -> None:
    assert all(is_emoji(c) for c in ("🎉", FAMILY, "👍🏽", "🇮🇳", "#️⃣", "❤️"))
    assert not any(is_emoji(c) for c in ("©", "#", "3", "₹", "क्ष"))
    assert clusters(f"🎉{FAMILY}a") == ["🎉", FAMILY, "a"]


def test_a_character_no_font_of_the_template_draws_is_refused_naming_the_field_and_the_character(
        catalog: Catalog) -> None:
    template = catalog.get("social-story")
    check_printable(template, {"offer": "Ünïcödé and émojis 🎉 — 30% off! 🛸 " + FAMILY})
    with pytest.raises(VariableError) as refused:
        check_printable(template, {"offer": "Launch \uabc3 today"})
    assert refused.value.field == "offer"
    assert refused.value.message == "\uabc3 cannot be printed on this template (U+ABC3)"


def test_an_unprintable_character_is_refused_before_any_credit_is_held(ledger: Ledger, catalog: Catalog) -> None:
    run = Recorder()
    request = GenerationRequest(user_id="alice", key="k-1", template_id="social-story",
                                variables={"offer": "中文 offer"})
    with pytest.raises(VariableError, match="offer: 中 cannot be printed on this template") as refused:
        anyio.run(partial(request_generation, ledger, catalog, FakePhotos(), request, policy=load_policy(), at=T0,
                          hold_ttl=TTL, run=run))
    assert refused.value.field == "offer" and run.names == []
    wallet = ledger.wallet("alice")
    assert wallet is not None and wallet.held == 0


def test_a_post_with_emoji_in_any_listed_script_is_accepted_and_held(ledger: Ledger, catalog: Catalog) -> None:
    request = GenerationRequest(user_id="alice", key="k-2", template_id="social-story",
                                variables={"offer": "🎉 দীপাবলি অফার 🔥 Last 3 seats"})
    requested = anyio.run(partial(request_generation, ledger, catalog, FakePhotos(), request, policy=load_policy(),
                                  at=T0, hold_ttl=TTL))
    wallet = ledger.wallet("alice")
    assert wallet is not None and wallet.held == requested.cost


def test_a_statement_line_shortens_the_learners_words_between_characters_never_inside_one() -> None:
    from projections.descriptions import MAIN_TEXT_CHARS, Subjects

    subjects = Subjects(titles={"social-story": "Story promo"}, main_variables={"social-story": "offer"})
    for words in (FAMILY * 70, "क्षत्रिय " * 20):
        shortened = subjects.text("social-story", {"offer": words})
        assert shortened.endswith("…") and length(shortened) <= MAIN_TEXT_CHARS
        assert words.startswith(shortened.removesuffix("…"))
        assert clusters(shortened.removesuffix("…"))[-1] in clusters(words)  # a whole character last
