"""Webhooks against a real HTTP receiver on 127.0.0.1, on SQLite and PostgreSQL: every
event arrives, in log order, signed (checked with the `standardwebhooks` library)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from ruswf.api.main import create_app
from ruswf.app.notify.dispatcher import Dispatcher, is_initiative_event
from ruswf.app.notify.webhooks import WebhookStore, unstamp
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.domain.commands import ActorRef, Propose, Revise, Submit
from ruswf.domain.strategy import Strategy
from tests.integrations.conftest import Delivery, Receiver, bearer, wait_for

COORDINATOR = ActorRef("anna", "sundsvall", "coordinator")


def walk(app: RusApp, content: dict[str, Any], proposals: int = 3) -> list[str]:
    """A few initiatives, each proposed, revised and submitted."""
    ids = []
    for n in range(proposals):
        initiative = app.propose(Propose(**{**content, "title": f"Insats {n}"}), COORDINATOR).id
        app.execute(initiative, Revise(changes={"summary": f"Reviderad {n}"}), COORDINATOR)
        app.execute(initiative, Submit(), COORDINATOR)
        ids.append(initiative)
    return ids


def logged(app: RusApp, after: int = 0) -> list[tuple[int, str]]:
    """(position, type) of every initiative event in the log after `after`."""
    found = []
    for notification in app.recorder.select_notifications(after + 1, 10_000):
        event = app.mapper.to_domain_event(notification)
        if is_initiative_event(event):
            found.append((notification.id, type(event).__name__))
    return found


def verified(secret: str, delivery: Delivery) -> dict[str, Any]:
    found: dict[str, Any] = Webhook(secret).verify(delivery.body, delivery.headers)
    return found


def test_every_event_arrives_once_in_log_order_signed_as_standard_webhooks_says(
    app: RusApp, content: dict[str, Any], receiver: Receiver, subscribe: Callable[..., Any]
) -> None:
    hook = subscribe(receiver.url)
    assert hook["secret"].startswith("whsec_")
    initiatives = walk(app, content)
    expected = logged(app)
    assert len(expected) == 9
    wait_for(lambda: len(receiver.deliveries()) >= len(expected), what="every event")
    payloads = [verified(hook["secret"], d) for d in receiver.deliveries()]
    assert [(p["position"], p["type"]) for p in payloads] == expected
    first = payloads[0]
    assert set(first) == {
        "id", "type", "position", "initiative_id", "version", "recorded_at", "actor", "data",
    }  # fmt: skip
    assert first["initiative_id"] == initiatives[0]
    assert first["version"] == 1
    assert first["actor"] == {"user": "anna", "organisation": "sundsvall", "role": "coordinator"}
    assert first["data"]["content"]["title"] == "Insats 0"
    ids = [d.headers["webhook-id"] for d in receiver.deliveries()]
    assert len(set(ids)) == len(ids)


def test_a_subscription_receives_only_its_event_types(
    app: RusApp, content: dict[str, Any], receiver: Receiver, subscribe: Callable[..., Any]
) -> None:
    hook = subscribe(receiver.url, ["Submitted"])
    walk(app, content, proposals=2)
    wait_for(lambda: len(receiver.deliveries()) >= 2, what="two Submitted events")
    extra = walk(app, content, proposals=1)  # a later event after those it skipped
    wait_for(lambda: len(receiver.deliveries()) >= 3, what="the third Submitted event")
    payloads = [verified(hook["secret"], d) for d in receiver.deliveries()]
    assert [p["type"] for p in payloads] == ["Submitted"] * 3
    assert payloads[-1]["initiative_id"] == extra[0]


def test_a_receiver_that_is_down_for_a_while_gets_every_event_in_order_once_back(
    app: RusApp, content: dict[str, Any], receiver: Receiver, subscribe: Callable[..., Any],
    client: TestClient, tokens: dict[str, str],
) -> None:  # fmt: skip
    hook = subscribe(receiver.url)
    receiver.stop()
    walk(app, content)
    expected = logged(app)

    def failed_attempts() -> int:
        answer = client.get(
            f"/api/v1/webhooks/{hook['id']}/deliveries", headers=bearer(tokens["admin"])
        )
        return sum(1 for d in answer.json()["items"] if d["outcome"] == "failed")

    wait_for(lambda: failed_attempts() >= 3, what="retries while the receiver is down")
    receiver.start()
    wait_for(lambda: len(receiver.deliveries()) >= len(expected), what="every event")
    payloads = [verified(hook["secret"], d) for d in receiver.deliveries()]
    assert [(p["position"], p["type"]) for p in payloads] == expected

    def log() -> list[dict[str, Any]]:
        answer = client.get(
            f"/api/v1/webhooks/{hook['id']}/deliveries?limit=500", headers=bearer(tokens["admin"])
        )
        return list(answer.json()["items"])

    # The dispatcher logs a batch of attempts once the batch is sent, so the
    # receiver may hold the last event a moment before the log does.
    wait_for(
        lambda: sum(d["outcome"] == "delivered" for d in log()) == len(expected),
        what="the log to record every delivery",
    )  # fmt: skip
    retried = [d for d in log() if d["position"] == expected[0][0]]
    assert {d["webhook_id"] for d in retried} == {receiver.deliveries()[0].headers["webhook-id"]}
    assert [d["attempt"] for d in reversed(retried)] == list(range(1, len(retried) + 1))
    assert retried[0]["outcome"] == "delivered"


def test_a_non_2xx_answer_is_retried_and_retry_after_is_honoured(
    app: RusApp, content: dict[str, Any], receiver: Receiver, subscribe: Callable[..., Any],
    client: TestClient, tokens: dict[str, str],
) -> None:  # fmt: skip
    hook = subscribe(receiver.url)
    receiver.status, receiver.headers = 503, {"Retry-After": "1"}
    app.propose(Propose(**content), COORDINATOR)
    wait_for(
        lambda: client.get(f"/api/v1/webhooks/{hook['id']}", headers=bearer(tokens["admin"]))
        .json()["attempts"] == 1,
        what="the first failed attempt",
    )  # fmt: skip
    state = client.get(f"/api/v1/webhooks/{hook['id']}", headers=bearer(tokens["admin"])).json()
    log = client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", headers=bearer(tokens["admin"])
    ).json()["items"]
    assert log[0]["status_code"] == 503
    assert log[0]["error"] == "HTTP 503"
    # retry_max is 0.5 s in these tests: only Retry-After makes it wait a second.
    waited = unstamp(state["next_attempt_at"]) - unstamp(log[0]["attempted_at"])
    assert waited.total_seconds() >= 1.0
    receiver.status, receiver.headers = 200, {}
    wait_for(lambda: len(receiver.deliveries()) == 1, what="the retried event")


def test_410_gone_disables_the_subscription(
    app: RusApp, content: dict[str, Any], receiver: Receiver, subscribe: Callable[..., Any],
    client: TestClient, tokens: dict[str, str],
) -> None:  # fmt: skip
    hook = subscribe(receiver.url)
    receiver.status = 410
    app.propose(Propose(**content), COORDINATOR)

    def status() -> str:
        answer = client.get(f"/api/v1/webhooks/{hook['id']}", headers=bearer(tokens["admin"]))
        return str(answer.json()["status"])

    wait_for(lambda: status() == "disabled", what="the subscription disabled")
    receiver.status = 200
    app.propose(Propose(**content), COORDINATOR)
    time.sleep(1.0)  # time the dispatcher would need to deliver it (it polls every 0.1 s)
    log = client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", headers=bearer(tokens["admin"])
    ).json()
    assert [d["outcome"] for d in log["items"]] == ["gone"]
    assert receiver.deliveries() == []


def test_replay_delivers_again_from_a_position_inclusive_with_the_same_webhook_ids(
    app: RusApp, content: dict[str, Any], receiver: Receiver, subscribe: Callable[..., Any],
    client: TestClient, tokens: dict[str, str],
) -> None:  # fmt: skip
    hook = subscribe(receiver.url)
    walk(app, content, proposals=2)
    expected = logged(app)
    wait_for(lambda: len(receiver.deliveries()) >= len(expected), what="every event")
    first_ids = [d.headers["webhook-id"] for d in receiver.deliveries()]
    from_position = expected[2][0]
    answer = client.post(
        f"/api/v1/webhooks/{hook['id']}/replay",
        json={"from_position": from_position},
        headers=bearer(tokens["admin"]),
    )
    assert answer.status_code == 202, answer.text
    again = len(expected) - 2
    wait_for(lambda: len(receiver.deliveries()) >= len(expected) + again, what="the replay")
    replayed = receiver.deliveries()[len(expected) :]
    assert [verified(hook["secret"], d)["position"] for d in replayed] == [
        p for p, _ in expected[2:]
    ]
    assert [d.headers["webhook-id"] for d in replayed] == first_ids[2:]


def test_after_a_secret_rotation_deliveries_verify_with_the_new_and_the_old_secret(
    app: RusApp, content: dict[str, Any], receiver: Receiver, subscribe: Callable[..., Any],
    client: TestClient, tokens: dict[str, str],
) -> None:  # fmt: skip
    hook = subscribe(receiver.url)
    rotated = client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=bearer(tokens["admin"])
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != hook["secret"]
    app.propose(Propose(**content), COORDINATOR)
    wait_for(lambda: len(receiver.deliveries()) == 1, what="one event")
    [delivery] = receiver.deliveries()
    assert verified(new_secret, delivery)["type"] == "Proposed"
    assert verified(hook["secret"], delivery)["type"] == "Proposed"
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2


def test_only_an_admin_manages_webhooks(
    client: TestClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    answer = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["*"]},
        headers=bearer(tokens["coordinator"]),
    )
    assert answer.status_code == 403
    assert client.get("/api/v1/webhooks", headers=bearer(tokens["coordinator"])).status_code == 403


def test_list_hides_secrets_and_delete_stops_deliveries(
    app: RusApp, content: dict[str, Any], receiver: Receiver, subscribe: Callable[..., Any],
    client: TestClient, tokens: dict[str, str],
) -> None:  # fmt: skip
    hook = subscribe(receiver.url)
    listed = client.get("/api/v1/webhooks", headers=bearer(tokens["admin"])).json()
    assert listed["total"] == 1
    assert "secret" not in listed["items"][0]
    assert hook["secret"] not in repr(listed)
    deleted = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=bearer(tokens["admin"]))
    assert deleted.status_code == 204
    app.propose(Propose(**content), COORDINATOR)
    time.sleep(1.0)  # time the dispatcher would need to deliver it (it polls every 0.1 s)
    gone = client.get(f"/api/v1/webhooks/{hook['id']}", headers=bearer(tokens["admin"]))
    assert gone.status_code == 404
    assert receiver.deliveries() == []


def test_an_unknown_event_type_is_refused_naming_the_field(
    client: TestClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    answer = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["Approvd"]},
        headers=bearer(tokens["admin"]),
    )
    assert answer.status_code == 422
    assert "event_types" in answer.text


def test_a_retried_create_with_the_same_idempotency_key_returns_the_first_answer(
    client: TestClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    headers = {**bearer(tokens["admin"]), "Idempotency-Key": "hook-1"}
    body = {"url": receiver.url, "event_types": ["*"]}
    first = client.post("/api/v1/webhooks", json=body, headers=headers)
    second = client.post("/api/v1/webhooks", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert client.get("/api/v1/webhooks", headers=bearer(tokens["admin"])).json()["total"] == 1


@pytest.fixture
def strict_client(settings: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    """The API with the default: no private targets."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "https://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "ftp://example.se/hooks",
        "file:///etc/passwd",
    ],
)
def test_a_private_or_non_http_target_is_refused_with_422_naming_url(
    strict_client: TestClient, tokens: dict[str, str], url: str
) -> None:
    answer = strict_client.post(
        "/api/v1/webhooks",
        json={"url": url, "event_types": ["*"]},
        headers=bearer(tokens["admin"]),
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "url" in answer.text


def test_a_redirect_is_not_followed_and_counts_as_a_failed_delivery(
    app: RusApp, content: dict[str, Any], receiver: Receiver, subscribe: Callable[..., Any],
    client: TestClient, tokens: dict[str, str],
) -> None:  # fmt: skip
    elsewhere = Receiver()
    elsewhere.start()
    try:
        hook = subscribe(receiver.url)
        receiver.status, receiver.headers = 307, {"Location": elsewhere.url}
        app.propose(Propose(**content), COORDINATOR)

        def attempts() -> list[dict[str, Any]]:
            answer = client.get(
                f"/api/v1/webhooks/{hook['id']}/deliveries", headers=bearer(tokens["admin"])
            )
            items: list[dict[str, Any]] = answer.json()["items"]
            return items

        wait_for(lambda: len(attempts()) >= 2, what="two failed attempts")
        assert {a["outcome"] for a in attempts()} == {"failed"}
        assert "not followed" in attempts()[0]["error"]
        assert elsewhere.deliveries() == []
    finally:
        elsewhere.stop()


def test_a_target_that_resolves_to_a_private_address_is_refused_at_delivery_too(
    app: RusApp, content: dict[str, Any], receiver: Receiver
) -> None:
    """A subscription stored before the rule (or a name whose DNS answer changed)."""
    store = WebhookStore(app)
    _, hook = store.create(
        receiver.url.replace("127.0.0.1", "localhost"), ["*"], created_by="adm", scope="t"
    )
    app.propose(Propose(**content), COORDINATOR)
    dispatcher = Dispatcher(app, store)  # app's settings: private targets not allowed
    try:
        dispatcher.run_once(wait=True)
    finally:
        dispatcher.close()
    [attempt] = store.deliveries(hook["id"])[0]
    assert attempt["outcome"] == "failed"
    assert attempt["error"].startswith("target refused: host 'localhost'")
    assert receiver.deliveries() == []


@pytest.fixture
def second_app(strategy: Strategy, hook_settings: Settings) -> Iterator[RusApp]:
    application = RusApp(strategy, hook_settings)
    try:
        yield application
    finally:
        application.close()


def test_two_dispatchers_on_one_store_deliver_each_event_once_in_order(
    app: RusApp,
    second_app: RusApp,
    hook_settings: Settings,
    strategy: Strategy,
    content: dict[str, Any],
    receiver: Receiver,
) -> None:
    """Two processes' dispatchers (two applications) share the subscriptions: the lease
    lets one deliver a subscription at a time."""
    first_app = RusApp(strategy, hook_settings)
    try:
        store = WebhookStore(first_app)
        _, hook = store.create(receiver.url, ["*"], created_by="adm", scope="t")
        dispatchers = [
            Dispatcher(first_app, store),
            Dispatcher(second_app, WebhookStore(second_app)),
        ]
        stop = threading.Event()

        def run(dispatcher: Dispatcher) -> None:
            while not stop.is_set():
                dispatcher.run_once(wait=True)
                time.sleep(0.01)

        threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
        for thread in threads:
            thread.start()
        try:
            walk(app, content, proposals=5)
            expected = logged(app)
            wait_for(lambda: len(receiver.deliveries()) >= len(expected), what="every event")
            time.sleep(0.5)  # room for a duplicate to show
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
            for dispatcher in dispatchers:
                dispatcher.close()
        positions = [verified(hook["secret"], d)["position"] for d in receiver.deliveries()]
        assert positions == [p for p, _ in expected]
    finally:
        first_app.close()


def test_unknown_webhooks_answer_404_and_a_bad_replay_position_422(
    client: TestClient, tokens: dict[str, str], receiver: Receiver, subscribe: Callable[..., Any]
) -> None:
    admin = bearer(tokens["admin"])
    for method, path in [
        ("GET", "/api/v1/webhooks/wh_0000000000000000"),
        ("DELETE", "/api/v1/webhooks/wh_0000000000000000"),
        ("GET", "/api/v1/webhooks/wh_0000000000000000/deliveries"),
        ("POST", "/api/v1/webhooks/wh_0000000000000000/rotate-secret"),
    ]:
        assert client.request(method, path, headers=admin).status_code == 404, path
    hook = subscribe(receiver.url)
    bad = client.post(
        f"/api/v1/webhooks/{hook['id']}/replay", json={"from_position": 0}, headers=admin
    )
    assert bad.status_code == 422
    assert "from_position" in bad.text
