"""The composition root: everything a process needs, built once and handed out.

The API's lifespan and each CLI command build one `Services` from the settings; routes,
commands, the demo and the projection runner receive what they need from it and never
construct their own. Each part is built the first time it is asked for (a `ruswf token
create` opens no read models) and only once; `close()` releases what was built.

It sits outside the layers (it is the one module that knows them all): the API and the
CLI import it; the domain, the application and the projections do not.
"""

from __future__ import annotations

from functools import cached_property

from projections import Projections
from ruswf.app.audit.ledger import Ledger
from ruswf.app.audit.people import People
from ruswf.app.notify.webhooks import WebhookStore
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.feeds import FeedStore
from ruswf.app.store.tokens import TokenStore
from ruswf.app.strategy_loader import load_strategy
from ruswf.domain.strategy import Strategy


class Services:
    """The application and its collaborators on one store, for one process."""

    def __init__(self, settings: Settings, *, long_running: bool = False) -> None:
        """`long_running`: a server, which may finish work in the background (a pending
        erasure, docs/security.md); a CLI command finishes or leaves it to the next."""
        self.settings = settings
        self.long_running = long_running
        self.strategy: Strategy = load_strategy(settings.strategy)
        self.app = RusApp(self.strategy, settings)

    @cached_property
    def tokens(self) -> TokenStore:
        return TokenStore(self.settings, self.strategy)

    @cached_property
    def people(self) -> People:
        return People(self.app, finish_in_background=self.long_running)

    @cached_property
    def webhooks(self) -> WebhookStore:
        return WebhookStore(self.app)

    @cached_property
    def feeds(self) -> FeedStore:
        return FeedStore(self.app)

    @cached_property
    def projections(self) -> Projections:
        return Projections(self.app)

    @property
    def ledger(self) -> Ledger:
        """The audit ledger: the one the projections' follower seals into."""
        return self.projections.ledger

    def close(self) -> None:
        """Release what was built, the application last."""
        built = vars(self)
        if "projections" in built:
            self.projections.close()
        if "tokens" in built:
            self.tokens.close()
        self.app.close()
