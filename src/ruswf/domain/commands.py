"""Commands: one frozen dataclass per action, the one place an action's input is defined.

Each field carries its type (the annotation) and a `Spec` (labels in Swedish and
English, a hint, the widget a form uses, constraints). Everything else derives from
these classes: the domain methods take a command and a `Context`; the service's
`execute` dispatches on the command's action; the API body models and the OpenAPI
schema (`ruswf.api.schemas`), the CLI, the demo, the test drivers and the web UI's forms
are built from `fields_of(...)`.

`normalised()` applies a command's own constraints (trimmed required texts, lengths,
choices, list sizes) and returns a clean copy; the domain calls it after the lifecycle
allowed the action, then checks what needs the strategy or the initiative (meetings of
the annual cycle, reporting periods, known indicators).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal, Self, dataclass_transform

from ruswf.domain.calendar import MeetingCalendar
from ruswf.domain.content import TEXT_MAX, TITLE_MAX, text, texts
from ruswf.domain.errors import ValidationError
from ruswf.domain.lifecycle import Action
from ruswf.domain.strategy import Strategy, parse_business_date

SPEC = "ruswf"
"""The metadata key of a command field's `Spec`."""

Recommendation = Literal["approve", "reject", "other"]
ProgressStatus = Literal["on_track", "at_risk", "off_track"]
RECOMMENDATIONS: tuple[str, ...] = typing.get_args(Recommendation)
PROGRESS_STATUSES: tuple[str, ...] = typing.get_args(ProgressStatus)

Widget = Literal[
    "text",  # one line
    "textarea",  # free text
    "date",
    "select",  # one of `choices` (or of the strategy's `choices_from`)
    "multiselect",  # several of the strategy's `choices_from`
    "lines",  # a list of texts, one per line in a form
    "indicators",  # the initiative's indicators (name, unit, baseline, target)
    "indicator_values",  # {indicator name: number}
    "number",
    "person",  # a person id of the people registry
]


@dataclass(frozen=True)
class Spec:
    """What a person and a form need to know about one input field."""

    sv: str
    en: str
    hint_sv: str = ""
    hint_en: str = ""
    widget: Widget = "text"
    max_length: int = TEXT_MAX
    min_items: int = 0
    choices: tuple[str, ...] = ()
    choices_from: str | None = None
    """Where the strategy lists the allowed values: goal_areas, actors, priorities,
    principles, arenas, deciding_councils, reporting_periods."""
    example: Any = None

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.sv

    def hint(self, lang: str) -> str:
        return self.hint_en if lang == "en" else self.hint_sv


def spec(sv: str, en: str, *, default: Any = dataclasses.MISSING, **options: Any) -> Any:
    """A command field with its `Spec` (and a default when it is optional)."""
    return dataclasses.field(default=default, metadata={SPEC: Spec(sv, en, **options)})


@dataclass(frozen=True)
class FieldInfo:
    """One input field of a command, as the API, the CLI and the forms see it."""

    name: str
    type: Any
    spec: Spec
    required: bool


@dataclass(frozen=True)
class ActorRef:
    """Who acts: a user id, the id of the user's organisation, and the role they act in."""

    user: str
    organisation: str
    role: str

    def as_dict(self) -> dict[str, str]:
        return {"user": self.user, "organisation": self.organisation, "role": self.role}


@dataclass(frozen=True)
class Context:
    """What every command method receives besides the command: who acts, the business
    date (the command's `effective_date`, or today), the strategy and its calendar."""

    actor: ActorRef
    day: date
    strategy: Strategy
    calendar: MeetingCalendar


# -- the commands -------------------------------------------------------------------


