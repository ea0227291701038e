"""Counting the share previews a store makes: ``open_graph`` replaced by a counter that holds each call a
moment, so that concurrent requests overlap the making."""

from __future__ import annotations

import threading
import time

import pytest

from media.image_stores import local
from media.ports import ImageResult


class Counted:
    """``open_graph`` counted, each call held ``hold`` seconds so that concurrent requests overlap it."""

    def __init__(self, hold: float = 0.0) -> None:
        self.calls = 0
        self.hold = hold
        self._lock = threading.Lock()
        self._real = local.open_graph

    def __call__(self, image: ImageResult) -> bytes:
        with self._lock:
            self.calls += 1
        time.sleep(self.hold)
        return self._real(image)


def count_previews(monkeypatch: pytest.MonkeyPatch, *, hold: float) -> Counted:
    """Count the previews the local store makes from now on (each held ``hold`` seconds)."""
    made = Counted(hold=hold)
    monkeypatch.setattr(local, "open_graph", made)
    return made
