"""Several processes starting on one fresh PostgreSQL store at once (several API processes
and a projection worker, say) all come up: table creation is serialised."""

from __future__ import annotations

import multiprocessing

import pytest

from tests.conftest import postgres_schema_url


def _start(url: str) -> None:
    from ruswf.app.service import RusApp
    from ruswf.app.settings import Settings
    from ruswf.app.strategy_loader import load_strategy

    RusApp(load_strategy(), Settings(database_url=url, log_format="json")).close()


@pytest.mark.postgres
def test_eight_processes_starting_at_once_on_a_fresh_store_all_succeed() -> None:
    with postgres_schema_url() as url:
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=_start, args=(url,)) for _ in range(8)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        assert [p.exitcode for p in processes] == [0] * 8
