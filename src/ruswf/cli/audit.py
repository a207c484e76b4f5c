"""`ruswf audit ...` (replay, tamper evidence, dossiers, exports) and `ruswf gdpr ...`
(the people registry and erasure). Two typer apps for `ruswf.cli` to register
(`audit_cli` as "audit", `gdpr_cli` as "gdpr"); what each command proves is in
docs/audit.md."""

from __future__ import annotations

import getpass
import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ruswf.app.audit.people import People
from ruswf.app.moments import MomentOutOfRangeError, in_utc
from ruswf.app.service import RusApp
from ruswf.cli.common import command_group, fail, services

audit_cli = command_group(
    "Audit: replay, verify the stored events, dossiers, signed heads and exports."
)
gdpr_cli = command_group("Personal data: the people registry and erasure (GDPR art. 17).")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _dump(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _emit(text: str, out: Path | None) -> None:
    """`text` on standard output, or into the file `out` (saying so)."""
    if out is None:
        typer.echo(text, nl=False)
    else:
        # A dossier names its contact person: owner-only, never through a planted link.
        from ruswf.app.files import UnsafePathError, write_private

        try:
            write_private(out, text.encode("utf-8"))
        except UnsafePathError as error:
            fail(str(error))
        typer.echo(f"wrote {out}")


def _signing_key(app: RusApp, required: bool) -> Any:
    from ruswf.app.audit.signing import SigningKeyError, load_private_key

    configured = app.settings.ledger_signing_key
    if configured is None:
        if required:
            fail("no signing key: set RUSWF_LEDGER_SIGNING_KEY (see `ruswf audit keygen`)")
        return None
    try:
        return load_private_key(configured.get_secret_value())
    except SigningKeyError as error:
        fail(str(error))


# -- replay ------------------------------------------------------------------------------


def _contact(people: People, person_id: object) -> str:
    if not isinstance(person_id, str):
        return "–"
    found = people.resolve(person_id)
    assert found is not None
    return f"{found['name']} ({person_id})"


@audit_cli.command("history")
def history(
    initiative_id: Annotated[str, typer.Argument(help="The initiative's id.")],
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="As it stood at this moment (ISO 8601; UTC if no offset)."),
    ] = None,
    version: Annotated[int | None, typer.Option(min=1, help="As it stood at this version.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The initiative as it stood (now, at a version or a moment) and its events up to then."""
    from ruswf.app.audit.replay import history_as_of, why

    if as_of is not None and version is not None:
        fail("give either --as-of or --version, not both")
    if as_of is not None:
        try:
            as_of = in_utc(as_of)
        except MomentOutOfRangeError as error:
            fail(f"--as-of: {error}")
    with services() as built:
        app = built.app
        view, events = history_as_of(app, initiative_id, version=version, as_of=as_of)
        if as_json:
            _dump({"initiative": view, "history": [e.as_dict() for e in events]})
            return
        typer.echo(f"{view['title']}  ({view['id']})")
        typer.echo(
            f"version {view['version']} · {view['state']} ({view['state_label']}) · "
            f"{view['goal_area']} · lead {view['lead_actor']} · "
            f"contact {_contact(built.people, view.get('contact_person'))}"
        )
        typer.echo("")
        for e in events:
            actor = f"{e.actor['user']} ({e.actor['role']}, {e.actor['organisation']})"
            reason = why(e)
            typer.echo(
                f"v{e.version:<4} {e.recorded_at}  {e.type:<20} {actor}"
                + (f": {reason}" if reason else "")
            )


@audit_cli.command("diff")
def diff_command(
    initiative_id: Annotated[str, typer.Argument(help="The initiative's id.")],
    first: Annotated[int, typer.Argument(min=1, help="From this version.")],
    second: Annotated[int, typer.Argument(min=1, help="To this version.")],
    as_json: JsonOption = False,
) -> None:
    """Which fields changed between two versions, and by whom and why (the events between)."""
    from ruswf.app.audit.replay import diff

    with services() as built:
        app = built.app
        found = diff(app, initiative_id, first, second)
        if as_json:
            _dump(found)
            return
        typer.echo(f"{found['initiative_id']}: version {first} → {second}")
        if not found["fields"]:
            typer.echo("  no field differs")
        for change in found["fields"]:
            typer.echo(
                f"  {change['field']}: {json.dumps(change['from'], ensure_ascii=False)}"
                f" → {json.dumps(change['to'], ensure_ascii=False)}"
            )
        typer.echo("")
        for e in found["events"]:
            actor = f"{e['actor']['user']} ({e['actor']['role']}, {e['actor']['organisation']})"
            changed = ", ".join(e["changed"]) or "nothing"
            typer.echo(f"v{e['version']:<4} {e['recorded_at']}  {e['type']:<20} {actor}")
            typer.echo(f"       changed: {changed}" + (f"; why: {e['why']}" if e["why"] else ""))


@audit_cli.command("dossier")
def dossier_command(
    initiative_id: Annotated[str, typer.Argument(help="The initiative's id.")],
    number: Annotated[int, typer.Argument(min=1, help="The decision's number (1 = first).")],
    html: Annotated[bool, typer.Option("--html", help="A printable HTML page.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
) -> None:
    """The dossier of a council decision: what the council had when it decided."""
    from ruswf.app.audit.dossier import build_dossier, render_html

    with services() as built:
        app = built.app
        found = build_dossier(app, initiative_id, number, ledger=built.ledger, people=built.people)
        text = (
            render_html(found) if html else json.dumps(found, indent=2, ensure_ascii=False) + "\n"
        )
        _emit(text, out)


# -- tamper evidence ---------------------------------------------------------------------


@audit_cli.command("verify")
def verify(as_json: JsonOption = False) -> None:
    """Exit 0 when every stored event is intact; otherwise name the first altered,
    removed, reordered or inserted one and exit 2."""
    from ruswf.app.audit.verify import verify_store

    with services() as built:
        app = built.app
        result = verify_store(app, built.ledger)
        if as_json:
            _dump(result.as_dict())
        if not result.ok:
            fail(f"{result.checked} events intact, then: {result.first_bad}", code=2)
        if not as_json:
            typer.echo(
                f"ok: {result.checked} events intact ({result.sealed} sealed in the ledger,"
                f" {result.pending} pending: decodable and in order, not sealed yet);"
                f" {result.snapshots_checked} snapshots match their events"
            )


@audit_cli.command("seal")
def seal() -> None:
    """Seal every event not in the ledger yet (the projection worker does this too)."""

    with services() as built:
        ledger = built.ledger
        sealed = ledger.seal()
        head = ledger.head()
        typer.echo(
            f"sealed {sealed} events; head: position {head.position},"
            f" {head.count} events, {head.ledger_hash}"
        )


@audit_cli.command("head")
def head(
    sign: Annotated[
        bool, typer.Option("--sign", help="Sign with RUSWF_LEDGER_SIGNING_KEY (Ed25519).")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
) -> None:
    """The ledger's head as JSON, to keep outside the system (`check-head` proves later
    that nothing up to it changed)."""
    from ruswf.app.audit.signing import dumps, export_head

    with services() as built:
        app = built.app
        key = _signing_key(app, required=sign) if sign else None
        text = dumps(export_head(built.ledger.head(), key))
        _emit(text, out)


@audit_cli.command("check-head")
def check_head_command(
    file: Annotated[Path, typer.Argument(help="A head exported by `ruswf audit head`.")],
    public_key: Annotated[
        str | None,
        typer.Option(help="The trusted public key (PEM file, PEM, base64 or hex)."),
    ] = None,
) -> None:
    """Check a signed head against the store: exit 0 when the events up to it are
    unchanged, 2 when not (or the signature is not the trusted key's)."""
    from ruswf.app.audit.signing import (
        HeadFileError,
        SigningKeyError,
        load_public_key,
        read_head_file,
    )
    from ruswf.app.audit.verify import check_head, verify_store

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        fail(f"cannot read {file}: {error}")
    with services() as built:
        app = built.app
        try:
            trusted = load_public_key(public_key) if public_key else None
        except SigningKeyError as error:
            fail(f"--public-key: {error}")
        if trusted is None:
            configured = _signing_key(app, required=False)
            trusted = configured.public_key() if configured is not None else None
        try:
            parsed = read_head_file(document, trusted)
        except HeadFileError as error:
            fail(f"{file}: {error}", code=2)
        result = check_head(app, parsed.head.position, parsed.head.count, parsed.head.ledger_hash)
        signer = (
            f"signed by key {parsed.signed_by}"
            + ("" if trusted is not None else " (the key in the file: pass --public-key to pin it)")
            if parsed.signed_by
            else "not signed"
        )
        if not result.ok:
            found = verify_store(app, built.ledger)
            where = f"; first bad event: {found.first_bad}" if found.first_bad else ""
            fail(f"{result.reason} ({signer}){where}", code=2)
        typer.echo(f"ok: {result.reason} ({signer})")


@audit_cli.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option(help="Where to write the private key (PEM, mode 0600).")],
) -> None:
    """Create an Ed25519 signing key for ledger heads; prints the public key."""
    from ruswf.app.audit.signing import generate_key_file, key_id, public_key_b64, public_key_pem

    try:
        public = generate_key_file(out)
    except FileExistsError:
        fail(f"{out} exists; not overwriting a key")
    typer.echo(f"wrote {out}; set RUSWF_LEDGER_SIGNING_KEY={out}")
    typer.echo(f"public key {key_id(public)} (give it to the auditors):")
    typer.echo(public_key_pem(public), nl=False)
    typer.echo(public_key_b64(public))


@audit_cli.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="The directory to write (created if missing).")],
    initiative: Annotated[str | None, typer.Option(help="Only this initiative.")] = None,
    period: Annotated[str | None, typer.Option(help="A reporting period, e.g. 2026-T1.")] = None,
    since: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")
    ] = None,
) -> None:
    """The audit trail (JSON Lines and CSV) and the open-data decisions, with a manifest
    of SHA-256 sums and the ledger's head (signed when a key is configured)."""
    from ruswf.app.audit.export import export, selection
    from ruswf.app.files import UnsafePathError

    with services() as built:
        app = built.app
        chosen = selection(
            app,
            initiative_id=initiative,
            period=period,
            since=_date(since),
            until=_date(until),
        )
        try:
            manifest = export(
                app, chosen, out, ledger=built.ledger, signing_key=_signing_key(app, required=False)
            )
        except UnsafePathError as error:
            fail(str(error))
        for listed in manifest["files"]:
            typer.echo(f"{listed['sha256']}  {out / listed['name']}  ({listed['rows']} rows)")
        head_ = manifest["ledger_head"]
        signed = "signed" if head_["signature"] else "not signed"
        typer.echo(
            f"wrote {out / 'manifest.json'}; ledger head position {head_['position']}"
            f" ({signed}); {manifest['pending']} exported events not sealed yet"
        )


