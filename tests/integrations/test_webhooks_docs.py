"""The receiver example of docs/integrations.md verifies real deliveries."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruswf.app.service import RusApp
from ruswf.domain.commands import Propose
from tests.integrations.conftest import Receiver, wait_for
from tests.integrations.test_webhooks import COORDINATOR

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def documented_verify() -> Callable[[str, Any, bytes], bool]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    [example] = [b for b in blocks if "def verify" in b]
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(example, str(DOC), "exec"), namespace)
    verify: Callable[[str, Any, bytes], bool] = namespace["verify"]
    return verify


def test_the_documented_receiver_accepts_a_delivery_and_refuses_a_wrong_secret(
    app: RusApp,
    content: dict[str, Any],
    receiver: Receiver,
    subscribe: Callable[..., dict[str, Any]],
) -> None:
    hook = subscribe(receiver.url)
    app.propose(Propose(**content), COORDINATOR)
    wait_for(lambda: len(receiver.deliveries()) == 1, what="one delivery")
    [delivery] = receiver.deliveries()
    verify = documented_verify()
    assert verify(hook["secret"], delivery.headers, delivery.body)
    assert not verify("whsec_" + "A" * 44, delivery.headers, delivery.body)
    assert not verify(hook["secret"], delivery.headers, delivery.body + b" ")
