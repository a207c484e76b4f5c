"""The authorisation attack surface: token guessing is rate limited per client, tokens
never reach the logs, a token check's time does not depend on how much of it matched,
and a coordinator cannot act on another organisation's initiative by any endpoint."""

from __future__ import annotations

import ast
import hmac
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

import ruswf.app.store.tokens as tokens_module
from ruswf.api.main import create_app
from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.lifecycle import Action
from ruswf.domain.strategy import Strategy

from .conftest import CONTENT, Api, Server, make_tokens
from .test_hostile_input import ROLE_OF, ready_for

LIMIT = 5
VALID_BODIES: dict[str, dict[str, Any]] = {
    "submit": {"comment": "x"},
    "revise": {"summary": "Kapad."},
    "return_for_revision": {"reason": "x"},
    "record_preparation": {"memo": "x", "recommendation": "approve"},
    "schedule": {"council": "rsr", "meeting_date": "2026-01-15"},
    "approve": {"decision_text": "x"},
    "reject": {"reason": "x"},
    "defer": {"reason": "x", "meeting_date": "2026-02-19"},
    "refer_back": {"reason": "x"},
    "report_progress": {"period": "2026-T1", "status": "on_track", "narrative": "x"},
    "close": {"final_report": "x", "lessons": ["x"]},
    "withdraw": {"reason": "x"},
}


def forged(token: str) -> str:
    """The token with its secret's last character changed (all but one character right)."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def test_token_guessing_is_rate_limited_per_client(database_url: str, strategy: Strategy) -> None:
    """After LIMIT failed authentications a minute, a client gets 429 with Retry-After for
    every API request — a right token too — while other clients are unaffected."""
    settings = Settings(
        database_url=database_url, log_format="json", auth_failures_per_minute=LIMIT
    )
    tokens = make_tokens(database_url, strategy)
    api = create_app(settings)
    good = {"Authorization": f"Bearer {tokens['coordinator']}"}
    bad = {"Authorization": f"Bearer {forged(tokens['coordinator'])}"}
    with TestClient(api, client=("203.0.113.7", 4000)) as attacker:
        bystander = TestClient(api, client=("198.51.100.9", 4000))  # same app, another address
        for _ in range(LIMIT):
            assert attacker.get("/api/v1/strategy", headers=bad).status_code == 401
        blocked = attacker.get("/api/v1/strategy", headers=bad)
        assert blocked.status_code == 429
        assert blocked.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(blocked.headers["retry-after"]) <= 60
        assert blocked.json()["request_id"] == blocked.headers["x-request-id"]
        assert attacker.get("/api/v1/strategy", headers=good).status_code == 429
        assert attacker.post("/api/v1/initiatives", json=CONTENT, headers=good).status_code == 429
        assert attacker.get("/healthz").status_code == 200
        assert bystander.get("/api/v1/strategy", headers=good).status_code == 200
        assert bystander.get("/api/v1/strategy", headers=bad).status_code == 401


def test_tokens_never_appear_in_logs(
    database_url: str, strategy: Strategy, start_server: Callable[..., Server]
) -> None:
    """Requests with right, wrong, malformed and misplaced tokens, through a real server
    and in process: no token (nor its secret) in any log line or error body."""
    tokens = make_tokens(database_url, strategy)
    secrets = [t for t in tokens.values()] + [t.split("_", 2)[2] for t in tokens.values()]
    attempts = [
        {"Authorization": f"Bearer {tokens['coordinator']}"},
        {"Authorization": f"Bearer {forged(tokens['secretary'])}"},
        {"Authorization": f"Token {tokens['preparer']}"},
        {"Authorization": f"bearer   {tokens['auditor']}"},
        {"Authorization": tokens["reporter"]},
    ]
    server = start_server(database_url)
    bodies = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for headers in attempts:
            bodies.append(http.get("/api/v1/strategy", headers=headers).text)
            bodies.append(http.post("/api/v1/initiatives", json=CONTENT, headers=headers).text)
            bodies.append(http.get("/api/v1/initiatives/nope", headers=headers).text)
    server.stop()
    settings = Settings(database_url=database_url, log_format="json")
    with capture_logs() as captured, TestClient(create_app(settings)) as client:
        for headers in attempts:
            bodies.append(client.post("/api/v1/initiatives", json=CONTENT, headers=headers).text)
    logged = server.log_text() + repr(captured)
    assert '"request"' in server.log_text()  # something was logged
    assert captured
    for secret in secrets:
        assert secret not in logged
        assert all(secret not in body for body in bodies)


def test_a_token_check_does_the_same_work_however_much_of_the_token_matched(
    database_url: str, strategy: Strategy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Structural, not statistical: every check hashes the presented secret and compares
    two SHA-256 digests of the same length with `hmac.compare_digest`, exactly once —
    for a right token, a secret wrong in its last character or its first, an unknown id
    (against a dummy hash), a malformed or a revoked token. So its time depends on
    neither the secret nor how much of it matched."""
    store = TokenStore(Settings(database_url=database_url, log_format="json"), strategy)
    info, token = store.create("anna", "coordinator", "sundsvall")
    _, revoked = store.create("bo", "coordinator", "sundsvall")
    store.revoke(revoked.split("_")[1])
    calls: list[tuple[str, str]] = []
    compare = hmac.compare_digest

    def recording(a: str, b: str) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)  # what tokens.py calls
    # The secret itself may contain "_": split off the "ruswf_<id>" head only.
    head, secret = token[: len("ruswf_") + 12], token[len("ruswf_") + 13 :]
    candidates = {
        "right": token,
        "last character wrong": forged(token),
        "first character wrong": f"{head}_{'B' if secret[0] != 'B' else 'C'}{secret[1:]}",
        "unknown id": f"ruswf_{'0' * 12}_{secret}",
        "malformed": "ruswf_short",
        "empty": "",
        "revoked": revoked,
    }
    try:
        for name, candidate in candidates.items():
            calls.clear()
            result = store.authenticate(candidate)
            assert (result is not None) == (name == "right"), name
            assert len(calls) == 1, name
            expected, presented = calls[0]
            assert len(expected) == len(presented) == 64, name
            int(expected, 16), int(presented, 16)  # hex digests, never the raw secret
    finally:
        store.close()
    assert info.user == "anna"

    # And no other comparison touches a secret or a hash in the module.
    source = Path(tokens_module.__file__).read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
        ):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert not names & {"secret", "expected", "secret_hash"}, ast.unparse(node)


