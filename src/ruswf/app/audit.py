"""Integrity check of the stored events (`ruswf audit verify`).

Every stored event must decode (its topic resolves and its state parses), and each
aggregate's versions must run 1, 2, 3, ... in the global order, so a removed, reordered
or corrupted row is named. Gaps in notification ids are normal and not reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruswf.app.service import RusApp

PAGE = 1000


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_bad": self.first_bad}


def verify_store(app: RusApp) -> VerifyResult:
    """Walk the whole log once; stop at the first event that is not intact."""
    last_version: dict[Any, int] = {}
    checked = 0
    start = 1
    while True:
        page = app.recorder.select_notifications(start, PAGE)
        for notification in page:
            where = {
                "position": notification.id,
                "originator_id": str(notification.originator_id),
                "version": notification.originator_version,
                "topic": notification.topic,
            }
            try:
                app.mapper.to_domain_event(notification)
            except Exception as error:
                return VerifyResult(
                    False, checked, {**where, "reason": f"cannot decode: {type(error).__name__}"}
                )
            expected = last_version.get(notification.originator_id, 0) + 1
            if notification.originator_version != expected:
                return VerifyResult(
                    False,
                    checked,
                    {**where, "reason": f"expected version {expected} of this aggregate here"},
                )
            last_version[notification.originator_id] = notification.originator_version
            checked += 1
        if len(page) < PAGE:
            return VerifyResult(True, checked, None)
        start = page[-1].id + 1
