"""Encryption at rest (`RUSWF_CIPHER_KEY`): stored bytes are not plaintext, everything
else works as before, the chains are over the ciphertext, and rotated keys still read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.cryptography import AESCipher

from projections import Projections
from ruswf.app.audit.ledger import Ledger
from ruswf.app.audit.verify import verify_store
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings, SettingsError
from ruswf.domain.commands import ActorRef, Propose, RecordPreparation, Submit
from tests.audit.conftest import RawStore

MARKER = "Krypterad-insats"


def test_stored_events_and_snapshots_are_not_plaintext(
    open_app: Callable[..., RusApp], raw: RawStore, coordinator: ActorRef, content: Any
) -> None:
    app = open_app(cipher_key=AESCipher.create_key(32), snapshot_interval=2)
    initiative = app.propose(Propose(**{**content, "title": MARKER}), coordinator).id
    app.execute(initiative, Submit(), coordinator)
    states = [bytes(r[0]) for r in raw.execute(f"SELECT state FROM {raw.events}")]
    states += [bytes(r[0]) for r in raw.execute(f"SELECT state FROM {raw.snapshots}")]
    assert len(states) == 3
    for state in states:
        assert MARKER.encode() not in state
        assert b"sundsvall" not in state
    assert app.get_initiative(initiative).title == MARKER


def test_everything_works_with_encryption_on(
    open_app: Callable[..., RusApp],
    raw: RawStore,
    coordinator: ActorRef,
    preparer: ActorRef,
    content: Any,
) -> None:
    app = open_app(cipher_key=AESCipher.create_key(16))
    initiative = app.propose(Propose(**{**content, "title": MARKER}), coordinator).id
    app.execute(initiative, Submit(), coordinator)
    app.execute(initiative, RecordPreparation(memo="PM.", recommendation="approve"), preparer)
    assert [e.type for e in app.history(initiative)][-1] == "PreparationRecorded"
    assert app.get_initiative(initiative, version=1).state == "proposal"
    projections = Projections(app)
    projections.catch_up()
    assert projections.board()[0][0]["title"] == MARKER
    assert projections.ledger.seal() == 3
    assert verify_store(app, projections.ledger).ok


def test_the_chains_need_no_key_and_catch_an_altered_ciphertext(
    open_app: Callable[..., RusApp], raw: RawStore, coordinator: ActorRef, content: Any
) -> None:
    app = open_app(cipher_key=AESCipher.create_key(32))
    app.propose(Propose(**content), coordinator)
    ledger = Ledger(app)
    ledger.seal()
    state = raw.state(1)
    flipped = state[:-1] + bytes([state[-1] ^ 1])
    raw.execute(f"UPDATE {raw.events} SET state = ? WHERE {raw.position} = 1", (flipped,))
    bad = verify_store(app, ledger).first_bad
    assert bad is not None
    assert (bad["problem"], bad["position"]) == ("altered", 1)


def test_a_rotated_key_writes_new_events_and_still_reads_old_ones(
    open_app: Callable[..., RusApp], coordinator: ActorRef, content: Any
) -> None:
    old, new = AESCipher.create_key(32), AESCipher.create_key(32)
    before = open_app(cipher_key=old)
    initiative = before.propose(Propose(**content), coordinator).id
    after = open_app(cipher_key=new, cipher_previous_keys=old)
    after.execute(initiative, Submit(), coordinator)
    assert [e.type for e in after.history(initiative)] == ["Proposed", "Submitted"]
    without_old = open_app(cipher_key=new)
    first = without_old.recorder.select_notifications(1, 1)[0]
    with pytest.raises(ValueError, match="cipher"):
        without_old.mapper.to_domain_event(first)


def test_a_malformed_cipher_key_is_a_settings_error(database_url: str) -> None:
    with pytest.raises(SettingsError, match="RUSWF_CIPHER_KEY"):
        Settings(database_url=database_url, cipher_key="too-short").eventsourcing_env()
