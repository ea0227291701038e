"""Running a replay over a whole event store, with a progress bar on long runs and checkpoints
where read tables are compared with the state folded so far."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.application import Application
from tqdm import tqdm

from projections.audit.fold import OnEntry, OnTemplate, OnTrust, Replay
from projections.audit.stored import PAGE, Row, head, rows

Check = Callable[[Replay], None]


class Checkpoints(Protocol):
    """Something to run once the replay has folded every event up to given positions."""

    def prepare(self, folded: Replay) -> list[tuple[int, Check]]:
        """The (position, check) pairs; called before the first event is folded."""


def replay(app: Application[Any], *, until: datetime | None = None, on_entry: OnEntry | None = None,
           progress: bool = False, page: int = PAGE, checkpoints: Checkpoints | None = None,
           share: tuple[int, int] = (0, 1), on_template: OnTemplate | None = None,
           on_trust: OnTrust | None = None, upto: int | None = None) -> Replay:
    """Fold every stored event of ``app`` (up to ``until`` when given) and run the end checks;
    with ``share=(k, n)`` only the wallets of part k of n (see ``projections.audit.parallel``), reading
    only the rows that part folds, up to position ``upto``."""
    folded = Replay(until=until, on_entry=on_entry, share=share, on_template=on_template, on_trust=on_trust)
    # A report's events go to ``on_trust`` whichever wallet pays: with it, part 0 reads them all.
    only = share if on_trust is None or share[0] != 0 else (0, 1)
    points = sorted(checkpoints.prepare(folded), key=lambda p: p[0]) if checkpoints else []
    collecting = gc.isenabled()
    gc.disable()  # the folded state is acyclic and only grows: each collection would rescan all of it
    try:
        for page_rows in _pages(app, progress, page, upto, only):
            rest = page_rows
            while points and rest and rest[-1].position > points[0][0]:
                position, check = points.pop(0)
                cut = next(i for i, r in enumerate(rest) if r.position > position)
                folded.feed(rest[:cut])
                rest = rest[cut:]
                check(folded)
            folded.feed(rest)
        for _, check in points:
            check(folded)
        if upto is not None:
            folded.position = upto  # the end of the log, where this part's last row may come earlier
        folded.finish()
    finally:
        if collecting:
            gc.enable()
    return folded


def _pages(app: Application[Any], progress: bool, page: int, upto: int | None,
           share: tuple[int, int]) -> Iterator[list[Row]]:
    if not progress:
        yield from rows(app, page=page, upto=upto, share=share)
        return
    with tqdm(total=upto or head(app), unit="ev", unit_scale=True, desc="replay", leave=False) as bar:
        for batch in rows(app, page=page, upto=upto, share=share):
            yield batch
            bar.update(batch[-1].position - bar.n)
