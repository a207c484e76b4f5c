"""Request and response bodies (the OpenAPI schema).

The request bodies are derived from the command definitions (`ruswf.domain.commands`):
types and constraints are checked here, meaning (known goal areas, meetings in the
annual cycle, ...) by the domain, which names the offending field the same way.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from ruswf.app.views import InitiativeView
from ruswf.domain.commands import COMMANDS, Command, FieldInfo, Propose, Revise, fields_of
from ruswf.domain.content import LIST_MAX, TITLE_MAX

T = TypeVar("T")

PERSON_ID_PATTERN = r"^p_[0-9a-f]{16}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Indicator(Strict):
    name: str = Field(min_length=1, max_length=TITLE_MAX, examples=["Deltagande aktörer"])
    unit: str = Field(min_length=1, max_length=TITLE_MAX, examples=["antal"])
    baseline: int | float | None = Field(default=None, examples=[0])
    target: int | float | None = Field(default=None, examples=[20])


def body_model(command: type[Command], *, name: str | None = None) -> type[Strict]:
    """The request body of a command, derived from its definition: each field's type,
    constraints, hint and example (`Revise`: every content field optional)."""
    fields: dict[str, Any] = {
        info.name: _field(info, optional=command is Revise)
        for info in fields_of(command, with_date=True)
    }
    model: type[Strict] = create_model(  # the fields are only known at run time
        name or f"{command.__name__}Body",
        __base__=Strict,
        __doc__=command.__doc__,
        **fields,
    )
    return model


def _field(info: FieldInfo, *, optional: bool) -> tuple[Any, Any]:
    spec = info.spec
    annotation: Any = list[Indicator] if spec.widget == "indicators" else info.type
    constraints: dict[str, Any] = {}
    if spec.widget in ("text", "textarea"):
        constraints["max_length"] = spec.max_length
        if info.required and not optional:
            constraints["min_length"] = 1
    elif spec.widget in ("lines", "multiselect", "indicators"):
        constraints["max_length"] = LIST_MAX
        if spec.min_items:
            constraints["min_length"] = spec.min_items
    elif spec.widget == "person":
        constraints["pattern"] = PERSON_ID_PATTERN
    if spec.example is not None:
        constraints["examples"] = [spec.example]
    if spec.hint_en:
        constraints["description"] = spec.hint_en
    if optional:
        return annotation | None, Field(default=None, **constraints)
    if info.required:
        return annotation, Field(**constraints)
    if spec.widget in ("lines", "multiselect", "indicators") and not _is_optional(info.type):
        return annotation, Field(default_factory=list, **constraints)
    return annotation, Field(default=None, **constraints)


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


ProposeBody = body_model(Propose)
ACTION_BODIES: dict[str, type[Strict]] = {
    action.value: body_model(command) for action, command in COMMANDS.items()
}


class ActorOut(BaseModel):
    user: str = Field(examples=["demo-coordinator-region_vasternorrland"])
    organisation: str = Field(examples=["region_vasternorrland"])
    role: str = Field(examples=["coordinator"])


def out_model(view: type, overrides: dict[str, tuple[Any, Any]]) -> type[BaseModel]:
    """The response body of a view dataclass: its fields in its order with its types,
    each named in `overrides` given the type and `Field` there (examples, descriptions,
    a nested model)."""
    hints = typing.get_type_hints(view)
    fields: dict[str, Any] = {
        f.name: overrides.get(
            f.name, (hints[f.name], ... if f.default is dataclasses.MISSING else f.default)
        )
        for f in dataclasses.fields(view)
    }
    model: type[BaseModel] = create_model(  # the fields are only known at run time
        view.__name__.removesuffix("View") + "Out", **fields
    )
    return model


InitiativeOut = out_model(
    InitiativeView,
    {
        "state": (str, Field(examples=["follow_up"])),
        "state_label": (str, Field(examples=["Uppföljning"])),
        "title": (str, Field(examples=["Filmfond"])),
        "goal_area": (str, Field(examples=["grow"])),
        "lead_actor": (str, Field(examples=["region_vasternorrland"])),
        "allowed_actions": (
            list[str],
            Field(
                description="What this caller may do now.",
                examples=[["report_progress", "close"]],
            ),
        ),
        "proposed_by": (ActorOut, ...),
        "contact_person": (
            str | None,
            Field(default=None, description="The contact person's id in the people registry."),
        ),
    },
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


def error_responses(
    forbidden: str,
    *,
    unknown: str | None = None,
    conflict: str | None = None,
    invalid: str = "Invalid input (names the field).",
) -> dict[int | str, dict[str, Any]]:
    """The error responses a router's operations document, each a `Problem`: no or bad
    token (401), what the caller may not do (403), what may be unknown (404), the conflict
    (409) and the invalid input (422)."""
    descriptions = {401: "No or bad token.", 403: forbidden, 404: unknown, 409: conflict}
    return {
        status: {"model": Problem, "description": text}
        for status, text in {**descriptions, 422: invalid}.items()
        if text is not None
    }


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
