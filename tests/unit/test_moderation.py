"""Moderation of the learner's words: the local lists with their evasions, an operator's own lists, and the
OpenAI and Hugging Face adapters against their documented answers (no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from huggingface_hub.utils._http import default_client_factory, set_client_factory

from api.http.web.i18n import load_catalogue
from media.errors import ContentRefused
from media.moderation import Category, Chain, Flag, ModerationUnavailable
from media.moderation.huggingface import HuggingFaceModerator
from media.moderation.local import LocalModerator, WordListError
from media.moderation.openai import OpenAIModerator
from service.bootstrap import build_moderator
from service.errors import KINDS
from service.settings import MediaSettings
from service.settings.store import StartupError

pytestmark = pytest.mark.unit
LOCAL = LocalModerator.from_file()


def flag_of(text: str, moderator: Any = LOCAL) -> Flag | None:
    return anyio.run(moderator.check, {"headline": text})


@pytest.mark.parametrize(("text", "category", "rule"), [
    ("This course is shit", Category.PROFANITY, "local:en:profanity"),
    ("F u C k this", Category.PROFANITY, "local:en:profanity"),  # spaced out
    ("f.u.c.k exams", Category.PROFANITY, "local:en:profanity"),  # dotted apart
    ("sh1t happens", Category.PROFANITY, "local:en:profanity"),  # leetspeak
    ("$h!t", Category.PROFANITY, "local:en:profanity"),
    ("fuuuuuck", Category.PROFANITY, "local:en:profanity"),  # repeated letters
    ("FUCKING great", Category.PROFANITY, "local:en:profanity"),  # a listed stem
    ("\u0066\u0075\u0441\u043a off", Category.PROFANITY, "local:en:profanity"),  # Cyrillic es and ka
    ("\uff46\uff55\uff43\uff4b", Category.PROFANITY, "local:en:profanity"),  # full-width
    ("fück", Category.PROFANITY, "local:en:profanity"),  # accents
    ("go kill yourself", Category.HARASSMENT, "local:en:harassment"),
    ("तुम चूतिया हो", Category.PROFANITY, "local:hi:profanity"),
    ("चुतिया", Category.PROFANITY, "local:hi:profanity"),  # the short vowel
    ("भोसडी के", Category.PROFANITY, "local:hi:profanity"),  # without the nukta
    ("मादरचोद", Category.PROFANITY, "local:hi:profanity"),
    ("जान से मार दूंगा", Category.VIOLENCE, "local:hi:violence"),
    ("tu chutiyaaa hai", Category.PROFANITY, "local:hi-latn:profanity"),
    ("bhen chod", Category.PROFANITY, "local:hi-latn:profanity"),  # written apart
    ("Madar-Ch0d", Category.PROFANITY, "local:hi-latn:profanity"),
    ("b h o s d i k e", Category.PROFANITY, "local:hi-latn:profanity"),
])
def test_listed_words_are_refused_through_the_usual_evasions(text: str, category: Category, rule: str) -> None:
    assert flag_of(text) == Flag(field="headline", category=category, rule=rule)


@pytest.mark.parametrize("text", [
    "Class assignment due", "Scunthorpe United", "Learn Python in 30 days", "Cocktail mixing 101",
    "Shiitake mushrooms", "Gandhi Jayanti", "Pakistan studies", "Flame retardant chemistry", "Assassin's Creed",
    "The therapist's guide", "आज़ादी का अमृत महोत्सव", "चौदह दिन में हिंदी", "Suicide prevention week",
    "Skill you need", "Hancock", "Sale 50% off @ 9 PM", "Title",
])
def test_ordinary_words_that_hold_a_listed_one_are_not_refused(text: str) -> None:
    assert flag_of(text) is None


def test_an_operators_own_lists_replace_the_shipped_ones(tmp_path: Path) -> None:
    own = tmp_path / "words.toml"
    own.write_text('[campus]\nharassment = ["dunce*"]\n', encoding="utf-8")
    moderator = build_moderator(MediaSettings(data_dir=tmp_path, moderation_words=own))
    assert flag_of("You dunces", moderator) == Flag("headline", Category.HARASSMENT, "local:campus:harassment")
    assert flag_of("shit", moderator) is None


@pytest.mark.parametrize(("content", "says"), [
    ("[en\n", "words.toml"),
    ('[en]\nrude = ["x*"]\n', "rude is not one of"),
    ('[en]\nprofanity = "damn"\n', "must be a list of words"),
    ('[en]\nprofanity = ["ok"]\n', "'ok' is too short"),
    ("", "no words"),
])
def test_a_word_list_that_cannot_be_read_stops_start_up_in_one_line_naming_the_setting(
        tmp_path: Path, content: str, says: str) -> None:
    own = tmp_path / "words.toml"
    own.write_text(content, encoding="utf-8")
    with pytest.raises(StartupError, match="STUDIO_MODERATION_WORDS") as caught:
        build_moderator(MediaSettings(data_dir=tmp_path, moderation_words=own))
    assert says in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(WordListError):
        LocalModerator.from_file(tmp_path / "missing.toml")


def openai(answer: dict[str, Any] | None = None, status: int = 200,
           seen: list[httpx.Request] | None = None) -> OpenAIModerator:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json=answer or {"error": {"message": "down"}})

    client = httpx.AsyncClient(base_url="https://api.openai.test/v1", transport=httpx.MockTransport(handle))
    return OpenAIModerator("sk-test", client=client)


def result(flagged: bool, **categories: float) -> dict[str, Any]:
    return {"flagged": flagged, "categories": {name: score > 0.5 for name, score in categories.items()},
            "category_scores": categories}


def test_openai_moderation_sends_every_field_at_once_and_names_the_first_flagged_one() -> None:
    seen: list[httpx.Request] = []
    answer = {"id": "modr-1", "model": "omni-moderation-latest", "results": [
        result(False, harassment=0.01), result(True, **{"harassment": 0.7, "harassment/threatening": 0.9})]}
    moderator = openai(answer, seen=seen)
    flag = anyio.run(moderator.check, {"course": "SQL", "date": "I will find you"})
    assert flag == Flag("date", Category.HARASSMENT, "openai:harassment/threatening")
    body = json.loads(seen[0].content)
    assert seen[0].url.path == "/v1/moderations" and seen[0].headers["Authorization"] == "Bearer sk-test"
    assert body == {"model": "omni-moderation-latest", "input": ["SQL", "I will find you"]}
    clean = openai({"results": [result(False)]})
    assert anyio.run(clean.check, {"course": "SQL"}) is None


@pytest.mark.parametrize(("status", "answer"), [(500, None), (429, None), (200, {"results": []})])
def test_openai_moderation_that_does_not_answer_is_unavailable(status: int, answer: dict[str, Any] | None) -> None:
    with pytest.raises(ModerationUnavailable):
        anyio.run(openai(answer, status).check, {"course": "SQL"})


def hugging_face(labels: list[dict[str, Any]] | None, status: int = 200,
                 seen: list[httpx2.Request] | None = None) -> Iterator[None]:
    """huggingface_hub's shared session answered by a mock: the model lookup, then the classification."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        if request.method == "GET":
            return httpx2.Response(200, json={"id": "m", "pipeline_tag": "text-classification", "tags": []})
        return httpx2.Response(status, json=[labels] if labels is not None else {"error": "loading"})

    set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(handle)))
    yield
    set_client_factory(default_client_factory)


