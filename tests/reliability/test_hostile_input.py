"""Hostile input: generated bodies for every action, huge and deeply nested JSON, invalid
UTF-8, control and right-to-left characters, SQL- and HTML-looking text, hostile ids and
dates. Never a 5xx; a rejected request never stores an event; text is stored as text.
(Schemathesis over the whole schema is tests/api/test_schemathesis.py.)"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruswf.domain.commands import ActorRef, Approve, Propose, RecordPreparation, Schedule, Submit
from ruswf.domain.lifecycle import Action

from .conftest import CONTENT, USERS, Api

EXAMPLES = 40
ACTION_EXAMPLES = 120
FIRST_MEETING = "2026-01-15"
LATER_MEETING = "2026-02-19"

ROLE_OF = {
    "submit": "coordinator",
    "revise": "coordinator",
    "withdraw": "coordinator",
    "report_progress": "coordinator",
    "close": "coordinator",
    "return_for_revision": "preparer",
    "record_preparation": "preparer",
    "schedule": "preparer",
    "approve": "secretary",
    "reject": "secretary",
    "defer": "secretary",
    "refer_back": "secretary",
}
FIELDS = {
    "submit": ["comment"],
    "revise": ["title", "summary", "goal_area", "lead_actor", "arena", "indicators", "comment"],
    "return_for_revision": ["reason"],
    "record_preparation": ["memo", "recommendation"],
    "schedule": ["council", "meeting_date"],
    "approve": ["decision_text"],
    "reject": ["reason"],
    "defer": ["reason", "meeting_date"],
    "refer_back": ["reason"],
    "report_progress": ["period", "status", "narrative", "indicator_values", "lessons"],
    "close": ["final_report", "lessons"],
    "withdraw": ["reason"],
}
HOSTILE_TEXTS = [
    "a\x01b\x07c\x1b[31md\x7fe",  # control characters (inside: the ends are trimmed)
    "x\u202eevil.exe\u202cy",  # right-to-left override
    "שלום \u200fעולם\u200e · مرحبا بالعالم",  # right-to-left scripts and marks
    "'; DROP TABLE stored_events; DROP TABLE ruswf_events; --",
    "Robert'); DELETE FROM proj_board WHERE ('1'='1",
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "{{7*7}} ${7*7} %s %d \\x00 \\u0000",
    "e\u0301\u0301\u0301 Z\u0351\u0352\u0353 🏳️‍🌈 \U0001f600",
]

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(HOSTILE_TEXTS)
    | st.sampled_from(["2026-01-15", "2026-T1", "rsr", "approve", "on_track", "0000-00-00"])
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def bodies(action: str) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from([*FIELDS[action], "effective_date"]) | st.text(max_size=12)
    return st.dictionaries(keys, json_values, max_size=6)


def actor(who: str) -> ActorRef:
    user, role, organisation = USERS[who]
    return ActorRef(user, organisation, role)


def ready_for(api: Api, action: str) -> str:
    """A fresh initiative in a state where `action` is allowed."""
    app = api.app
    coordinator, preparer, secretary = actor("coordinator"), actor("preparer"), actor("secretary")
    iid = app.propose(Propose(**CONTENT), coordinator).id
    if action in ("submit", "revise", "withdraw"):
        return iid
    app.execute(iid, Submit(), coordinator)
    if action in ("return_for_revision", "record_preparation"):
        return iid
    app.execute(iid, RecordPreparation(memo="PM", recommendation="approve"), preparer)
    if action == "schedule":
        return iid
    app.execute(iid, Schedule(council="rsr", meeting_date=FIRST_MEETING), preparer)
    if action in ("approve", "reject", "defer", "refer_back"):
        return iid
    app.execute(iid, Approve(decision_text="Godkänd."), secretary)
    return iid


def post_raw(api: Api, path: str, who: str, content: bytes, **headers: str) -> Any:
    return api.client.post(
        path,
        content=content,
        headers=api.headers(who, **{"Content-Type": "application/json", **headers}),
    )


def assert_rejected_or_stored(api: Api, response: Any, head: int) -> None:
    """Never a 5xx; a 4xx leaves the log as it was."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert api.head() == head, f"a rejected request stored something: {response.text}"


def test_generated_action_bodies_never_5xx_and_rejected_ones_store_nothing(api: Api) -> None:
    """Generated bodies for every action, each on an initiative where the action is
    allowed (so the body, not the state, decides)."""
    ready = {action.value: ready_for(api, action.value) for action in Action}

    @settings(
        max_examples=ACTION_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.sampled_from([a.value for a in Action]).flatmap(
            lambda action: st.tuples(st.just(action), bodies(action))
        )
    )
    def check(case: tuple[str, dict[str, Any]]) -> None:
        action, body = case
        head = api.head()
        response = post_raw(
            api,
            f"/api/v1/initiatives/{ready[action]}/actions/{action}",
            ROLE_OF[action],
            json.dumps(body).encode(),  # NaN, Infinity and lone surrogates included
        )
        assert_rejected_or_stored(api, response, head)
        if response.status_code == 200:
            ready[action] = ready_for(api, action)

    check()