@pytest.mark.soak
def test_token_check_timing_does_not_depend_on_the_matching_prefix(
    database_url: str, strategy: Strategy
) -> None:
    """Statistical (soak only: a noisy 2-core machine needs many samples): the median
    time to refuse a secret wrong in its last character and one wrong in its first differ
    by less than the run-to-run noise."""
    store = TokenStore(Settings(database_url=database_url, log_format="json"), strategy)
    _, token = store.create("anna", "coordinator", "sundsvall")
    # The secret itself may contain "_": split off the "ruswf_<id>" head only.
    head, secret = token[: len("ruswf_") + 12], token[len("ruswf_") + 13 :]
    near, far = forged(token), f"{head}_{'B' if secret[0] != 'B' else 'C'}{secret[1:]}"
    samples: dict[str, list[float]] = {"near": [], "far": [], "near2": []}
    try:
        for _ in range(3000):
            for name, candidate in (("near", near), ("far", far), ("near2", near)):
                started = time.perf_counter_ns()
                store.authenticate(candidate)
                samples[name].append(time.perf_counter_ns() - started)
    finally:
        store.close()
    median = {name: statistics.median(values) for name, values in samples.items()}
    noise = abs(median["near"] - median["near2"]) + 0.02 * median["near"]
    assert abs(median["near"] - median["far"]) <= 3 * noise, median


def test_a_coordinator_cannot_act_on_another_organisations_initiative(api: Api) -> None:
    """A coordinator of another organisation: 403 for every action (whatever the state),
    for a revision that would hand the initiative to them, for a proposal in another's
    name and for a retry with another user's idempotency key; list and detail endpoints
    offer them no action. Nothing of it is stored."""
    client = api.client
    intruder = api.headers("other_coordinator")
    for action in Action:
        iid = ready_for(api, action.value)
        head = api.head()
        response = client.post(
            f"/api/v1/initiatives/{iid}/actions/{action.value}",
            json=VALID_BODIES[action.value],
            headers=intruder,
        )
        if ROLE_OF[action.value] == "coordinator":
            assert response.status_code == 403, (action, response.text)
            assert response.json()["needed_organisation"] == "sundsvall"
        else:
            assert response.status_code == 403, (action, response.text)
        assert api.head() == head
        detail = client.get(f"/api/v1/initiatives/{iid}", headers=intruder).json()
        assert detail["allowed_actions"] == []

    proposal = ready_for(api, "revise")
    head = api.head()
    hijack = client.post(
        f"/api/v1/initiatives/{proposal}/actions/revise",
        json={"lead_actor": "kramfors"},
        headers=intruder,
    )
    assert hijack.status_code == 403
    in_their_name = client.post("/api/v1/initiatives", json=CONTENT, headers=intruder)
    assert in_their_name.status_code == 403
    assert api.head() == head

    # Idempotency keys are per user: another user's key replays nothing of theirs.
    key = {"Idempotency-Key": "k-2026-001"}
    mine = client.post(
        "/api/v1/initiatives", json=CONTENT, headers=api.headers("coordinator", **key)
    )
    assert mine.status_code == 201
    head = api.head()
    stolen = client.post("/api/v1/initiatives", json=CONTENT, headers={**intruder, **key})
    assert stolen.status_code == 403
    assert api.head() == head
    colleague = client.post(
        "/api/v1/initiatives", json=CONTENT, headers=api.headers("coordinator2", **key)
    )
    assert colleague.status_code == 201
    assert colleague.json()["id"] != mine.json()["id"]  # a new command, not a replay
    submit_key = {"Idempotency-Key": "k-submit"}
    submitted = client.post(
        f"/api/v1/initiatives/{mine.json()['id']}/actions/submit",
        json={},
        headers=api.headers("coordinator", **submit_key),
    )
    assert submitted.status_code == 200
    head = api.head()
    replayed = client.post(
        f"/api/v1/initiatives/{mine.json()['id']}/actions/submit",
        json={},
        headers={**intruder, **submit_key},
    )
    assert replayed.status_code == 403
    assert api.head() == head

    listed = client.get("/api/v1/initiatives?limit=500", headers=intruder).json()
    assert listed["total"] > 0
    assert all(item["allowed_actions"] == [] for item in listed["items"])
    own = client.get("/api/v1/initiatives?limit=500", headers=api.headers("coordinator")).json()
    assert any(item["allowed_actions"] for item in own["items"])
