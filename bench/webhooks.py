"""Webhook delivery lag: from a command's commit to its event arriving at a receiver,
while commands come at 200 per second (PostgreSQL; the dispatcher in its own process,
as in `ruswf projections run`)."""

from __future__ import annotations

import json
import multiprocessing
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench import datagen
from bench.harness import Report, Result, percentile, quiet_logs, scratch_store
from ruswf.app.notify.webhooks import WebhookStore
from ruswf.domain.commands import Revise

TARGET_MS = 500.0
RATE = 200


def _dispatcher_process(url: str) -> None:
    from bench.run import open_app
    from ruswf.app.notify.dispatcher import Dispatcher, DispatcherRunner
    from ruswf.app.notify.webhooks import WebhookStore

    quiet_logs()
    app = open_app(url, webhook_allow_private=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner = DispatcherRunner(lambda: Dispatcher(app, WebhookStore(app)))
    runner.start()
    stop.wait()
    runner.stop()
    app.close()


def bench_webhook_lag(report: Report, size: Any) -> None:
    """p99 from commit to arrival at the receiver, 200 commands/s."""
    from bench.run import open_app, proposals
    from tests.servers import free_port

    arrivals: dict[tuple[str, int], float] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = json.loads(self.rfile.read(int(self.headers["content-length"])))
            with lock:
                arrivals.setdefault((data["initiative_id"], data["version"]), time.perf_counter())
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    commits: dict[tuple[str, int], float] = {}
    with scratch_store("postgres") as url:
        app = open_app(url)
        initiatives = proposals(app, 50)
        WebhookStore(app).create(
            f"http://127.0.0.1:{port}/hook", ["Revised"], created_by="bench", scope="bench"
        )
        worker = multiprocessing.get_context("spawn").Process(
            target=_dispatcher_process, args=(url,)
        )
        worker.start()
        # Wait until the dispatcher delivers (a spawned process takes seconds to start).
        warm = app.execute(
            initiatives[0], Revise(changes={"summary": "warm-up"}), datagen.COORDINATOR
        )
        ready = time.monotonic() + 60
        while time.monotonic() < ready:
            with lock:
                if (warm.id, warm.version) in arrivals:
                    break
            time.sleep(0.05)
        count = int(RATE * size.seconds)
        begin = time.perf_counter()
        for k in range(count):
            delay = begin + k / RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            view = app.execute(
                initiatives[k % len(initiatives)],
                Revise(changes={"summary": f"webhook lag {k}"}),
                datagen.COORDINATOR,
            )
            commits[(view.id, view.version)] = time.perf_counter()
        achieved = count / (time.perf_counter() - begin)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if all(key in arrivals for key in commits):
                    break
            time.sleep(0.05)
        worker.terminate()
        worker.join()
        app.close()
    server.shutdown()
    server.server_close()
    with lock:
        lags = [(arrivals[k] - t) * 1000 for k, t in commits.items() if k in arrivals]
    missing = len(commits) - len(lags)
    p99 = percentile(lags, 99)
    report.add(
        Result(
            "webhook_lag",
            p99,
            TARGET_MS,
            p99 / TARGET_MS,
            f"<=1 (p99 <= {TARGET_MS:g} ms)",
            p99 <= TARGET_MS and missing == 0,
            unit="p99 ms commit-to-receiver, one subscriber, dispatcher process, PostgreSQL",
            notes={
                "p50_ms": round(percentile(lags, 50), 1),
                "commands_per_s": round(achieved, 1),
                "samples": len(lags),
                "missing": missing,
            },
        )
    )
