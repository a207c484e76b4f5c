"""Request and response bodies (the OpenAPI schema), with examples from the demo data.

Types are checked here; meaning (known goal areas, meetings in the annual cycle, ...) is
checked by the domain, which names the offending field the same way.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Text = Field(min_length=1, max_length=20_000)
PERSON_ID_PATTERN = r"^p_[0-9a-f]{16}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Indicator(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Deltagande aktörer"])
    unit: str = Field(min_length=1, max_length=200, examples=["antal"])
    baseline: int | float | None = Field(default=None, examples=[0])
    target: int | float | None = Field(default=None, examples=[20])


class ContentFields(Strict):
    title: str = Field(min_length=1, max_length=200, examples=["Filmfond"])
    summary: str = Field(
        min_length=1,
        max_length=20_000,
        examples=["En regional filmfond för att locka produktioner till länet."],
    )
    goal_area: str = Field(examples=["grow"])
    lead_actor: str = Field(examples=["region_vasternorrland"])
    priorities: list[str] = Field(
        default_factory=list, max_length=100, examples=[["smart_specialisation"]]
    )
    partner_actors: list[str] = Field(default_factory=list, max_length=100, examples=[["kramfors"]])
    principles: list[str] = Field(
        default_factory=list, max_length=100, examples=[["try_and_learn"]]
    )
    arena: int | None = Field(default=None, examples=[3])
    indicators: list[Indicator] = Field(default_factory=list, max_length=100)
    contact_person: str | None = Field(
        default=None,
        pattern=PERSON_ID_PATTERN,
        description="A person id from the people registry (`POST /api/v1/people`), never a "
        "name or e-mail address.",
        examples=["p_3f9a1c0e5b7d2a64"],
    )


class ProposeBody(ContentFields):
    effective_date: date | None = Field(default=None, description="Business date (default: today).")


class ActionBody(Strict):
    effective_date: date | None = Field(
        default=None,
        description="Business date of the action (default: today). "
        "Decisions are dated at their meeting.",
    )


class SubmitBody(ActionBody):
    comment: str | None = Field(
        default=None, max_length=20_000, examples=["För beredning i Strategiska RUS-gruppen."]
    )


class ReviseBody(ActionBody):
    comment: str | None = Field(
        default=None, max_length=20_000, examples=["Förtydligad efter beredningen."]
    )
    title: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(
        default=None, max_length=20_000, examples=["Reviderad med tydligare mål och indikatorer."]
    )
    goal_area: str | None = None
    lead_actor: str | None = None
    priorities: list[str] | None = Field(default=None, max_length=100)
    partner_actors: list[str] | None = Field(default=None, max_length=100)
    principles: list[str] | None = Field(default=None, max_length=100)
    arena: int | None = None
    indicators: list[Indicator] | None = Field(default=None, max_length=100)
    contact_person: str | None = Field(default=None, pattern=PERSON_ID_PATTERN)


class ReasonBody(ActionBody):
    reason: str = Field(
        min_length=1,
        max_length=20_000,
        examples=["Underlaget behöver kompletteras med finansiering."],
    )


class RecordPreparationBody(ActionBody):
    memo: str = Field(
        min_length=1,
        max_length=20_000,
        examples=["Beredning av 'Filmfond' i Strategiska RUS-gruppen."],
    )
    recommendation: Literal["approve", "reject", "other"]


class ScheduleBody(ActionBody):
    council: str = Field(examples=["rsr"])
    meeting_date: date = Field(examples=["2026-03-19"])


class ApproveBody(ActionBody):
    decision_text: str = Field(
        min_length=1, max_length=20_000, examples=["Rådet ställer sig bakom 'Filmfond'."]
    )


class DeferBody(ReasonBody):
    meeting_date: date = Field(
        examples=["2026-04-16"], description="The later meeting it is deferred to."
    )


class ReportProgressBody(ActionBody):
    period: str = Field(examples=["2026-T1"])
    status: Literal["on_track", "at_risk", "off_track"]
    narrative: str = Field(
        min_length=1, max_length=20_000, examples=["Lägesrapport för tertial 1."]
    )
    indicator_values: dict[str, int | float] | None = Field(
        default=None, examples=[{"Deltagande aktörer": 5}]
    )
    lessons: list[str] | None = Field(
        default=None, max_length=100, examples=[["Tidig förankring i kommunerna sparar tid."]]
    )


class CloseBody(ActionBody):
    final_report: str = Field(
        min_length=1, max_length=20_000, examples=["Slutrapport: målen är uppnådda."]
    )
    lessons: list[str] = Field(
        min_length=1,
        max_length=100,
        examples=[["Gemensamma indikatorer från start gör uppföljningen enkel."]],
    )


ACTION_BODIES: dict[str, type[ActionBody]] = {
    "submit": SubmitBody,
    "revise": ReviseBody,
    "return_for_revision": ReasonBody,
    "record_preparation": RecordPreparationBody,
    "schedule": ScheduleBody,
    "approve": ApproveBody,
    "reject": ReasonBody,
    "defer": DeferBody,
    "refer_back": ReasonBody,
    "report_progress": ReportProgressBody,
    "close": CloseBody,
    "withdraw": ReasonBody,
}


class ActorOut(BaseModel):
    user: str = Field(examples=["demo-coordinator-region_vasternorrland"])
    organisation: str = Field(examples=["region_vasternorrland"])
    role: str = Field(examples=["coordinator"])


class InitiativeOut(BaseModel):
    id: str
    version: int
    state: str = Field(examples=["follow_up"])
    state_label: str = Field(examples=["Uppföljning"])
    title: str = Field(examples=["Filmfond"])
    summary: str
    goal_area: str = Field(examples=["grow"])
    lead_actor: str = Field(examples=["region_vasternorrland"])
    priorities: list[str]
    partner_actors: list[str]
    principles: list[str]
    arena: int | None
    indicators: list[dict[str, Any]]
    allowed_actions: list[str] = Field(
        description="What this caller may do now.", examples=[["report_progress", "close"]]
    )
    proposed_by: ActorOut
    proposed_on: str
    created_at: str
    updated_at: str
    agenda: dict[str, str] | None
    preparation: dict[str, str] | None
    approval_period: str | None
    reported_periods: list[str]
    lessons: list[str]
    final_report: str | None
    contact_person: str | None = Field(
        default=None, description="The contact person's id in the people registry."
    )


class EventOut(BaseModel):
    version: int
    type: str = Field(examples=["Approved"])
    recorded_at: str
    effective_date: str
    actor: ActorOut
    data: dict[str, Any]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, str]] | None = Field(
        default=None, description="422: each offending field and why."
    )
    state: str | None = Field(default=None, description="409: the initiative's current state.")
    allowed_actions: list[str] | None = Field(
        default=None, description="409: the actions the state allows."
    )


class VerifyOut(BaseModel):
    ok: bool = Field(description="Every stored event is intact.")
    checked: int = Field(description="Events checked (decoded, in version order).")
    first_bad: dict[str, Any] | None = Field(
        description="The first event that is not intact: `position`, `originator_id`, "
        "`version`, `problem` (altered, removed, reordered, inserted, ledger_altered, "
        "undecodable, version_gap, snapshot) and `reason`."
    )
    sealed: int = Field(default=0, description="Events compared with the ledger's hashes.")
    pending: int = Field(
        default=0, description="Events not sealed yet: checked for decoding and order only."
    )
    snapshots_checked: int = Field(default=0, description="Snapshots replayed and compared.")
    ledger: dict[str, Any] = Field(
        default_factory=dict, description="The ledger's head: position, count, ledger_hash."
    )
