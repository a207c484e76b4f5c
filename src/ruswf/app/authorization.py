"""Who may do what: one declarative table of roles and the actions they may take.

The documentation renders this table (`ruswf roles`, docs/api.md); tests are generated
from it, so a new action cannot be left unchecked.
"""

from __future__ import annotations

from enum import StrEnum

from ruswf.domain.lifecycle import Action


class Role(StrEnum):
    COORDINATOR = "coordinator"
    PREPARER = "preparer"
    SECRETARY = "secretary"
    AUDITOR = "auditor"
    REPORTER = "reporter"
    ADMIN = "admin"


PROPOSE = "propose"

# Workflow permissions. Coordinators act only on initiatives led by their organisation.
ROLE_ACTIONS: dict[Role, frozenset[str]] = {
    Role.COORDINATOR: frozenset(
        {
            PROPOSE,
            Action.REVISE.value,
            Action.SUBMIT.value,
            Action.WITHDRAW.value,
            Action.REPORT_PROGRESS.value,
            Action.CLOSE.value,
        }
    ),
    Role.PREPARER: frozenset(
        {
            Action.RETURN_FOR_REVISION.value,
            Action.RECORD_PREPARATION.value,
            Action.SCHEDULE.value,
        }
    ),
    Role.SECRETARY: frozenset(
        {
            Action.APPROVE.value,
            Action.REJECT.value,
            Action.DEFER.value,
            Action.REFER_BACK.value,
        }
    ),
    Role.AUDITOR: frozenset(),
    Role.REPORTER: frozenset(),
    Role.ADMIN: frozenset(),
}

# Roles bound to the lead actor: they act only on their own organisation's initiatives.
LEAD_ACTOR_BOUND: frozenset[Role] = frozenset({Role.COORDINATOR})

# What each role may read, beyond its actions.
ROLE_READS: dict[Role, frozenset[str]] = {
    Role.COORDINATOR: frozenset(
        {"initiatives", "history", "strategy", "meetings", "reports", "people"}
    ),
    Role.PREPARER: frozenset(
        {"initiatives", "history", "strategy", "meetings", "reports", "people"}
    ),
    Role.SECRETARY: frozenset(
        {"initiatives", "history", "strategy", "meetings", "reports", "people"}
    ),
    Role.AUDITOR: frozenset(
        {"initiatives", "history", "strategy", "meetings", "reports", "audit", "people"}
    ),
    Role.REPORTER: frozenset({"initiatives", "strategy", "meetings", "reports"}),
    Role.ADMIN: frozenset(
        {"initiatives", "history", "strategy", "meetings", "reports", "audit", "tokens", "people"}
    ),
}

# The people registry (contact persons' personal data, kept out of the events):
# who may register a person, and who may erase one (GDPR art. 17).
PEOPLE_REGISTRARS: frozenset[Role] = frozenset({Role.COORDINATOR, Role.ADMIN})
PEOPLE_ERASERS: frozenset[Role] = frozenset({Role.ADMIN})


def roles_for(action: str) -> list[Role]:
    """The roles that may take `action`."""
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]


def may_act(role: Role, organisation: str, action: str, lead_actor: str) -> bool:
    """Whether a user in `role` of `organisation` may take `action` on an initiative
    led by `lead_actor` (the lifecycle is checked separately)."""
    if action not in ROLE_ACTIONS[role]:
        return False
    return role not in LEAD_ACTOR_BOUND or organisation == lead_actor