@dataclass_transform(
    frozen_default=True, kw_only_default=True, field_specifiers=(dataclasses.field, spec)
)
@dataclass(frozen=True, kw_only=True)
class Command:
    """Base of every command: the optional business date of the action.

    A command is a subclass naming its action, `class Submit(Command, action="submit")`,
    and is made a frozen, keyword-only dataclass by this base (so every command is one;
    it takes no `@dataclass` of its own)."""

    action: ClassVar[str]
    effective_date: date | None = spec(
        "Datum",
        "Date",
        hint_sv="Verksamhetsdatum för åtgärden (förvalt: i dag). Beslut dateras till mötet.",
        hint_en="Business date of the action (default: today). "
        "Decisions are dated at their meeting.",
        widget="date",
        default=None,
    )

    def __init_subclass__(cls, *, action: str | None = None, **options: Any) -> None:
        """Make `cls` a command of `action` (a subclass of a command: of its action)."""
        super().__init_subclass__(**options)
        if action is not None:
            cls.action = action
        elif not hasattr(cls, "action"):
            raise TypeError(f"{cls.__name__} does not name its action")
        dataclass(frozen=True, kw_only=True)(cls)

    def normalised(self) -> Self:
        """A copy with every field checked against its `Spec` (texts trimmed)."""
        values = {
            f.name: _normalise(f, getattr(self, f.name))
            for f in fields_of(type(self), with_date=True)
        }
        return dataclasses.replace(self, **values)


def _text_spec(sv: str, en: str, **options: Any) -> Any:
    return spec(sv, en, widget="textarea", **options)


def _several(sv: str, en: str, choices_from: str, **options: Any) -> Any:
    """An optional field holding any number of the strategy's `choices_from`."""
    return spec(sv, en, widget="multiselect", choices_from=choices_from, default=(), **options)


REASON = {"sv": "Motivering", "en": "Reason"}


class Propose(Command, action="propose"):
    """Draft a new initiative (creates it in `proposal`)."""

    title: str = spec("Titel", "Title", max_length=TITLE_MAX, example="Filmfond")
    summary: str = _text_spec(
        "Sammanfattning",
        "Summary",
        hint_sv="Vad insatsen ska åstadkomma och hur.",
        hint_en="What the initiative is to achieve, and how.",
        example="En regional filmfond för att locka produktioner till länet.",
    )
    goal_area: str = spec(
        "Målområde", "Goal area", widget="select", choices_from="goal_areas", example="grow"
    )
    lead_actor: str = spec(
        "Ansvarig aktör",
        "Lead actor",
        widget="select",
        choices_from="actors",
        example="region_vasternorrland",
    )
    priorities: list[str] = _several(
        "Prioriteringar", "Priorities", "priorities", example=["smart_specialisation"]
    )
    partner_actors: list[str] = _several(
        "Samverkande aktörer", "Partner actors", "actors", example=["kramfors"]
    )
    principles: list[str] = _several(
        "Principer", "Principles", "principles", example=["try_and_learn"]
    )
    arena: int | None = spec(
        "Arena",
        "Arena",
        hint_sv="Fyrfältsmodellen: 1 egen hemmaarena … 4 det vi tar hem och genomför.",
        hint_en="The four-field model: 1 our own home arena … 4 what we take home.",
        widget="select",
        choices_from="arenas",
        default=None,
        example=3,
    )
    indicators: list[dict[str, Any]] = spec(
        "Indikatorer",
        "Indicators",
        hint_sv="Namn, enhet, utgångsvärde och målvärde.",
        hint_en="Name, unit, baseline and target.",
        widget="indicators",
        default=(),
    )
    contact_person: str | None = spec(
        "Kontaktperson",
        "Contact person",
        hint_sv="Ett person-id ur personregistret, aldrig ett namn eller en e-postadress.",
        hint_en="A person id from the people registry (`POST /api/v1/people`), never a "
        "name or e-mail address.",
        widget="person",
        default=None,
        example="p_3f9a1c0e5b7d2a64",
    )

    def content(self) -> dict[str, Any]:
        """The initiative's content fields (validated against the strategy by the domain)."""
        return {f.name: _plain(getattr(self, f.name)) for f in content_fields()}


class Submit(Command, action=Action.SUBMIT.value):
    """Send the proposal to the strategic group for council preparation."""

    comment: str | None = _text_spec(
        "Kommentar",
        "Comment",
        default=None,
        example="För beredning i Strategiska RUS-gruppen.",
    )


class Revise(Command, action=Action.REVISE.value):
    """Change content fields (the fields of `Propose`, each optional) while editable."""

    changes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    comment: str | None = _text_spec(
        "Kommentar", "Comment", default=None, example="Förtydligad efter beredningen."
    )

    def normalised(self) -> Self:
        """Content changes are checked against the strategy by the domain."""
        day = self.effective_date
        return dataclasses.replace(
            self,
            comment=text(self.comment, "comment", required=False),
            effective_date=None if day is None else parse_business_date(day, "effective_date"),
        )


