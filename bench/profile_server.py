"""Where a running `ruswf serve` spends its CPU per HTTP command: py-spy samples every
thread of the server process (the event loop, the thread pool, the embedded followers)
while 8 clients send commands, and the samples are summed per function and per area.

    .venv/bin/python -m bench.profile_server [COMMANDS] [-- SERVE OPTIONS ...]

e.g. `python -m bench.profile_server 2000 -- --no-projections`. Needs ptrace rights over
the server (root, or `kernel.yama.ptrace_scope=0`).
"""

from __future__ import annotations

import asyncio
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import quiet_logs, scratch_store

AREAS = (
    ("projections/", "projections (read models)"),
    ("ruswf/app/audit/ledger", "ledger sealer"),
    ("ruswf/app/store/leadership", "leadership"),
    ("ruswf/app/store/locks", "leadership"),
    ("ruswf/app/store/tokens", "token check"),
    ("ruswf/api/", "ruswf API (routers, deps, middleware)"),
    ("ruswf/app/service", "application service"),
    ("ruswf/domain/", "domain"),
    ("ruswf/app/", "ruswf app (other)"),
    ("eventsourcing/", "eventsourcing"),
    ("psycopg", "psycopg"),
    ("structlog", "structlog"),
    ("pydantic", "pydantic"),
    ("fastapi/", "fastapi"),
    ("starlette/", "starlette"),
    ("uvicorn/", "uvicorn"),
    ("h11", "uvicorn"),
    ("httptools", "uvicorn"),
    ("anyio/", "anyio (thread hand-off)"),
    ("asyncio/", "asyncio"),
    ("threading.py", "threads (idle waits)"),
    ("json/", "json"),
)


def area(frame: str) -> str | None:
    for needle, name in AREAS:
        if needle in frame:
            return name
    return None


def thread_kind(frames: list[str]) -> str:
    """Which of the server's threads a stack is from."""
    text = ";".join(frames)
    if "follow_ledger" in text:
        return "follower job: ledger"
    if "follow_projections" in text:
        return "follower job: projections"
    if "ruswf/app/store/leadership" in text:
        return "leadership checks"
    thread = frames[1] if len(frames) > 1 else ""
    if "AnyIO worker thread" in thread:
        return "thread pool (sync endpoints and dependencies)"
    if "MainThread" in thread:
        return "event loop"
    return "other: " + (frames[1] if len(frames) > 1 else frames[0])[:60]


def summarise(raw: Path, commands: int) -> str:
    """Inclusive samples per area (the outermost ruswf-relevant frame of each stack decides
    nothing: every area on the stack counts once) and self samples per function."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        # Idle threads (waiting in a lock or a selector) are not CPU.
        if any(s in frames[-1] for s in ("wait (threading", "select (selectors", "_worker (")):
            continue
        total += count
        threads[thread_kind(frames)] += count
        for name in {area(f) for f in frames} - {None}:
            inclusive[str(name)] += count
        leaf[frames[-1]] += count
    lines = [f"# {total} busy samples over {commands} commands"]
    lines.append("## threads")
    for name, count in threads.most_common():
        lines.append(f"{100 * count / max(total, 1):6.1f} %  {name}")
    lines.append("## areas (inclusive: a sample counts for every area on its stack)")
    for name, count in inclusive.most_common():
        lines.append(f"{100 * count / max(total, 1):6.1f} %  {name}")
    lines.append("## functions (self)")
    for name, count in leaf.most_common(40):
        lines.append(f"{100 * count / max(total, 1):6.1f} %  {name}")
    return "\n".join(lines)


def main() -> None:
    args = sys.argv[1:]
    extra: list[str] = []
    if "--" in args:
        extra = args[args.index("--") + 1 :]
        args = args[: args.index("--")]
    commands = int(args[0]) if args else 2000
    quiet_logs()
    from bench.run import _http_load, open_app, proposals, serving
    from ruswf.app.store.tokens import TokenStore

    with scratch_store("postgres") as url:
        app = open_app(url)
        initiatives = proposals(app, 100)
        tokens = TokenStore(app.settings, app.strategy)
        _, token = tokens.create("bench-coordinator", "coordinator", "sundsvall")
        tokens.close()
        app.close()
        with serving(url, *extra) as (base, server), tempfile.TemporaryDirectory() as tmp:
            asyncio.run(_http_load(base, token, initiatives, 80, 8))
            raw = Path(tmp) / "profile.txt"
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(server.pid),
                    "--subprocesses",
                    "--gil",  # only samples holding the GIL: CPU spent in Python, not waits
                    "--threads",
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--output",
                    str(raw),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)
            asyncio.run(_http_load(base, token, initiatives, commands, 8))
            time.sleep(0.5)
            spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
            spy.wait(30)
            kept = Path(tempfile.gettempdir()) / "ruswf-server-profile.txt"
            kept.write_text(raw.read_text())
            print(summarise(raw, commands))
            print(f"# the samples (py-spy raw, collapsed stacks): {kept}")


if __name__ == "__main__":
    main()