def test_generated_proposals_never_5xx_and_rejected_ones_store_nothing(api: Api) -> None:
    keys = st.sampled_from([*CONTENT, "priorities", "partner_actors", "principles", "arena"])

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(overrides=st.dictionaries(keys | st.text(max_size=10), json_values, max_size=5))
    def check(overrides: dict[str, Any]) -> None:
        head = api.head()
        body = json.dumps({**CONTENT, **overrides}).encode()
        response = post_raw(api, "/api/v1/initiatives", "coordinator", body)
        assert_rejected_or_stored(api, response, head)

    check()


def walk(api: Api, text: str) -> None:
    """Set every text field of the lifecycle to `text`, action by action, and find each
    one unchanged in the history."""
    client = api.client
    indicators = [{"name": text, "unit": text, "baseline": 0, "target": 1}]
    proposed = client.post(
        "/api/v1/initiatives",
        json={**CONTENT, "title": text[:200], "summary": text, "indicators": indicators},
        headers=api.headers("coordinator"),
    )
    assert proposed.status_code == 201, proposed.text
    iid = proposed.json()["id"]
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("coordinator", "submit", {"comment": text}),
        ("preparer", "return_for_revision", {"reason": text}),
        ("coordinator", "revise", {"summary": f"{text} (rev)", "comment": text}),
        ("coordinator", "submit", {}),
        ("preparer", "record_preparation", {"memo": text, "recommendation": "other"}),
        ("preparer", "schedule", {"council": "rsr", "meeting_date": FIRST_MEETING}),
        ("secretary", "defer", {"reason": text, "meeting_date": LATER_MEETING}),
        ("secretary", "refer_back", {"reason": text}),
        ("preparer", "schedule", {"council": "rsr", "meeting_date": FIRST_MEETING}),
        ("secretary", "approve", {"decision_text": text}),
        (
            "coordinator",
            "report_progress",
            {"period": "2026-T1", "status": "at_risk", "narrative": text, "lessons": [text]},
        ),
        ("coordinator", "close", {"final_report": text, "lessons": [text]}),
    ]
    for who, action, body in steps:
        response = client.post(
            f"/api/v1/initiatives/{iid}/actions/{action}", json=body, headers=api.headers(who)
        )
        assert response.status_code == 200, (action, response.text)
    history = client.get(f"/api/v1/initiatives/{iid}/history", headers=api.headers("secretary"))
    assert history.status_code == 200
    data = [(e["type"], e["data"]) for e in history.json()["items"]]
    found = json.dumps(data, ensure_ascii=False)
    texts = [
        value
        for _, payload in data
        for value in _strings(payload)
        if value == text or value == text[:200]
    ]
    # Every text field given (title, summary, 2 indicator texts, comment x2, reasons x3,
    # memo, decision, narrative, lessons x2, final report) comes back unchanged.
    assert len(texts) >= 15, found
    current = client.get(f"/api/v1/initiatives/{iid}", headers=api.headers("secretary")).json()
    assert current["title"] == text[:200]
    assert current["summary"] == f"{text} (rev)"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


def test_hostile_text_in_every_field_is_stored_as_text_and_returned_intact(api: Api) -> None:
    """Control characters, right-to-left text, SQL- and HTML-looking values in every text
    field: accepted as text, returned byte for byte (JSON, never rendered), and the read
    models (plain SQL tables) hold them too."""
    for text in HOSTILE_TEXTS:
        walk(api, text)
    listed = api.client.get("/api/v1/initiatives?limit=100", headers=api.headers("reporter"))
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json"
    assert sorted(item["title"] for item in listed.json()["items"]) == sorted(
        text[:200] for text in HOSTILE_TEXTS
    )
    lessons = api.client.get("/api/v1/reports/lessons?limit=100", headers=api.headers("reporter"))
    assert lessons.status_code == 200
    assert {item["lesson"] for item in lessons.json()["items"]} == set(HOSTILE_TEXTS)


def test_huge_and_deeply_nested_json_is_refused_without_5xx(api: Api) -> None:
    limit = api.app.settings.max_body_bytes
    path = "/api/v1/initiatives"
    head = api.head()
    huge = json.dumps({**CONTENT, "summary": "x" * (limit + 1)}).encode()
    assert post_raw(api, path, "coordinator", huge).status_code == 413

    def chunks() -> Any:  # no Content-Length: the limit is enforced while reading
        yield b'{"summary": "'
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536
        yield b'"}'

    streamed = api.client.post(
        path, content=chunks(), headers=api.headers("coordinator", **{"Content-Type": "x"})
    )
    assert streamed.status_code == 413
    for nested in (
        b"[" * 200_000 + b"]" * 200_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        json.dumps({**CONTENT, "indicators": [{"name": [[[[[[[["x"]]]]]]]]}]}).encode(),
        b'{"comment": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        json.dumps({f"k{n}": n for n in range(40_000)}).encode(),
        b'{"title": ' + b"9" * 5000 + b"}",  # beyond Python's int parsing limit
    ):
        assert len(nested) <= limit
        response = post_raw(api, path, "coordinator", nested)
        assert 400 <= response.status_code < 500, response.text
    assert api.head() == head


