"""Reading the event store's raw rows in log order, in pages, and decoding their JSON fast.

The audit does not go through the library's mapper (domain event objects are too slow for a
full replay): it reads ``(position, originator id, version, topic, state)`` rows and folds the
stored JSON itself. ``state_hash`` rebuilds exactly ``ledger.values.event_hash`` of the decoded event.
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import Composable, Composed

PAGE = 5_000
TYPED = ("timestamp", "expires_at", "price", "refund", "wallet_id")  # fields the transcoder wraps
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_WALLET_ID = b'"wallet_id":{"_type_":"uuid_hex","_data_":"'
_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
_HEX_ID = re.compile("[0-9a-f]{32}")


def _c_encoder() -> Callable[[Any, int], tuple[str, ...]] | None:
    """``_dumps`` without its per-call set-up: the C encoder ``encode`` builds on each call, made
    once (no cycle check: decoded JSON has no cycles); None where the C accelerator is missing."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    plain = json.JSONEncoder()
    encoder: Callable[[Any, int], tuple[str, ...]] = make(
        None, plain.default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True)
    return encoder


_encode = _c_encoder()


class Row(NamedTuple):
    """One stored event as the store has it."""

    position: int
    originator_id: str  # canonical UUID text
    version: int
    topic: str
    state: bytes

    @property
    def kind(self) -> str:
        """The event's class name, e.g. ``HoldPlaced``."""
        topic = self.topic
        found = _KINDS.get(topic)
        if found is None:
            found = topic.rpartition(".")[2]
            if len(_KINDS) < 1_000:  # a log has a few dozen topics; a damaged one cannot grow this
                _KINDS[topic] = found
        return found


_KINDS: dict[str, str] = {}  # topic -> its class name, as the fold asks for it several times per row


def _unwrap(value: dict[str, Any]) -> Any:
    kind = value.get("_type_")
    if kind is None or "_data_" not in value:
        return {k: _unwrap(v) if type(v) is dict else v for k, v in value.items()}
    data = value["_data_"]
    if kind == "uuid_hex":  # canonical text straight from the usual lower-case hex, UUID() for any other form
        if type(data) is str and _HEX_ID.fullmatch(data):
            return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
        return str(UUID(data))
    return _unwrap(data) if type(data) is dict else data  # datetime_iso, money, other dataclasses


def decode(state: bytes) -> dict[str, Any]:
    """A stored state as plain JSON values: datetimes as ISO text, UUIDs as text, Money as a dict."""
    text = state if isinstance(state, str) else bytes(state).decode()
    try:
        fields: dict[str, Any] = _scan(text, 0)[0]
    except StopIteration:
        raise ValueError("the stored state is not JSON") from None
    if type(fields) is not dict:
        raise ValueError("the stored state is not a JSON object")
    unwrapped = 0
    for key in TYPED:  # the usual places first; anything elsewhere takes the general path
        value = fields.get(key)
        if type(value) is dict:
            fields[key] = value["_data_"] if value.get("_type_") == "datetime_iso" else _unwrap(value)
            unwrapped += 1
    if text.count('"_type_"') != unwrapped:
        for key, value in fields.items():
            if type(value) is dict:
                fields[key] = _unwrap(value)
    return fields


def state_hash(originator_id: str, version: int, fields: dict[str, Any]) -> str:
    """The hash of a stored wallet event, equal to ``event_hash`` of the decoded event."""
    fields["originator_id"] = originator_id
    fields["originator_version"] = version
    try:
        text = "".join(_encode(fields, 0)) if _encode is not None else _dumps(fields)
        return hashlib.sha256(text.encode()).hexdigest()
    finally:
        del fields["originator_id"], fields["originator_version"]


def part_of(id_text: str, parts: int) -> int:
    """Which of ``parts`` processes folds the wallet with this id (canonical or hex UUID text)."""
    try:
        return int(id_text[-4:], 16) % parts
    except ValueError:
        return 0


def wallet_hint(state: bytes) -> str:
    """The wallet id of a stored ``GenerationRequested``, found without decoding it (routing only: a
    damaged one is routed all the same, and found unreadable by the part it goes to)."""
    start = state.find(_WALLET_ID)
    return state[start + len(_WALLET_ID): start + len(_WALLET_ID) + 32].decode(errors="replace") if start >= 0 else ""