class ReturnForRevision(Command, action=Action.RETURN_FOR_REVISION.value):
    """Send it back to the proposer for revision."""

    reason: str = _text_spec(**REASON, example="Underlaget behöver kompletteras med finansiering.")


class RecordPreparation(Command, action=Action.RECORD_PREPARATION.value):
    """Record the strategic group's memo and recommendation."""

    memo: str = _text_spec(
        "Beredningspromemoria",
        "Preparation memo",
        example="Beredning av 'Filmfond' i Strategiska RUS-gruppen.",
    )
    recommendation: Recommendation = spec(
        "Rekommendation",
        "Recommendation",
        widget="select",
        choices=RECOMMENDATIONS,
        example="approve",
    )


class Schedule(Command, action=Action.SCHEDULE.value):
    """Put it on the agenda of a council meeting of the annual cycle."""

    council: str = spec(
        "Råd", "Council", widget="select", choices_from="deciding_councils", example="rsr"
    )
    meeting_date: date = spec("Mötesdatum", "Meeting date", widget="date", example="2026-03-19")


class Approve(Command, action=Action.APPROVE.value):
    """Record the council's approval; the initiative moves to follow-up."""

    decision_text: str = _text_spec(
        "Beslutstext", "Decision text", example="Rådet ställer sig bakom 'Filmfond'."
    )


class Reject(Command, action=Action.REJECT.value):
    """Record the council's rejection (avslag)."""

    reason: str = _text_spec(**REASON, example="Ryms inte inom prioriteringarna.")


class Defer(Command, action=Action.DEFER.value):
    """Table the decision (bordläggning) to a later meeting of the same council."""

    reason: str = _text_spec(**REASON, example="Underlaget behöver kompletteras.")
    meeting_date: date = spec(
        "Nytt mötesdatum",
        "New meeting date",
        hint_sv="Ett senare möte i samma råd.",
        hint_en="The later meeting it is deferred to.",
        widget="date",
        example="2026-04-16",
    )


class ReferBack(Command, action=Action.REFER_BACK.value):
    """Send it back for further preparation (återremiss)."""

    reason: str = _text_spec(**REASON, example="Återremiss för förankring.")


class ReportProgress(Command, action=Action.REPORT_PROGRESS.value):
    """Report progress for one reporting period."""

    period: str = spec(
        "Rapportperiod",
        "Reporting period",
        hint_sv="T.ex. 2026-T1 (tertial 1).",
        hint_en="E.g. 2026-T1 (first tertial).",
        widget="select",
        choices_from="reporting_periods",
        max_length=TITLE_MAX,
        example="2026-T1",
    )
    status: ProgressStatus = spec(
        "Status", "Status", widget="select", choices=PROGRESS_STATUSES, example="on_track"
    )
    narrative: str = _text_spec(
        "Lägesbeskrivning", "Narrative", example="Lägesrapport för tertial 1."
    )
    indicator_values: dict[str, int | float] | None = spec(
        "Indikatorvärden",
        "Indicator values",
        widget="indicator_values",
        default=None,
        example={"Deltagande aktörer": 5},
    )
    lessons: list[str] | None = spec(
        "Lärdomar",
        "Lessons learned",
        hint_sv="En lärdom per rad.",
        hint_en="One lesson per line.",
        widget="lines",
        default=None,
        example=["Tidig förankring i kommunerna sparar tid."],
    )


class Close(Command, action=Action.CLOSE.value):
    """Close with a final report and at least one lesson learned."""

    final_report: str = _text_spec(
        "Slutrapport", "Final report", example="Slutrapport: målen är uppnådda."
    )
    lessons: list[str] = spec(
        "Lärdomar",
        "Lessons learned",
        hint_sv="Minst en lärdom, en per rad.",
        hint_en="At least one lesson, one per line.",
        widget="lines",
        min_items=1,
        example=["Gemensamma indikatorer från start gör uppföljningen enkel."],
    )


class Withdraw(Command, action=Action.WITHDRAW.value):
    """Withdraw the initiative (by its proposer)."""

    reason: str = _text_spec(**REASON, example="Genomförs inom ordinarie verksamhet.")


