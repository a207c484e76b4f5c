"""Profile the in-process command path on PostgreSQL with pyinstrument.

.venv/bin/python -m bench.profile_command [N]
"""

from __future__ import annotations

import sys

from pyinstrument import Profiler

from bench.datagen import CONTENT, COORDINATOR
from bench.harness import quiet_logs, scratch_store
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.strategy_loader import load_strategy
from ruswf.domain.commands import Propose, Revise


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    quiet_logs()
    with scratch_store("postgres") as url:
        app = RusApp(load_strategy(), Settings(database_url=url))
        initiative = app.propose(Propose(**CONTENT), COORDINATOR).id
        profiler = Profiler()
        profiler.start()
        for k in range(count):
            app.execute(initiative, Revise(changes={"summary": f"Version {k}"}), COORDINATOR)
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=True))
        app.close()


if __name__ == "__main__":
    main()
