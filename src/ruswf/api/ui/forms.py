"""Forms from the command definitions (`ruswf.domain.commands`): what a form shows for
each field (label, hint, widget, choices, value, error), and the one conversion of
submitted form data into an API body dict. Input names are the API's body field names."""

from __future__ import annotations

import secrets
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruswf.api.ui.i18n import t
from ruswf.app.labels import CATALOGUE, CHOICE_LABELS, pairs
from ruswf.domain.commands import FieldInfo
from ruswf.domain.errors import ValidationError
from ruswf.domain.strategy import Strategy

CONTROL_FIELDS = frozenset({"csrf_token", "expected_version", "idempotency_key"})
"""Hidden inputs every form carries that are not part of the command."""

INDICATOR_FORMAT = pairs(CATALOGUE["forms"])["indicator_format"]
"""How a form asks for indicators, after the field's own hint: (Swedish, English)."""

REASONS_SV: dict[str, str] = {
    "is required": "Fyll i {label}",
    "must not be empty": "Fyll i {label}",
    "must be a number": "{label} måste vara ett tal",
}


@dataclass
class FormField:
    """One field as a form macro renders it."""

    name: str
    id: str
    label: str
    hint: str
    widget: str
    required: bool
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    max_length: int | None = None
    subfields: list[tuple[str, str, Any]] = field(default_factory=list)
    """For `indicator_values`: (input name, label, value) per indicator."""


@dataclass
class Form:
    """A whole form: where it posts, its fields and its errors (for the summary)."""

    action: str
    url: str
    title: str
    fields: list[FormField]
    errors: list[FormField] = field(default_factory=list)
    general_errors: list[str] = field(default_factory=list)
    expected_version: int | None = None
    open: bool = False
    key: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    """The form's idempotency key: a second submit of the same form records nothing new."""


def strategy_choices(strategy: Strategy, source: str, today_year: int) -> list[tuple[str, str]]:
    """The allowed values of a strategy list (`Spec.choices_from`) as (value, label)."""
    if source == "goal_areas":
        return [(g.id, g.name) for g in strategy.goal_areas]
    if source == "actors":
        return [(a.id, a.name) for a in strategy.actors]
    if source == "priorities":
        return [(p.id, p.name) for p in strategy.priorities]
    if source == "principles":
        return [(p.id, p.name) for p in strategy.principles]
    if source == "arenas":
        return [(str(a.id), f"{a.id}. {a.name}") for a in strategy.arenas]
    if source == "deciding_councils":
        return [(c.id, c.name) for c in strategy.deciding_councils]
    if source == "reporting_periods":
        years = (today_year - 1, today_year, today_year + 1)
        return [(p.id, f"{p.id} ({p.name})") for y in years for p in strategy.reporting_periods(y)]
    msg = f"unknown choices_from {source!r}"
    raise ValueError(msg)


def build_form(
    *,
    action: str,
    url: str,
    title: str,
    infos: Sequence[FieldInfo],
    strategy: Strategy,
    lang: str,
    today_year: int,
    values: Mapping[str, Any] | None = None,
    error: ValidationError | None = None,
    indicators: Sequence[str] = (),
    expected_version: int | None = None,
) -> Form:
    """The form of one command: every field with its label, hint, widget and value; the
    error (if any) placed at its field and in the summary."""
    values = values or {}
    fields: list[FormField] = []
    for info in infos:
        s = info.spec
        choices: list[tuple[str, str]] = []
        if s.choices_from:
            choices = strategy_choices(strategy, s.choices_from, today_year)
        elif s.choices:
            labels = CHOICE_LABELS.get(info.name, {})
            choices = [
                (c, labels[c][1 if lang == "en" else 0] if c in labels else c) for c in s.choices
            ]
        hint = s.hint(lang)
        if s.widget == "indicators":  # how the form writes the list
            hint = f"{hint} {INDICATOR_FORMAT[1 if lang == 'en' else 0]}".strip()
        item = FormField(
            name=info.name,
            id=f"{action}-{info.name}",
            label=s.label(lang),
            hint=hint,
            widget=s.widget,
            required=info.required,
            choices=choices,
            value=_display(s.widget, values.get(info.name)),
            max_length=s.max_length if s.widget in ("text", "textarea") else None,
        )
        if s.widget == "indicator_values":
            given = values.get(info.name) or {}
            item.subfields = [
                (
                    f"{info.name}.{name}",
                    name,
                    given.get(name, "") if isinstance(given, dict) else "",
                )
                for name in indicators
            ]
        fields.append(item)
    form = Form(action, url, title, fields, expected_version=expected_version)
    if error is not None:
        form.open = True
        base = error.field.split("[", 1)[0].split(".", 1)[0]
        target = next((f for f in fields if f.name == base), None)
        if target is None:
            form.general_errors.append(f"{error.field}: {error.reason}")
        else:
            target.error = error_text(target.label, error.reason, lang)
            form.errors.append(target)
    return form


