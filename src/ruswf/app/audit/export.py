"""Exports for public access and archiving (`ruswf audit export`).

One directory per export:

- `audit_trail.jsonl` / `audit_trail.csv` — every selected initiative event: who, when,
  why, what, its stored bytes (base64) and its hashes with the previous links, so each
  row's hashes can be recomputed from the export alone (docs/audit.md);
- `decisions.jsonl` / `decisions.csv` — open data: every selected council decision,
  without personal data (no user ids, no contact persons);
- `manifest.json` — what was selected, the SHA-256 and size of each file, and the
  ledger's head (signed when a signing key is configured).

Exports never contain the people registry's data (names, e-mail addresses, phone
numbers): contact persons appear as ids, so an erasure needs no export to be recalled.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Notification

from ruswf.app.audit.dossier import DECISIONS
from ruswf.app.audit.ledger import GENESIS, Head, Ledger, LedgerRow, stored_event_hash
from ruswf.app.audit.replay import why
from ruswf.app.audit.signing import export_head
from ruswf.app.audit.verify import notifications
from ruswf.app.csvsafe import write_csv
from ruswf.app.files import private_dir, write_private
from ruswf.app.service import RusApp
from ruswf.app.views import EventView
from ruswf.domain.errors import ValidationError
from ruswf.domain.initiative import Initiative

FORMAT = "ruswf-export/1"
AUDIT_COLUMNS = (
    "position",
    "initiative_id",
    "version",
    "type",
    "recorded_at",
    "effective_date",
    "actor_user",
    "actor_organisation",
    "actor_role",
    "why",
    "data",
    "event_hash",
    "previous_chain_hash",
    "chain_hash",
    "previous_ledger_hash",
    "ledger_hash",
)
DECISION_COLUMNS = (
    "initiative_id",
    "title",
    "goal_area",
    "lead_actor",
    "council",
    "meeting_date",
    "period",
    "outcome",
    "text",
    "next_meeting_date",
    "recorded_at",
)


@dataclass(frozen=True)
class Selection:
    """Which events to export: one initiative, and/or recorded in [since, until)."""

    initiative_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    label: dict[str, Any] | None = None

    def takes(self, originator_id: str, recorded_at: datetime) -> bool:
        if self.initiative_id is not None and originator_id != self.initiative_id:
            return False
        if self.since is not None and recorded_at < self.since:
            return False
        return self.until is None or recorded_at < self.until

    def takes_meeting(self, originator_id: str, meeting: date) -> bool:
        """Decisions are selected by their meeting's date."""
        if self.initiative_id is not None and originator_id != self.initiative_id:
            return False
        day = datetime.combine(meeting, time(), tzinfo=UTC)
        if self.since is not None and day < self.since:
            return False
        return self.until is None or day < self.until


