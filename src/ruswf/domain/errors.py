"""Domain errors: each carries the facts a user needs to correct the request."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""


class ValidationError(DomainError):
    """A command's input is invalid; `field` names the offending input."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class TransitionNotAllowedError(DomainError):
    """The action is not allowed in the initiative's current state."""

    def __init__(
        self, action: str, state: str, allowed_actions: Sequence[str], why: str = ""
    ) -> None:
        allowed = ", ".join(allowed_actions) or "none"
        because = f" ({why})" if why else ""
        super().__init__(
            f"action '{action}' is not allowed in state '{state}'{because}; "
            f"allowed actions: {allowed}"
        )
        self.action = action
        self.state = state
        self.allowed_actions = list(allowed_actions)
        self.why = why


class StrategyConfigError(DomainError):
    """The strategy configuration is malformed."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        super().__init__(f"{source}: {key}: {reason}")
        self.source = source
        self.key = key
        self.reason = reason


class MeetingNotFoundError(DomainError):
    """No meeting of the annual cycle has this id."""

    def __init__(self, meeting_id: str) -> None:
        super().__init__(f"no meeting {meeting_id!r} in the annual cycle")
        self.meeting_id = meeting_id


class MeetingCancelledError(DomainError):
    """The meeting is cancelled: nothing can be scheduled, deferred to or decided at it."""

    def __init__(self, meeting_id: str, action: str = "") -> None:
        doing = f"; cannot {action}" if action else ""
        super().__init__(f"meeting {meeting_id} is cancelled{doing}")
        self.meeting_id = meeting_id
        self.action = action
