"""Finding 10: `ruswf serve --demo` does not pile up demo tokens (admin included): each
start revokes the earlier demo set and says how to get tokens again."""

from __future__ import annotations

import re

import pytest

from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.bootstrap import Services
from ruswf.cli import DEMO_USERS, _prepare_demo
from ruswf.domain.commands import ActorRef, Propose

TOKEN = re.compile(r"ruswf_[0-9a-f]{12}_[A-Za-z0-9_-]+")


def test_second_demo_start_revokes_the_first_demo_tokens(
    app: RusApp,
    settings: Settings,
    coordinator: ActorRef,
    content: dict[str, object],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A store with events: no demo walk, only tokens.
    app.propose(Propose(**content), coordinator)
    for _start in (1, 2):
        built = Services(settings)
        try:
            _prepare_demo(built, "http://127.0.0.1:8000")
        finally:
            built.close()
        if _start == 1:
            first = TOKEN.findall(capsys.readouterr().out)
    printed = capsys.readouterr().out
    second = TOKEN.findall(printed)
    assert len(first) == len(second) == len(DEMO_USERS)
    assert "start it again to get them again" in printed
    store = TokenStore(settings, app.strategy)
    try:
        assert [store.authenticate(t) for t in first] == [None] * len(DEMO_USERS)
        assert all(store.authenticate(t) is not None for t in second)
        active = [t for t in store.list() if t.revoked_at is None]
        assert sorted((t.user, t.role, t.organisation) for t in active) == sorted(DEMO_USERS)
    finally:
        store.close()