def test_hugging_face_moderation_refuses_a_field_its_unsafe_label_scores_high() -> None:
    seen: list[httpx2.Request] = []
    for _ in hugging_face([{"label": "toxic", "score": 0.93}, {"label": "neutral", "score": 0.07}], seen=seen):
        flag = anyio.run(HuggingFaceModerator("hf_test").check, {"course": "tu pagal hai"})
    assert flag == Flag("course", Category.HARASSMENT, "huggingface:toxic")
    post = seen[-1]
    assert post.url == "https://router.huggingface.co/hf-inference/models/textdetox/xlmr-large-toxicity-classifier"
    assert json.loads(post.content)["inputs"] == "tu pagal hai"
    for _ in hugging_face([{"label": "toxic", "score": 0.2}, {"label": "neutral", "score": 0.8}]):
        assert anyio.run(HuggingFaceModerator("hf_test").check, {"course": "SQL"}) is None
    for _ in hugging_face([{"label": "obscene", "score": 0.9}]):
        moderator = HuggingFaceModerator("hf_test", model="unitary/toxic-bert", labels=("toxic", "obscene"))
        assert anyio.run(moderator.check, {"course": "x"}) == Flag("course", Category.PROFANITY,
                                                                    "huggingface:obscene")


def test_hugging_face_moderation_that_fails_is_unavailable() -> None:
    for _ in hugging_face(None, status=503):
        with pytest.raises(ModerationUnavailable, match="503"):
            anyio.run(HuggingFaceModerator("hf_test").check, {"course": "SQL"})


def test_the_chain_asks_the_local_lists_first_and_skips_empty_texts() -> None:
    seen: list[httpx.Request] = []
    chain = Chain([LOCAL, openai({"results": [result(False)]}, seen=seen)])
    assert anyio.run(chain.check, {"course": "shit"}) == Flag("course", Category.PROFANITY, "local:en:profanity")
    assert anyio.run(chain.check, {"course": "  "}) is None and not seen
    assert anyio.run(chain.check, {"course": "SQL"}) is None and len(seen) == 1


def test_a_provider_moderator_needs_its_key_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="STUDIO_OPENAI_API_KEY"):
        MediaSettings(data_dir=tmp_path, moderation_provider="openai")
    settings = MediaSettings(data_dir=tmp_path, moderation_provider="huggingface", huggingface_token="hf_x",
                                  moderation_huggingface_labels="toxic, obscene")
    assert settings.moderation_huggingface_labels == ("toxic", "obscene")


def test_every_category_is_said_on_the_page_in_english_and_hindi_and_in_the_problems_detail() -> None:
    messages = load_catalogue()
    for category in Category:
        assert messages["en"][f"kind_{category}"] and messages["hi"][f"kind_{category}"] and KINDS[category]
    for reason in ("safety", "content_policy"):  # a provider's refusal, now and as failures were stored before
        assert messages["hi"][f"reason_{reason}"]
    assert ContentRefused.reason == "safety"
