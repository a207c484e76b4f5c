"""The reminders' words: Swedish by default, English for a person whose language is
`en`; each message as plain text and as HTML (docs/integrations.md quotes them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from ruswf.app.labels import CATALOGUE, format_date
from ruswf.domain.strategy import Strategy

WORDS: dict[str, dict[str, str]] = {
    lang: {key: words[lang] for key, words in CATALOGUE["reminders"].items()}
    for lang in ("sv", "en")
}
"""Each language's words of the reminders, from the catalogue (`labels.toml`)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Texts:
    """Renders one reminder or digest for one recipient."""

    def __init__(self, strategy: Strategy, public_url: str, days: int) -> None:
        self.strategy = strategy
        self.public_url = public_url.rstrip("/")
        self.days = days

    def link(self, initiative_id: str) -> str:
        return f"{self.public_url}/initiatives/{initiative_id}"

    def org_name(self, organisation: str) -> str:
        actor = self.strategy.actor(organisation)
        return actor.name if actor is not None else organisation

    def group_name(self, convener: str) -> str:
        """The name of the preparing group `convener` convenes (RUS 2030: Strategiska
        RUS-gruppen)."""
        names = [
            c.name
            for c in self.strategy.councils
            if c.kind == "preparatory" and c.convener == convener
        ]
        return " / ".join(names) or self.org_name(convener)

    def _item(self, obligation: Mapping[str, Any], language: str) -> str:
        words = WORDS[language]
        template = words["item_overdue" if obligation["status"] == "overdue" else "item"]
        return template.format(
            title=obligation["title"],
            period=obligation["period"],
            period_name=self.strategy.period(obligation["period"]).name,
            due=format_date(date.fromisoformat(obligation["due_date"]), language),
        )

    def report(
        self,
        name: str,
        organisation: str,
        language: str,
        items: Sequence[Mapping[str, Any]],
    ) -> Rendered:
        """The reminder to one of `organisation`'s recipients about its `items`."""
        words = WORDS[language]
        org = self.org_name(organisation)
        sections = [
            (words["overdue"], [o for o in items if o["status"] == "overdue"]),
            (
                words["upcoming"].format(days=self.days),
                [o for o in items if o["status"] != "overdue"],
            ),
        ]
        return self._render(
            subject=words["report_subject"].format(org=org),
            greeting=words["greeting"].format(name=name),
            intro=words["report_intro"].format(org=org, strategy=self.strategy.name),
            sections=[(title, found) for title, found in sections if found],
            outro=words["report_outro"],
            footer=words["footer"].format(org=org),
            language=language,
        )

    def digest(
        self,
        name: str,
        organisation: str,
        language: str,
        items: Sequence[Mapping[str, Any]],
        today: date,
    ) -> Rendered:
        """The strategic group's digest: overdue reports per actor."""
        words = WORDS[language]
        by_actor: dict[str, list[Mapping[str, Any]]] = {}
        for obligation in items:
            by_actor.setdefault(obligation["actor"], []).append(obligation)
        sections = [
            (f"{self.org_name(actor)} ({len(found)})", found)
            for actor, found in sorted(by_actor.items(), key=lambda kv: self.org_name(kv[0]))
        ]
        return self._render(
            subject=words["digest_subject"],
            greeting=words["greeting"].format(name=name),
            intro=words["digest_intro"].format(
                group=self.group_name(organisation),
                strategy=self.strategy.name,
                today=format_date(today, language),
            ),
            sections=sections,
            outro="",
            footer=words["footer"].format(org=self.org_name(organisation)),
            language=language,
        )

    def _render(
        self,
        *,
        subject: str,
        greeting: str,
        intro: str,
        sections: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
        outro: str,
        footer: str,
        language: str,
    ) -> Rendered:
        lines = [greeting, "", intro, ""]
        html = [
            f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
            f"<title>{escape(subject)}</title></head><body>",
            f"<p>{escape(greeting)}</p>",
            f"<p>{escape(intro)}</p>",
        ]
        for title, items in sections:
            lines.append(f"{title}:")
            html.append(f"<h2>{escape(title)}</h2><ul>")
            for obligation in items:
                item = self._item(obligation, language)
                link = self.link(obligation["initiative_id"])
                lines.append(f"- {item}")
                lines.append(f"  {link}")
                html.append(f'<li><a href="{escape(link)}">{escape(item)}</a></li>')
            lines.append("")
            html.append("</ul>")
        if outro:
            lines += [outro, ""]
            html.append(f"<p>{escape(outro)}</p>")
        lines += ["-- ", footer, ""]
        html.append(f"<hr><p><small>{escape(footer)}</small></p></body></html>")
        return Rendered(subject, "\n".join(lines), "\n".join(html))