def _date(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


# -- gdpr --------------------------------------------------------------------------------


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@gdpr_cli.command("register")
def register(
    name: Annotated[str, typer.Option(help="The person's name.")],
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
    org: Annotated[str | None, typer.Option(help="The person's organisation (actor id).")] = None,
    reminders: Annotated[
        bool, typer.Option("--reminders", help="Send this person the org's e-mail reminders.")
    ] = False,
    language: Annotated[str | None, typer.Option(help="Reminder language: sv or en.")] = None,
) -> None:
    """Register a contact person; the person id is the last line of output (use it as an
    initiative's `contact_person`)."""

    with services() as built:
        person = built.people.register(
            name,
            email=email,
            phone=phone,
            organisation=org,
            registered_by=_operator(),
            reminders=reminders,
            language=language,
        )
        typer.echo(f"registered person {person.id}:")
        typer.echo(person.id)


@gdpr_cli.command("show")
def show(person: Annotated[str, typer.Argument(help="The person id.")]) -> None:
    """A person's data ("[raderad]" once erased)."""

    with services() as built:
        _dump(built.people.get(person).as_dict())


@gdpr_cli.command("list")
def list_people(
    erased: Annotated[bool, typer.Option("--erased", help="Include erased persons.")] = False,
) -> None:
    """The people registry."""

    with services() as built:
        for p in built.people.list(include_erased=erased):
            state = f"erased {p.erased_at}" if p.erased else (p.email or "")
            typer.echo(f"{p.id}  {p.name:<30} {p.organisation or '-':<22} {state}")


@gdpr_cli.command("erase")
def erase(
    person: Annotated[str, typer.Option("--person", help="The person id to erase.")],
) -> None:
    """Erase a person's data everywhere (art. 17): events keep only the id, every view
    shows "[raderad]", and the hash chains still verify."""

    with services() as built:
        erased = built.people.erase(person, erased_by=_operator())
        typer.echo(f"erased {erased.id} at {erased.erased_at}")
        if erased.erasure == "pending":
            typer.echo(
                "pending: an open reader of the store still keeps the old data in its files;"
                " `ruswf gdpr status` completes the erasure once it has gone"
            )
        else:
            typer.echo(f"complete: gone from the store's files at {erased.erasure_completed_at}")


@gdpr_cli.command("status")
def status() -> None:
    """Every erasure and whether it is complete (the data gone from the store's files
    too) or still pending; completes the pending ones it can. Exit 3 while any is pending."""
    with services() as built:
        erased = built.people.status()
        for p in erased:
            when = p.erasure_completed_at or "-"
            typer.echo(f"{p.id}  erased {p.erased_at}  {p.erasure:<9} {when}")
        if any(p.erasure == "pending" for p in erased):
            raise typer.Exit(3)
