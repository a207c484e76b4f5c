"""Each initiative's events as views, kept per process for the pages that show them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from cachetools import LRUCache

from ruswf.app.views import EventView

HISTORIES_KEPT = 512


class Histories:
    """The histories of the most recently read initiatives (at most `size`).

    A stored event never changes and an initiative's versions count up from 1, so a
    kept history is brought up to date by reading only the events after it: a page
    that shows an unchanged initiative reads no events at all. Safe with several
    processes, since each one reads what it has not seen from the shared store."""

    def __init__(
        self, read_after: Callable[[UUID, int], Iterable[Any]], size: int = HISTORIES_KEPT
    ) -> None:
        self._read_after = read_after
        self._kept: LRUCache[UUID, tuple[EventView, ...]] = LRUCache(maxsize=size)
        self._lock = threading.Lock()  # the cache is not thread-safe by itself

    def upto(self, initiative_id: UUID, version: int) -> list[EventView]:
        """The events of the initiative up to and including `version`, in order."""
        with self._lock:
            kept = self._kept.get(initiative_id, ())
        if len(kept) < version:
            newer = tuple(EventView.of(e) for e in self._read_after(initiative_id, len(kept)))
            kept = kept + newer
            with self._lock:
                self._kept[initiative_id] = kept
        return list(kept[:version])
