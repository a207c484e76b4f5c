"""Forms from the command definitions: what they show, and the one conversion of form
data into an API body (no store needed)."""

from __future__ import annotations

import pytest

from ruswf.api.ui.actions import form_fields
from ruswf.api.ui.forms import body_from_form, build_form
from ruswf.api.ui.i18n import format_date, format_time
from ruswf.domain.commands import COMMANDS, fields_of
from ruswf.domain.errors import ValidationError
from ruswf.domain.strategy import Strategy


def test_every_action_has_a_form_named_like_its_api_body(strategy: Strategy) -> None:
    for action, command in COMMANDS.items():
        form = build_form(
            action=action.value,
            url=f"/initiatives/x/actions/{action.value}",
            title=action.value,
            infos=form_fields(action.value),
            strategy=strategy,
            lang="sv",
            today_year=2026,
        )
        assert [f.name for f in form.fields] == [f.name for f in fields_of(command)]
        assert all(f.label for f in form.fields)


def test_lines_become_a_list_of_the_non_empty_lines() -> None:
    body = body_from_form(
        form_fields("close"),
        {"final_report": ["Klart."], "lessons": ["Förankra tidigt.\r\n\r\n  Mät från start. \n"]},
    )
    assert body == {"final_report": "Klart.", "lessons": ["Förankra tidigt.", "Mät från start."]}


def test_multiselect_becomes_a_list_and_empty_optional_fields_are_left_out() -> None:
    body = body_from_form(
        form_fields("propose"),
        {
            "title": ["Filmfond"],
            "summary": ["En fond."],
            "goal_area": ["grow"],
            "lead_actor": ["sundsvall"],
            "priorities": ["smart_specialisation", "flexible_learning"],
            "partner_actors": [],
            "arena": ["3"],
            "contact_person": [""],
        },
    )
    assert body == {
        "title": "Filmfond",
        "summary": "En fond.",
        "goal_area": "grow",
        "lead_actor": "sundsvall",
        "priorities": ["smart_specialisation", "flexible_learning"],
        "arena": 3,
    }


def test_indicators_are_read_one_per_line_with_swedish_decimal_commas() -> None:
    body = body_from_form(
        [f for f in form_fields("propose") if f.name == "indicators"],
        {"indicators": ["Nya jobb; antal; 0; 12\nAndel; procent; 1,5;"]},
    )
    assert body["indicators"] == [
        {"name": "Nya jobb", "unit": "antal", "baseline": 0, "target": 12},
        {"name": "Andel", "unit": "procent", "baseline": 1.5, "target": None},
    ]


def test_indicator_values_become_a_mapping_of_numbers() -> None:
    body = body_from_form(
        form_fields("report_progress"),
        {
            "period": ["2026-T1"],
            "status": ["on_track"],
            "narrative": ["Enligt plan."],
            "indicator_values.Nya jobb": ["7"],
            "indicator_values.Andel": [""],
        },
    )
    assert body["indicator_values"] == {"Nya jobb": 7}


def test_a_number_that_is_not_one_names_its_field() -> None:
    with pytest.raises(ValidationError) as raised:
        body_from_form(form_fields("report_progress"), {"indicator_values.Nya jobb": ["sju"]})
    assert raised.value.field == "indicator_values.Nya jobb"


def test_an_error_is_shown_at_its_field_and_in_the_summary(strategy: Strategy) -> None:
    form = build_form(
        action="reject",
        url="/initiatives/x/actions/reject",
        title="Avslå",
        infos=form_fields("reject"),
        strategy=strategy,
        lang="sv",
        today_year=2026,
        error=ValidationError("reason", "is required"),
    )
    (reason,) = form.fields
    assert reason.error == "Fyll i motivering"
    assert form.errors == [reason]


def test_dates_and_times_are_in_swedish_format_and_stockholm_time() -> None:
    assert format_date("2026-12-01") == "1 december 2026"
    assert format_time("2026-12-01T18:16:00+00:00") == "1 december 2026 19:16"
    assert format_time("2026-07-01T10:00:00+00:00") == "1 juli 2026 12:00"
    assert format_date("2026-12-01", "en") == "December 1, 2026"
