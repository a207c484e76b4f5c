"""A projection worker that freezes in the middle of a batch, for the crash test.

`python -m tests.projections.crash_worker URL MARKER PROJECTION BATCH EVENT` runs the
real worker (`run_worker`) with small batches; when the projection named PROJECTION has
applied EVENT events of its BATCH-th batch (inside the batch's open transaction), it
writes the event's position to MARKER and sleeps until the test kills it with SIGKILL.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eventsourcing.persistence import Tracking

from projections import READ_MODELS, run_worker
from projections.base import InitiativeEvent, ReadModel
from projections.store import Session
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.strategy_loader import load_strategy

BATCH_SIZE = 25


def freeze_in_batch(model: type[ReadModel], marker: Path, at_batch: int, at_event: int) -> None:
    """Make `model` stop dead at its `at_event`-th event of its `at_batch`-th batch."""
    counts = {"batches": 0, "events": 0}
    process_batch = model.process_batch
    apply = model.apply

    def counting_batches(
        self: ReadModel, batch: Sequence[tuple[Any, Tracking]], expected: int
    ) -> int:
        counts["batches"] += 1
        counts["events"] = 0
        return process_batch(self, batch, expected)

    def freezing_apply(
        self: ReadModel, session: Session, event: InitiativeEvent, position: int
    ) -> None:
        apply(self, session, event, position)
        counts["events"] += 1
        if counts["batches"] == at_batch and counts["events"] == at_event:
            marker.write_text(str(position))
            time.sleep(600)  # the test kills this process now

    model.process_batch = counting_batches  # type: ignore[method-assign]  # a test double
    model.apply = freezing_apply  # type: ignore[method-assign]  # a test double


def main(argv: list[str]) -> None:
    url, marker, name, batch, event = argv
    model = next(m for m in READ_MODELS if m.name == name)
    freeze_in_batch(model, Path(marker), int(batch), int(event))
    app = RusApp(load_strategy(), Settings(database_url=url, log_format="json"))
    run_worker(app, threading.Event(), batch_size=BATCH_SIZE)


if __name__ == "__main__":
    main(sys.argv[1:])