COMMANDS: dict[Action, type[Command]] = {
    Action(c.action): c
    for c in (
        Submit,
        Revise,
        ReturnForRevision,
        RecordPreparation,
        Schedule,
        Approve,
        Reject,
        Defer,
        ReferBack,
        ReportProgress,
        Close,
        Withdraw,
    )
}
"""The command of each lifecycle action (proposing creates an initiative: `Propose`)."""


# -- reading the definitions ---------------------------------------------------------


def fields_of(command: type[Command], *, with_date: bool = False) -> list[FieldInfo]:
    """The input fields of a command, in definition order. `Revise` has the content
    fields of `Propose` (each optional) and a comment; `effective_date` only when
    `with_date`."""
    if command is Revise:
        return [
            *(dataclasses.replace(f, required=False) for f in content_fields()),
            *_fields(Revise, ("comment",)),
            *(_fields(Command, ("effective_date",)) if with_date else ()),
        ]
    names = [f.name for f in dataclasses.fields(command) if SPEC in f.metadata]
    own = [n for n in names if n != "effective_date"]
    return _fields(command, (*own, *(("effective_date",) if with_date else ())))


def content_fields() -> list[FieldInfo]:
    """The content fields of an initiative (those of `Propose`)."""
    return [f for f in fields_of(Propose) if f.name != "effective_date"]


def _fields(command: type[Command], names: tuple[str, ...]) -> list[FieldInfo]:
    hints = typing.get_type_hints(command)
    by_name = {f.name: f for f in dataclasses.fields(command)}
    return [
        FieldInfo(
            name=name,
            type=hints[name],
            spec=by_name[name].metadata[SPEC],
            required=by_name[name].default is dataclasses.MISSING
            and by_name[name].default_factory is dataclasses.MISSING,
        )
        for name in names
    ]


def command_from_body(action: str, body: Mapping[str, Any]) -> Command:
    """The command of a lifecycle action from a request body (API, CLI): unknown and
    missing fields are refused, naming the field; dates are parsed; values are checked
    by the domain."""
    try:
        command = COMMANDS[Action(action)]
    except ValueError:
        known = ", ".join(a.value for a in Action)
        raise ValidationError("action", f"unknown action {action!r} (known: {known})") from None
    return _from_body(command, body)


def proposal_from_body(body: Mapping[str, Any]) -> Propose:
    """`Propose` from a request body, checked as `command_from_body` checks an action's."""
    proposal = _from_body(Propose, body)
    assert isinstance(proposal, Propose)
    return proposal


def _from_body(command: type[Command], body: Mapping[str, Any]) -> Command:
    fields = dict(body)
    day = fields.pop("effective_date", None)
    effective_date = None if day is None else parse_business_date(day, "effective_date")
    if command is Revise:
        comment = fields.pop("comment", None)
        known_content = {f.name for f in content_fields()}
        for name in fields:
            if name not in known_content:
                raise ValidationError(name, "unknown field for 'revise'")
        return Revise(changes=fields, comment=comment, effective_date=effective_date)
    infos = {f.name: f for f in fields_of(command)}
    for name in fields:
        if name not in infos:
            raise ValidationError(name, f"unknown field for '{command.action}'")
    values: dict[str, Any] = {}
    for name, info in infos.items():
        value = fields.get(name)
        if value is None:
            if info.required:
                raise ValidationError(name, "is required")
            continue
        values[name] = parse_business_date(value, name) if info.type is date else value
    return command(**values, effective_date=effective_date)


def _normalise(info: FieldInfo, value: Any) -> Any:
    s = info.spec
    if s.widget == "date":
        if value is None and not info.required:
            return None
        return parse_business_date(value, info.name)
    if s.widget == "lines":
        if value is None and not info.required:
            return None
        return texts(value, info.name, min_items=s.min_items)
    if s.choices and value not in s.choices:
        raise ValidationError(info.name, f"must be one of {', '.join(s.choices)}")
    if s.widget in ("text", "textarea") or (s.widget == "select" and info.type is str):
        if value is None and not info.required:
            return None
        return text(value, info.name, max_length=s.max_length, required=info.required)
    return value


def _plain(value: Any) -> Any:
    """Tuples (the immutable defaults of list fields) as the lists the content holds."""
    return list(value) if isinstance(value, tuple) else value
