"""Lessons learned: every lesson from progress reports and final reports, with its
initiative, goal area, principles and period — searchable, for the next cycle's proposals."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from projections.base import (
    CONTENT_COLUMNS,
    InitiativeEvent,
    InitiativeTable,
    Page,
    ReadModel,
    day,
    equal_to,
)
from projections.store import Json, Session, Table
from ruswf.domain.initiative import Initiative

SOURCES = ("progress_report", "final_report")
LESSON_INITIATIVES = InitiativeTable(
    "proj_lesson_initiatives",
    {
        "principles": "jsonb NOT NULL",
    },
    content=(*CONTENT_COLUMNS, "principles"),
)

LESSONS = Table(
    "proj_lessons",
    {
        "position": "bigint NOT NULL",
        "seq": "integer NOT NULL",
        "initiative_id": "text NOT NULL",
        "title": "text NOT NULL",
        "goal_area": "text NOT NULL",
        "lead_actor": "text NOT NULL",
        "principles": "jsonb NOT NULL",
        "period": "text NOT NULL",
        "source": "text NOT NULL",
        "lesson": "text NOT NULL",
        "recorded_at": "timestamptz NOT NULL",
        "effective_date": "date NOT NULL",
        "search_text": "text NOT NULL",
    },
    primary_key=("position", "seq"),
    indexes={
        "proj_lessons_goal_area": "goal_area, position",
        "proj_lessons_initiative": "initiative_id",
    },
)
SHOWN = tuple(column for column in LESSONS.columns if column != "search_text")
"""Every column but the search text, which only the search reads."""


class LessonFilters(TypedDict, total=False):
    """What lessons are searched by (a filter left out or None: any)."""

    q: str | None
    """Words that must each occur in the lesson or its initiative's title."""
    goal_area: str | None


def search_text(*parts: str) -> str:
    """What a search matches against: case-folded, so that å, ä and ö match either case."""
    return "\n".join(parts).casefold()


class Lessons(ReadModel):
    """One row per lesson learned."""

    name = "lessons"
    version = 1
    initiatives = LESSON_INITIATIVES
    tables = (
        LESSON_INITIATIVES,
        LESSONS,
    )

    def apply(self, session: Session, event: InitiativeEvent, position: int) -> None:
        iid = str(event.originator_id)
        match event:
            case Initiative.Revised():
                self._revise(session, iid, event.changes)
            case Initiative.ProgressReported():
                self._learn(session, iid, event, position, event.period, "progress_report")
            case Initiative.Closed():
                period = self.strategy.period_of(day(event.effective_date)).id
                self._learn(session, iid, event, position, period, "final_report")
            case _:
                pass

    def _revise(self, session: Session, iid: str, changes: dict[str, Any]) -> None:
        """Copy a revision's changes to the initiative's lessons (its own row is already
        revised: `initiatives`)."""
        changed = LESSON_INITIATIVES.content_values(changes)
        if not changed:
            return
        assignments = ", ".join(f"{column} = :{column}" for column in changed)
        # Lessons come in follow-up, after the last possible revision; kept in step anyway.
        rows = session.fetchall(
            "SELECT position, seq, lesson FROM {proj_lessons} WHERE initiative_id = :id",
            {"id": iid},
        )
        if not rows:
            return
        session.execute(
            f"UPDATE {{proj_lessons}} SET {assignments} WHERE initiative_id = :id",
            {**changed, "id": iid},
        )
        title = session.scalar(
            "SELECT title FROM {proj_lesson_initiatives} WHERE initiative_id = :id", {"id": iid}
        )
        for row in rows:
            session.execute(
                "UPDATE {proj_lessons} SET search_text = :text WHERE position = :position"
                " AND seq = :seq",
                {
                    "text": search_text(row["lesson"], title),
                    "position": row["position"],
                    "seq": row["seq"],
                },
            )

    def _learn(
        self,
        session: Session,
        iid: str,
        event: Initiative.ProgressReported | Initiative.Closed,
        position: int,
        period: str,
        source: str,
    ) -> None:
        if not event.lessons:
            return
        initiative = session.fetchone(
            "SELECT title, goal_area, lead_actor, principles FROM {proj_lesson_initiatives}"
            " WHERE initiative_id = :id",
            {"id": iid},
        )
        assert initiative is not None, f"lesson for unknown initiative {iid}"
        for seq, lesson in enumerate(event.lessons):
            LESSONS.insert(
                session,
                {
                    "position": position,
                    "seq": seq,
                    "initiative_id": iid,
                    "title": initiative["title"],
                    "goal_area": initiative["goal_area"],
                    "lead_actor": initiative["lead_actor"],
                    "principles": Json(initiative["principles"]),
                    "period": period,
                    "source": source,
                    "lesson": lesson,
                    "recorded_at": event.timestamp,
                    "effective_date": day(event.effective_date),
                    "search_text": search_text(lesson, initiative["title"]),
                },
            )

    # -- queries ------------------------------------------------------------------------

    def search(self, *, limit: int = 50, offset: int = 0, **filters: Unpack[LessonFilters]) -> Page:
        """Lessons whose text or initiative title contains every word of `q` (any case),
        newest first."""
        conditions, params = equal_to(goal_area=filters.get("goal_area"))
        for index, word in enumerate((filters.get("q") or "").split()):
            conditions.append(f"search_text LIKE :w{index} ESCAPE '!'")
            params[f"w{index}"] = "%" + _escape(word.casefold()) + "%"
        rows, total = self.page(
            LESSONS,
            (conditions, params),
            order_by="position DESC, seq",
            limit=limit,
            offset=offset,
            columns=SHOWN,
        )
        return [{"id": f"{r['position']}-{r['seq']}", **r} for r in rows], total


def _escape(word: str) -> str:
    return word.replace("!", "!!").replace("%", "!%").replace("_", "!_")