def share_filter(table: Composable) -> Composed:
    """The rows part ``%(part)s`` of ``%(parts)s`` folds, as a condition PostgreSQL checks before sending them.

    It keeps every row ``Replay.feed`` would fold in that part, and leaves out the rest: other parts'
    wallet events (``part_of`` their id), the requests of generations whose wallet is another part's
    (``wallet_hint``, the same bytes), and the later events of those generations. Where it cannot tell
    (a request whose hint is missing or not hexadecimal), it keeps the row and the fold decides."""
    from psycopg.sql import SQL

    def keep_request(state: str) -> str:
        at = f"position('\\x{_WALLET_ID.hex()}'::bytea in {state})"
        hint = f"substring({state} from {at} + {len(_WALLET_ID)} for 32)"
        tail = f"encode(substring({hint} from greatest(length({hint}) - 3, 1)), 'escape')"
        return (f"NOT ({at} > 0 AND {tail} ~ '^[0-9a-f]{{{{4}}}}$' "
                f"AND ('x' || {tail})::bit(16)::int %% %(parts)s <> %(part)s)")

    wallet_part = ("(get_byte(uuid_send(originator_id), 14) * 256 + get_byte(uuid_send(originator_id), 15)) "
                   "%% %(parts)s = %(part)s")
    request = "starts_with({topic}, 'ledger.generation:Generation.') AND {topic} LIKE '%%.GenerationRequested'"
    clause = (
        "AND CASE WHEN starts_with(topic, 'ledger.wallet:Wallet.') THEN " + wallet_part  # noqa: S608 (constants)
        + " WHEN " + request.format(topic="topic") + " THEN " + keep_request("state")
        + " WHEN starts_with(topic, 'ledger.generation:Generation.') THEN originator_id IN ("
        "SELECT r.originator_id FROM {} r WHERE r.notification_id <= %(upto)s AND "
        + request.format(topic="r.topic") + " AND " + keep_request("r.state") + ") ELSE true END")
    return SQL(clause).format(table)


def rows(app: Application[Any], *, after: int = 0, page: int = PAGE, upto: int | None = None,
         share: tuple[int, int] = (0, 1)) -> Iterator[list[Row]]:
    """Pages of every stored event after ``after`` (and up to ``upto``), in log order (bounded memory).

    With ``share=(k, n)``, n > 1, PostgreSQL leaves out the rows part k of n would skip (see ``share_filter``)."""
    recorder = app.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        yield from _postgres_rows(recorder, after, page, upto, share)
        return
    position = after
    while True:
        found = recorder.select_notifications(start=position, limit=page, inclusive_of_start=False)
        if not found:
            return
        yield [Row(n.id, str(n.originator_id), n.originator_version, n.topic, n.state) for n in found]
        position = found[-1].id


def head(app: Application[Any]) -> int:
    """The highest position stored."""
    return app.recorder.max_notification_id() or 0


def extent(recorder: PostgresApplicationRecorder) -> tuple[int, int]:
    """How many events are stored and the highest position, read in one snapshot."""
    from psycopg.sql import SQL, Identifier

    query = SQL("SELECT count(*) AS n, coalesce(max(notification_id), 0) AS last FROM {}.{}").format(
        Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    with recorder.datastore.get_connection() as conn:
        found = conn.execute(query).fetchone()
    return (int(found["n"]), int(found["last"])) if found else (0, 0)


def _postgres_rows(recorder: PostgresApplicationRecorder, after: int, page: int, upto: int | None,
                   share: tuple[int, int]) -> Iterator[list[Row]]:
    from psycopg.rows import tuple_row
    from psycopg.sql import SQL, Identifier

    table = SQL("{}.{}").format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    part, parts = share
    query = SQL(
        "SELECT notification_id, originator_id::text, originator_version, topic, state FROM {} "
        "WHERE notification_id > %(after)s AND notification_id <= %(upto)s {} ORDER BY notification_id"
    ).format(table, share_filter(table) if parts > 1 else SQL(""))
    bounds = {"after": after, "upto": upto if upto is not None else 2**63 - 1, "part": part, "parts": parts}
    with (recorder.datastore.get_connection() as conn, conn.transaction(),
          conn.cursor(name="studio_audit_rows", row_factory=tuple_row, binary=True) as cursor):
        cursor.itersize = page
        # The read stays in one snapshot while the fold works through the pages fetched ahead, which on
        # a busy host can take longer than the store's idle-in-transaction timeout (5 s by default).
        conn.execute("SET LOCAL idle_in_transaction_session_timeout = '5min'")
        if parts > 1:  # compiling the filter would cost more than it saves on a log this size
            conn.execute("SET LOCAL jit = off")
        cursor.execute(query, bounds)
        make = Row._make
        yield from prefetched(list(map(make, batch)) for batch in iter(lambda: cursor.fetchmany(page), []))


def prefetched(pages: Iterator[list[Row]], depth: int = 2) -> Iterator[list[Row]]:
    """The same pages, fetched by a thread up to ``depth`` ahead: the database prepares the next page
    (and the driver waits for it without the GIL) while this thread folds the current one."""
    ahead: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                ahead.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for item in pages:
                if not offer(("page", item)):
                    return
            offer(("end", None))
        except BaseException as error:  # handed to the reader, raised there
            offer(("error", error))

    worker = threading.Thread(target=fetch, name="studio-audit-fetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = ahead.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