def selection(
    app: RusApp,
    *,
    initiative_id: str | None = None,
    period: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Selection:
    """A selection from the command line's options (dates inclusive)."""
    label: dict[str, Any] = {}
    if initiative_id is not None:
        label["initiative"] = str(app.get_initiative(initiative_id).id)
    if period is not None:
        if since is not None or until is not None:
            raise ValidationError("period", "give either a period or --from/--to, not both")
        found = app.strategy.period(period)
        since, until = found.start, found.end
        label["period"] = found.id
    if since is not None and until is not None and until < since:
        raise ValidationError("to", "must not be before --from")
    if since is not None:
        label["from"] = since.isoformat()
    if until is not None:
        label["to"] = until.isoformat()
    return Selection(
        initiative_id=label.get("initiative"),
        since=datetime.combine(since, time(), tzinfo=UTC) if since else None,
        # --to 9999-12-31 includes the last day there is: no upper bound.
        until=datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
        if until and until < date.max
        else None,
        label=label or {"all": True},
    )


def _sealed(
    app: RusApp, ledger: Ledger, head: Head
) -> Iterator[tuple[Notification, LedgerRow | None]]:
    """Every stored event with its ledger row up to `head` (None while not sealed then),
    in log order."""
    rows = ledger.rows(until=head.position)
    row = next(rows, None)
    for notification in notifications(app):
        while row is not None and row.position < notification.id:
            row = next(rows, None)
        if row is not None and row.position == notification.id:
            yield notification, row
        else:
            yield notification, None


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    def cell(value: Any) -> Any:
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return value

    return write_csv(columns, ([cell(row.get(c)) for c in columns] for row in rows))


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def export(
    app: RusApp,
    chosen: Selection,
    out: Path,
    *,
    ledger: Ledger,
    signing_key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """Write the export of `chosen` into directory `out`; returns the manifest."""
    head = ledger.head()
    trail: list[dict[str, Any]] = []
    decided: list[dict[str, Any]] = []
    content: dict[str, dict[str, Any]] = {}
    chains: dict[str, str] = {}
    previous_ledger = GENESIS
    for notification, row in _sealed(app, ledger, head):
        originator = str(notification.originator_id)
        previous_chain = chains.get(originator, GENESIS)
        if row is not None:
            chains[originator] = row.chain_hash
        event: Any = app.mapper.to_domain_event(notification)
        if isinstance(event, Initiative.Event | Initiative.Proposed):
            view = EventView.of(event)
            content_before = dict(content.get(originator, {}))
            if isinstance(event, Initiative.Proposed):
                content[originator] = dict(event.content)
            elif isinstance(event, Initiative.Revised):
                content[originator] = {**content.get(originator, {}), **event.changes}
            if chosen.takes(originator, event.timestamp):
                trail.append(_trail_row(notification, row, view, previous_chain, previous_ledger))
            if view.type in DECISIONS and chosen.takes_meeting(
                originator, date.fromisoformat(view.data["meeting_date"])
            ):
                decided.append(_decision_row(app, originator, view, content_before))
        if row is not None:
            previous_ledger = row.ledger_hash
    private_dir(out)
    files = {
        "audit_trail.jsonl": _jsonl(trail),
        "audit_trail.csv": _csv(AUDIT_COLUMNS, [_flat(r) for r in trail]),
        "decisions.jsonl": _jsonl(decided),
        "decisions.csv": _csv(DECISION_COLUMNS, decided),
    }
    listed = []
    for name, text in files.items():
        data = text.encode("utf-8")
        write_private(out / name, data)
        rows = len(trail) if name.startswith("audit") else len(decided)
        listed.append(
            {
                "name": name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "rows": rows,
            }
        )
    manifest = {
        "format": FORMAT,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "application": app.name,
        "strategy": app.strategy.id,
        "selection": chosen.label,
        "files": listed,
        "ledger_head": export_head(head, signing_key),
        "pending": sum(1 for r in trail if not r["sealed"]),
        "schema": "docs/audit.md#export",
    }
    write_private(
        out / "manifest.json",
        (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    )
    return manifest


def _trail_row(
    notification: Notification,
    row: LedgerRow | None,
    view: EventView,
    previous_chain: str,
    previous_ledger: str,
) -> dict[str, Any]:
    return {
        "position": notification.id,
        "initiative_id": str(notification.originator_id),
        "version": view.version,
        "type": view.type,
        "topic": notification.topic,
        "recorded_at": view.recorded_at,
        "effective_date": view.effective_date,
        "actor": view.actor,
        "why": why(view),
        "data": view.data,
        "state_b64": base64.b64encode(bytes(notification.state)).decode(),
        "event_hash": stored_event_hash(notification),
        "sealed": row is not None,
        "previous_chain_hash": previous_chain if row is not None else None,
        "chain_hash": row.chain_hash if row is not None else None,
        "previous_ledger_hash": previous_ledger if row is not None else None,
        "ledger_hash": row.ledger_hash if row is not None else None,
    }


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    actor = row["actor"]
    return {
        **row,
        "actor_user": actor["user"],
        "actor_organisation": actor["organisation"],
        "actor_role": actor["role"],
    }


def _decision_row(
    app: RusApp, initiative_id: str, view: EventView, content: dict[str, Any]
) -> dict[str, Any]:
    meeting = date.fromisoformat(view.data["meeting_date"])
    return {
        "initiative_id": initiative_id,
        "title": content.get("title"),
        "goal_area": content.get("goal_area"),
        "lead_actor": content.get("lead_actor"),
        "council": view.data["council"],
        "meeting_date": meeting.isoformat(),
        "period": app.strategy.period_of(meeting).id,
        "outcome": DECISIONS[view.type],
        "text": view.data.get("decision_text") or view.data.get("reason"),
        "next_meeting_date": view.data.get("next_meeting_date"),
        "recorded_at": view.recorded_at,
    }