def test_invalid_utf8_and_hostile_headers_are_refused_without_5xx(api: Api) -> None:
    iid = ready_for(api, "submit")
    head = api.head()
    action = f"/api/v1/initiatives/{iid}/actions/submit"
    for body in (b'{"comment": "\xff\xfe\xfd"}', b"\xc3\x28", b'{"comment": "\xed\xa0\x80"}'):
        response = post_raw(api, action, "coordinator", body)
        assert 400 <= response.status_code < 500, response.text
    lone_surrogate = b'{"comment": "\\ud800"}'
    assert post_raw(api, action, "coordinator", lone_surrogate).status_code == 422
    headers: list[dict[str, Any]] = [
        {"Idempotency-Key": b"\xff\xfe"},
        {"Idempotency-Key": "k" * 201},
        {"Idempotency-Key": " "},
        {"If-Match": b'"\xff"'},
        {"If-Match": '"99999999999999999999999"'},
        {"If-Match": '"-1"'},
        {"Content-Type": "text/plain"},
        {"Authorization": b"Bearer \xff\xfe"},
        {"Authorization": "Bearer " + "ruswf_" + "0" * 12 + "_" + "A" * 100_000},
        {"X-Request-ID": "\r\nSet-Cookie: x=y"},
    ]
    for extra in headers:
        base = api.headers("coordinator")
        response = api.client.post(action, content=b'{"comment": "x"}', headers={**base, **extra})
        assert response.status_code < 500, (extra, response.text)
        if response.status_code >= 400:
            assert api.head() == head, extra
        head = api.head()


HOSTILE_IDS = (
    [
        "../../../etc/passwd",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "' OR '1'='1",
        "%00",
        "%ff%fe",
        "x" * 100,
        "x" * 5000,
        "{{7*7}}",
        "12345678-1234-1234-1234-1234567890123",
    ],
)


def test_hostile_ids_are_404_or_422_and_store_nothing(api: Api) -> None:
    head = api.head()
    for initiative in HOSTILE_IDS:
        for method, path, who in (
            ("GET", f"/api/v1/initiatives/{initiative}", "auditor"),
            ("GET", f"/api/v1/initiatives/{initiative}/history", "auditor"),
            ("POST", f"/api/v1/initiatives/{initiative}/actions/submit", "coordinator"),
            ("POST", f"/api/v1/initiatives/{initiative}/actions/approve", "secretary"),
        ):
            body = {"decision_text": "x"} if path.endswith("approve") else {}
            response = api.client.request(method, path, json=body, headers=api.headers(who))
            assert response.status_code in (404, 405, 422), (method, path, response.text)
    assert api.head() == head


HOSTILE_QUERIES = [
    "as_of=0001-01-01T00:00:00",
    "as_of=9999-12-31T23:59:59.999999Z",
    "as_of=2026-13-45T99:99:99",
    "as_of=-infinity",
    "as_of=1e309",
    "version=0",
    "version=-1",
    "version=99999999999999999999",
]
HOSTILE_DATES: list[object] = [
    "0001-01-01",
    "9999-12-31",
    "+10000-01-01",
    "2026-02-30",
    20260115,
    "2026-01-15T25:00:00",
    "",
]


def test_dates_and_versions_out_of_range_are_refused_without_5xx(api: Api) -> None:
    iid = ready_for(api, "submit")
    scheduled = ready_for(api, "schedule")
    head = api.head()
    for query in HOSTILE_QUERIES:
        response = api.client.get(
            f"/api/v1/initiatives/{iid}?{query}", headers=api.headers("auditor")
        )
        assert response.status_code in (200, 404, 422), (query, response.text)
    for day in HOSTILE_DATES:
        response = api.client.post(
            f"/api/v1/initiatives/{iid}/actions/submit",
            json={"effective_date": day},
            headers=api.headers("coordinator"),
        )
        assert response.status_code == 422, (day, response.text)
        response = api.client.post(
            f"/api/v1/initiatives/{scheduled}/actions/schedule",
            json={"council": "rsr", "meeting_date": day},
            headers=api.headers("preparer"),
        )
        assert response.status_code == 422, (day, response.text)
    for meeting in ("2026-01-16", "1e9"):  # not a meeting of the cycle; not a date
        response = api.client.post(
            f"/api/v1/initiatives/{scheduled}/actions/schedule",
            json={"council": "rsr", "meeting_date": meeting},
            headers=api.headers("preparer"),
        )
        assert response.status_code == 422, response.text
    assert api.head() == head
