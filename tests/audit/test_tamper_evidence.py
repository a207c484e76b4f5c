"""Tamper evidence: the ledger's hash chains, and `verify` naming the first altered,
removed, reordered or inserted stored event — tampered with plain SQL, on both stores."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ruswf.app.audit.ledger import GENESIS, Ledger
from ruswf.app.audit.signing import HeadFileError, export_head, read_head_file
from ruswf.app.audit.verify import check_head, verify_store
from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef, Propose, Submit
from tests.audit.conftest import RawStore


def three_events(app: RusApp, coordinator: ActorRef, content: dict[str, object]) -> list[str]:
    """Positions 1 and 3 belong to initiative A (versions 1, 2), position 2 to B."""
    first = app.propose(Propose(**content), coordinator).id
    second = app.propose(Propose(**{**content, "title": "Andra insatsen"}), coordinator).id
    app.execute(first, Submit(comment="marker-comment"), coordinator)
    return [first, second]


def test_every_event_is_sealed_once_with_hashes_anyone_can_recompute(
    app: RusApp, ledger: Ledger, raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    three_events(app, coordinator, content)
    assert ledger.seal() == 3
    assert ledger.seal() == 0
    assert Ledger(app).seal() == 0  # a second sealer finds nothing left
    rows = list(ledger.rows())
    assert [r.position for r in rows] == [1, 2, 3]
    previous, chains = GENESIS, {}
    for row in rows:
        stored = raw.state(row.position)
        header = f"{row.originator_id}\n{row.originator_version}\n{row.topic}\n".encode()
        digest = hashlib.sha256(header + stored).hexdigest()
        assert row.event_hash == digest
        chain = hashlib.sha256(f"{chains.get(row.originator_id, GENESIS)}\n{digest}".encode())
        assert row.chain_hash == chain.hexdigest()
        chains[row.originator_id] = row.chain_hash
        previous = hashlib.sha256(f"{previous}\n{row.position}\n{digest}".encode()).hexdigest()
        assert row.ledger_hash == previous
    assert ledger.head().ledger_hash == previous
    assert ledger.head().count == 3


def test_verify_of_an_untouched_store_is_ok(
    app: RusApp, ledger: Ledger, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    three_events(app, coordinator, content)
    ledger.seal()
    result = verify_store(app, ledger)
    assert (result.ok, result.checked, result.sealed, result.pending) == (True, 3, 3, 0)
    assert result.first_bad is None


def test_events_not_sealed_yet_are_checked_and_reported_pending(
    app: RusApp, ledger: Ledger, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    three_events(app, coordinator, content)
    ledger.seal()
    app.propose(Propose(**content), coordinator)
    result = verify_store(app, ledger)
    assert (result.ok, result.checked, result.sealed, result.pending) == (True, 4, 3, 1)


def test_verify_names_an_event_altered_with_sql(
    app: RusApp, ledger: Ledger, raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    first, _ = three_events(app, coordinator, content)
    ledger.seal()
    raw.alter(3, "marker-comment", "forged-comment")
    bad = verify_store(app, ledger)
    assert bad.ok is False
    assert bad.checked == 2
    assert bad.first_bad is not None
    assert bad.first_bad["problem"] == "altered"
    assert (bad.first_bad["position"], bad.first_bad["originator_id"]) == (3, first)
    assert bad.first_bad["version"] == 2


def test_verify_names_an_event_deleted_with_sql(
    app: RusApp, ledger: Ledger, raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    _, second = three_events(app, coordinator, content)
    ledger.seal()
    raw.delete(2)
    bad = verify_store(app, ledger).first_bad
    assert bad is not None
    assert bad["problem"] == "removed"
    assert (bad["position"], bad["originator_id"], bad["version"]) == (2, second, 1)


def test_verify_names_the_last_event_deleted_with_sql(
    app: RusApp, ledger: Ledger, raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    first, _ = three_events(app, coordinator, content)
    ledger.seal()
    raw.delete(3)
    bad = verify_store(app, ledger).first_bad
    assert bad is not None
    assert (bad["problem"], bad["position"], bad["originator_id"]) == ("removed", 3, first)


def test_verify_names_events_reordered_with_sql(
    app: RusApp, ledger: Ledger, raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    first, second = three_events(app, coordinator, content)
    ledger.seal()
    raw.swap(2, 3)
    bad = verify_store(app, ledger).first_bad
    assert bad is not None
    assert bad["problem"] == "reordered"
    assert (bad["position"], bad["originator_id"], bad["version"]) == (2, first, 2)
    assert bad["sealed"]["originator_id"] == second


def test_verify_names_an_event_inserted_behind_the_ledger(
    app: RusApp, ledger: Ledger, raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    """A row slipped in at a position the ledger had already passed (a gap) is named."""
    three_events(app, coordinator, content)
    raw.swap(3, 7)  # leave a gap at 3: the ledger seals 1, 2 and 7
    ledger.gap_grace = 0
    ledger.seal()
    raw.swap(7, 3)  # and put the event back into the gap
    bad = verify_store(app, ledger).first_bad
    assert bad is not None
    assert (bad["problem"], bad["position"]) == ("inserted", 3)


def test_verify_names_a_ledger_row_rewritten_to_match_an_altered_event(
    app: RusApp, ledger: Ledger, raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    three_events(app, coordinator, content)
    ledger.seal()
    raw.alter(3, "marker-comment", "forged-comment")
    row = next(r for r in ledger.rows() if r.position == 3)
    header = f"{row.originator_id}\n{row.originator_version}\n{row.topic}\n".encode()
    forged = hashlib.sha256(header + raw.state(3)).hexdigest()
    raw.execute("UPDATE ruswf_ledger SET event_hash = ? WHERE position = 3", (forged,))
    bad = verify_store(app, ledger).first_bad
    assert bad is not None
    assert (bad["problem"], bad["position"]) == ("ledger_altered", 3)


def test_verify_names_a_snapshot_altered_with_sql(
    open_app: Callable[..., RusApp], raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    app = open_app(snapshot_interval=2)
    initiative = app.propose(Propose(**{**content, "title": "Snapshot-marker"}), coordinator).id
    app.execute(initiative, Submit(), coordinator)
    ledger = Ledger(app)
    ledger.seal()
    assert verify_store(app, ledger).snapshots_checked == 1
    state = bytes(raw.execute(f"SELECT state FROM {raw.snapshots}")[0][0])
    raw.execute(
        f"UPDATE {raw.snapshots} SET state = ?",
        (state.replace(b"Snapshot-marker", b"Snapshot-forged"),),
    )
    bad = verify_store(app, ledger).first_bad
    assert bad is not None
    assert (bad["problem"], bad["originator_id"], bad["version"]) == ("snapshot", initiative, 2)


def test_signed_head_proves_later_that_nothing_before_it_changed(
    app: RusApp, ledger: Ledger, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    three_events(app, coordinator, content)
    ledger.seal()
    key = Ed25519PrivateKey.generate()
    document = json.loads(json.dumps(export_head(ledger.head(), key)))
    app.propose(Propose(**content), coordinator)  # later events do not matter
    head = read_head_file(document, key.public_key()).head
    assert check_head(app, head.position, head.count, head.ledger_hash).ok


def test_signed_head_catches_a_store_whose_ledger_was_rebuilt_after_tampering(
    app: RusApp, ledger: Ledger, raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    """An attacker who alters an event and re-seals the whole ledger passes `verify`,
    but not the head the auditor kept."""
    three_events(app, coordinator, content)
    ledger.seal()
    kept = ledger.head()
    raw.alter(3, "marker-comment", "forged-comment")
    raw.execute("DELETE FROM ruswf_ledger")
    raw.execute(f"UPDATE ruswf_ledger_head SET position = 0, count = 0, ledger_hash = '{GENESIS}'")
    ledger.seal()
    assert verify_store(app, ledger).ok
    assert not check_head(app, kept.position, kept.count, kept.ledger_hash).ok


def test_head_signed_by_another_key_is_refused(app: RusApp, ledger: Ledger) -> None:
    document = export_head(ledger.head(), Ed25519PrivateKey.generate())
    trusted = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(HeadFileError, match="not by the trusted key"):
        read_head_file(document, trusted)


def test_head_whose_fields_were_edited_is_refused(app: RusApp, ledger: Ledger) -> None:
    key = Ed25519PrivateKey.generate()
    document = {**export_head(ledger.head(), key), "count": 99}
    with pytest.raises(HeadFileError, match="does not match"):
        read_head_file(document, key.public_key())


def test_cli_verify_exits_non_zero_naming_the_altered_row(
    app: RusApp,
    ledger: Ledger,
    raw: RawStore,
    run: Callable[..., Any],
    coordinator: ActorRef,
    content: dict[str, Any],
) -> None:
    three_events(app, coordinator, content)
    ledger.seal()
    ok = run("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "3 events intact" in ok.stdout
    raw.alter(3, "marker-comment", "forged-comment")
    bad = run("audit", "verify")
    assert bad.exit_code == 2
    assert "'position': 3" in bad.stderr
    assert "altered" in bad.stderr


def test_cli_head_sign_and_check_head_round_trip(
    app: RusApp,
    ledger: Ledger,
    raw: RawStore,
    run: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: Any,
    coordinator: ActorRef,
    content: dict[str, Any],
) -> None:
    three_events(app, coordinator, content)
    key_file = tmp_path / "ledger.pem"
    assert run("audit", "keygen", "--out", str(key_file)).exit_code == 0
    monkeypatch.setenv("RUSWF_LEDGER_SIGNING_KEY", str(key_file))
    assert run("audit", "seal").exit_code == 0
    head_file = tmp_path / "head.json"
    signed = run("audit", "head", "--sign", "--out", str(head_file))
    assert signed.exit_code == 0, signed.output
    assert json.loads(head_file.read_text())["signature"]["algorithm"] == "Ed25519"
    checked = run("audit", "check-head", str(head_file))
    assert checked.exit_code == 0, checked.output
    raw.alter(3, "marker-comment", "forged-comment")
    refused = run("audit", "check-head", str(head_file))
    assert refused.exit_code == 2
    assert "first bad event" in refused.stderr


def test_an_event_after_a_fresh_gap_waits_to_be_sealed(
    app: RusApp, ledger: Ledger, raw: RawStore, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    """A gap may be a write not committed yet: what follows it is sealed only once the gap
    is old enough to be a gap (it stays pending, checked for decoding and order only)."""
    three_events(app, coordinator, content)
    raw.swap(3, 7)
    assert ledger.seal() == 2
    result = verify_store(app, ledger)
    assert (result.ok, result.sealed, result.pending) == (True, 2, 1)
    ledger.gap_grace = 0
    assert ledger.seal() == 1


def test_events_sealed_while_verify_runs_count_as_pending(
    app: RusApp,
    ledger: Ledger,
    coordinator: ActorRef,
    content: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A follower may seal more while verify walks the log: verify holds to the head it
    read first, so the newer seals are no false alarm."""
    app.propose(Propose(**content), coordinator)
    app.propose(Propose(**content), coordinator)
    ledger.seal()
    head_at_start = ledger.head()
    app.propose(Propose(**content), coordinator)
    ledger.seal()
    monkeypatch.setattr(ledger, "head", lambda: head_at_start)
    result = verify_store(app, ledger)
    assert (result.ok, result.sealed, result.pending) == (True, 2, 1)
