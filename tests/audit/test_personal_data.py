"""Personal data and erasure (GDPR art. 17): contact persons live in the erasable people
registry, events reference them by id, and erasure leaves the history verifiable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from projections import Projections
from ruswf.app.audit.dossier import build_dossier
from ruswf.app.audit.export import export, selection
from ruswf.app.audit.ledger import Ledger
from ruswf.app.audit.people import ERASED, People
from ruswf.app.audit.replay import history_as_of
from ruswf.app.audit.verify import verify_store
from ruswf.app.service import RusApp
from ruswf.domain.commands import (
    ActorRef,
    Approve,
    Propose,
    RecordPreparation,
    Revise,
    Schedule,
    Submit,
)
from ruswf.domain.errors import ValidationError
from tests.audit.conftest import RawStore

NAME = "Greta Personsdotter"
EMAIL = "greta.personsdotter@example.se"
PHONE = "+46 60 555 12 34"


@pytest.fixture
def people(app: RusApp) -> People:
    return People(app)


@pytest.fixture
def greta(people: People) -> str:
    return people.register(
        NAME, email=EMAIL, phone=PHONE, organisation="sundsvall", registered_by="adm"
    ).id


def personal_data_in(found: bytes) -> list[str]:
    return [item for item in (NAME, EMAIL, PHONE) if item.encode() in found]


def test_events_snapshots_and_projections_hold_only_the_person_id(
    open_app: Callable[..., RusApp],
    greta: str,
    raw: RawStore,
    coordinator: ActorRef,
    content: dict[str, Any],
) -> None:
    app = open_app(snapshot_interval=2)
    initiative = app.propose(Propose(**{**content, "contact_person": greta}), coordinator).id
    app.execute(initiative, Submit(), coordinator)  # a snapshot at version 2
    projections = Projections(app)
    projections.catch_up()
    projections.ledger.seal()
    assert app.get_initiative(initiative).contact_person == greta
    assert len(raw.execute(f"SELECT * FROM {raw.snapshots}")) == 1
    outside_the_registry = raw.rows(excluding="ruswf_people")
    assert greta.encode() in outside_the_registry
    assert personal_data_in(outside_the_registry) == []


def test_erasure_makes_the_person_unreadable_in_the_whole_store(
    app: RusApp, people: People, greta: str, raw: RawStore, coordinator: ActorRef, content: Any
) -> None:
    app.propose(Propose(**{**content, "contact_person": greta}), coordinator)
    assert personal_data_in(raw.dump()) == [NAME, EMAIL, PHONE]  # in the registry, so far
    people.erase(greta, erased_by="adm")
    assert personal_data_in(raw.dump()) == []


def test_erased_person_reads_as_raderad_and_keeps_a_tombstone(people: People, greta: str) -> None:
    erased = people.erase(greta, erased_by="adm")
    assert (erased.name, erased.email, erased.phone) == (ERASED, ERASED, ERASED)
    assert erased.erased
    assert erased.organisation == "sundsvall"
    assert people.erase(greta, erased_by="adm").erased_at == erased.erased_at  # idempotent
    assert [p.id for p in people.list()] == []
    assert [p.id for p in people.list(include_erased=True)] == [greta]


def test_history_still_replays_and_chains_still_verify_after_erasure(
    app: RusApp,
    people: People,
    greta: str,
    coordinator: ActorRef,
    content: dict[str, Any],
    run: Callable[..., Any],
) -> None:
    initiative = app.propose(Propose(**{**content, "contact_person": greta}), coordinator).id
    app.execute(initiative, Revise(changes={"summary": "Ny sammanfattning."}), coordinator)
    ledger = Ledger(app)
    ledger.seal()
    before = ledger.head()
    people.erase(greta, erased_by="adm")
    assert ledger.head() == before
    assert verify_store(app, ledger).ok
    view, events = history_as_of(app, initiative, version=1)
    assert view["contact_person"] == greta
    assert [e.version for e in events] == [1]
    shown = run("audit", "history", initiative, "--version", "1")
    assert shown.exit_code == 0, shown.output
    assert f"contact {ERASED} ({greta})" in shown.stdout
    assert NAME not in shown.stdout


def test_dossier_shows_the_contact_until_erased_then_raderad(
    app: RusApp, people: People, greta: str, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    initiative = app.propose(Propose(**{**content, "contact_person": greta}), coordinator).id
    _walk_to_decision(app, initiative)
    assert (
        build_dossier(app, initiative, 1, ledger=Ledger(app), people=people)["contact_person"][
            "name"
        ]
        == NAME
    )
    people.erase(greta, erased_by="adm")
    contact = build_dossier(app, initiative, 1, ledger=Ledger(app), people=people)["contact_person"]
    assert (contact["name"], contact["email"], contact["erased"]) == (ERASED, ERASED, True)


def test_exports_never_hold_personal_data(
    app: RusApp, greta: str, coordinator: ActorRef, content: dict[str, Any], tmp_path: Path
) -> None:
    initiative = app.propose(Propose(**{**content, "contact_person": greta}), coordinator).id
    _walk_to_decision(app, initiative)
    export(app, selection(app), tmp_path / "export", ledger=Ledger(app))
    written = b"".join(p.read_bytes() for p in (tmp_path / "export").iterdir())
    assert greta.encode() in written
    assert personal_data_in(written) == []


def test_contact_person_must_be_a_registry_id_not_an_address(
    app: RusApp, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as raised:
        app.propose(Propose(**{**content, "contact_person": EMAIL}), coordinator)
    assert raised.value.field == "contact_person"


def test_registering_needs_a_name_and_a_plausible_address(people: People) -> None:
    with pytest.raises(ValidationError) as raised:
        people.register("  ", registered_by="adm")
    assert raised.value.field == "name"
    with pytest.raises(ValidationError) as raised:
        people.register(NAME, email="not-an-address", registered_by="adm")
    assert raised.value.field == "email"


def test_cli_register_and_erase(run: Callable[..., Any], people: People) -> None:
    registered = run("gdpr", "register", "--name", NAME, "--email", EMAIL, "--org", "sundsvall")
    assert registered.exit_code == 0, registered.output
    person = registered.stdout.splitlines()[-1]
    assert people.get(person).name == NAME
    erased = run("gdpr", "erase", "--person", person)
    assert erased.exit_code == 0, erased.output
    assert people.get(person).name == ERASED
    unknown = run("gdpr", "erase", "--person", "p_0000000000000000")
    assert unknown.exit_code == 1
    assert "no person" in unknown.stderr


def _walk_to_decision(app: RusApp, initiative: str) -> None:
    coordinator = ActorRef("coord-1", "sundsvall", "coordinator")
    preparer = ActorRef("prep-1", "region_vasternorrland", "preparer")
    secretary = ActorRef("sec-1", "region_vasternorrland", "secretary")
    app.execute(initiative, Submit(), coordinator)
    app.execute(initiative, RecordPreparation(memo="PM.", recommendation="approve"), preparer)
    app.execute(initiative, Schedule(council="rsr", meeting_date="2026-01-15"), preparer)
    app.execute(initiative, Approve(decision_text="Bifall."), secretary)