def error_text(label_text: str, reason: str, lang: str) -> str:
    """The message shown at the field and in the summary (the same words in both)."""
    if lang == "sv" and reason in REASONS_SV:
        return REASONS_SV[reason].format(label=label_text.lower())
    return f"{label_text}: {reason}"


def _display(widget: str, value: Any) -> Any:
    """A value as its input shows it."""
    if value is None:
        return [] if widget == "multiselect" else ""
    if widget == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if widget == "indicators" and isinstance(value, list):
        return "\n".join(
            "; ".join("" if i.get(k) is None else str(i.get(k)) for k in _INDICATOR_KEYS)
            for i in value
            if isinstance(i, Mapping)
        )
    if widget == "multiselect":
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    return str(value)


_INDICATOR_KEYS = ("name", "unit", "baseline", "target")


def body_from_form(infos: Sequence[FieldInfo], form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """An API body dict from submitted form data (`form[name]` is the list of values sent
    under that name): `lines` → the non-empty lines; `multiselect` → a list;
    `indicators` → one `name; unit; baseline; target` per line; `indicator_values` →
    {name: number} from the inputs `indicator_values.<name>`; empty optional fields
    are left out. Unparsable numbers raise `ValidationError` naming the field."""
    body: dict[str, Any] = {}
    for info in infos:
        widget = info.spec.widget
        sent = [v for v in form.get(info.name, ()) if isinstance(v, str)]
        first = sent[0].strip() if sent else ""
        if widget == "multiselect":
            chosen = [v for v in sent if v.strip()]
            if chosen:
                body[info.name] = chosen
        elif widget == "lines":
            lines = [line.strip() for line in first.splitlines() if line.strip()]
            if lines:
                body[info.name] = lines
        elif widget == "indicators":
            rows = [line for line in first.splitlines() if line.strip()]
            if rows:
                body[info.name] = [_indicator(line, n) for n, line in enumerate(rows)]
        elif widget == "indicator_values":
            prefix = f"{info.name}."
            found = {
                name[len(prefix) :]: _number(values[0], name)
                for name, values in form.items()
                if name.startswith(prefix) and values and str(values[0]).strip()
            }
            if found:
                body[info.name] = found
        elif widget == "number":
            if first:
                body[info.name] = _number(first, info.name)
        elif first:
            body[info.name] = int(first) if _is_int(info.type) and first.isdigit() else first
    return body


def _indicator(line: str, index: int) -> dict[str, Any]:
    parts = [p.strip() for p in line.split(";")]
    parts += [""] * (4 - len(parts))
    if len(parts) > 4:
        raise ValidationError("indicators", f"line {index + 1}: name; unit; baseline; target")
    name, unit, baseline, target = parts
    return {
        "name": name,
        "unit": unit,
        "baseline": _number(baseline, f"indicators[{index}].baseline") if baseline else None,
        "target": _number(target, f"indicators[{index}].target") if target else None,
    }


def _number(text: str, field_name: str) -> int | float:
    cleaned = str(text).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        number = float(cleaned)
    except ValueError:
        raise ValidationError(field_name, "must be a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValidationError(field_name, "must be a number")
    return number


def _is_int(annotation: Any) -> bool:
    return annotation is int or int in typing.get_args(annotation)


def optional_note(lang: str) -> str:
    return t("optional", lang)
