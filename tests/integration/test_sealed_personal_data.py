"""Personal data sealed under each learner's own key, on every store: a learner's words and photo reference are
ciphertext at rest and read back as written; once the key is destroyed they read as "[erased]" and every money fact
is unchanged, with not one stored byte changed; and a store written before sealing reads as it always did."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from ledger import Ledger, Money
from ledger.event_store.sealing import ERASED
from projections.audit.replay import replay
from tests.conftest import T0

pytestmark = pytest.mark.integration
BEFORE = Path(__file__).resolve().parents[1] / "fixtures" / "store-before-sealing.db"
OLD_GENERATION = UUID("7f75c492-d0ab-59fd-b187-70c88240a63b")
WORDS = {"course": "Ethics in AI", "date": "1 March"}
RESULT = {"image_url": "/media/gallery/x.png", "storage_id": "x", "provider": "local", "model": "pillow", "seed": 7,
          "timings": {}}


class Keys:
    """Learners' keys in memory (the SQL table's stand-in)."""

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}

    def key(self, owner: str, *, create: bool) -> bytes | None:
        if owner not in self.kept and create:
            self.kept[owner] = os.urandom(32)
        return self.kept.get(owner)

    def destroy(self, owner: str) -> bool:
        return self.kept.pop(owner, None) is not None


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
def sealing(store_env: dict[str, str], keys: Keys) -> Ledger:
    app = Ledger(store_env, keys=keys)
    yield app  # type: ignore[misc]
    app.close()


def request(app: Ledger, user: str = "ana", key: str = "k1") -> UUID:
    app.purchase(user_id=user, payment_id=f"pay-{user}-{key}", pack_id="starter", amount=100, price=Money(900, "INR"),
                 at=T0)
    gen_id = app.request_generation(user_id=user, request_key=key, template_id="poster-course-launch",
                                    template_version=1, variables=WORDS, input_image="upload:photo-1", cost=5,
                                    at=T0).value
    app.complete_generation(generation_id=gen_id, at=T0 + timedelta(seconds=1), **RESULT)
    return UUID(str(gen_id))


def stored_states(app: Ledger, gen_id: UUID) -> list[bytes]:
    return [bytes(e.state) for e in app.recorder.select_events(gen_id)]


def test_a_learners_words_are_ciphertext_at_rest_and_read_back_as_written(sealing: Ledger) -> None:
    gen_id = request(sealing)
    stored = b"".join(stored_states(sealing, gen_id))
    assert b"Ethics" not in stored and b"photo-1" not in stored and b'"sealed"' in stored
    assert b'"user_id":"ana"' in stored.replace(b" ", b"")  # the money facts' owner stays clear
    generation = sealing.generation(gen_id)
    assert generation is not None
    assert (generation.variables, generation.input_image) == (WORDS, "upload:photo-1")


def test_a_destroyed_key_reads_as_erased_and_changes_no_money_fact_and_no_stored_byte(sealing: Ledger,
                                                                                      keys: Keys) -> None:
    gen_id = request(sealing)
    other = request(sealing, user="bo")
    before = stored_states(sealing, gen_id)
    wallet = sealing.wallet("ana")
    assert wallet is not None
    available = wallet.available(T0)
    assert keys.destroy("ana")
    generation = sealing.generation(gen_id)
    assert generation is not None
    assert (generation.variables, generation.input_image) == ({"course": ERASED, "date": ERASED}, ERASED)
    assert (generation.cost, generation.captured, generation.status) == (5, 5, "completed")
    kept = sealing.generation(other)
    assert kept is not None and kept.variables == WORDS  # another learner's words are theirs still
    assert stored_states(sealing, gen_id) == before
    after = sealing.wallet("ana")
    assert after is not None and after.available(T0) == available
    folded = replay(sealing)
    assert folded.finish() == [] and folded.problems == 0
    back = sealing.request_generation(user_id="ana", request_key="k-back", template_id="poster-course-launch",
                                      template_version=1, variables={"course": "Back again"}, input_image=None,
                                      cost=5, at=T0).value  # a learner who returns gets a new key
    returned, old = sealing.generation(back), sealing.generation(gen_id)
    assert returned is not None and returned.variables == {"course": "Back again"}
    assert old is not None and old.variables == {"course": ERASED, "date": ERASED}  # not under the new key


def test_a_store_written_before_sealing_reads_as_it_always_did(tmp_path: Path, keys: Keys) -> None:
    path = tmp_path / "events.db"
    shutil.copy(BEFORE, path)
    app = Ledger({"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}, keys=keys)
    try:
        old = app.generation(OLD_GENERATION)
        assert old is not None and old.variables == WORDS and old.input_image == "upload:photo-1"
        fresh = app.request_generation(user_id="ana", request_key="k2", template_id="poster-course-launch",
                                       template_version=1, variables={"course": "New words"}, input_image=None,
                                       cost=5, at=T0).value
        assert b"New words" not in b"".join(stored_states(app, fresh))
        keys.destroy("ana")  # words written in the clear before sealing cannot be shredded: documented
        old = app.generation(OLD_GENERATION)
        new = app.generation(fresh)
        assert old is not None and old.variables == WORDS
        assert new is not None and new.variables == {"course": ERASED} and new.input_image is None
        assert replay(app).finish() == []
    finally:
        app.close()


def test_the_relay_publishes_the_words_a_worker_renders_from_a_sealed_store(sealing: Ledger, keys: Keys) -> None:
    from api.messaging.envelope import records

    gen_id = request(sealing)
    notifications = sealing.recorder.select_notifications(start=1, limit=100)
    requested = [n for n in notifications if n.topic.endswith("GenerationRequested")]
    assert b"Ethics" not in requested[0].state  # sealed at rest
    published = records(requested[0], "events", "requested", opened=sealing.open_sealed)
    work = [value for topic, _, value, _ in published if topic == "requested"]
    assert b'"Ethics in AI"' in work[0] and b'"sealed"' not in work[0] and str(gen_id).encode() in work[0]
    keys.destroy("ana")
    erased = records(requested[0], "events", "requested", opened=sealing.open_sealed)
    assert all(b"Ethics" not in value for _, _, value, _ in erased)
