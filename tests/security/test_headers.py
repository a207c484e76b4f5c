"""Finding 12: every HTML page carries a strict Content-Security-Policy; every response
carries `X-Content-Type-Options: nosniff`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

STRICT = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
}


def directives(policy: str) -> set[str]:
    return {part.strip() for part in policy.split(";") if part.strip()}


def test_html_dossier_forbids_inline_scripts_and_framing(
    client: TestClient,
    auth: Callable[[str], dict[str, str]],
    approve_via_api: Callable[..., str],
    content: dict[str, Any],
) -> None:
    initiative = approve_via_api(content, "Bifall.")
    page = client.get(
        f"/api/v1/initiatives/{initiative}/decisions/1/dossier?format=html",
        headers=auth("auditor"),
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert directives(page.headers["content-security-policy"]) >= STRICT
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-frame-options"] == "DENY"


def test_every_response_says_nosniff(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    answers = [
        client.get("/healthz"),
        client.get("/api/v1/strategy", headers=auth("reporter")),
        client.get("/api/v1/strategy"),  # 401 problem+json
        client.get("/api/v1/reports/annual-cycle?year=2026&format=csv", headers=auth("reporter")),
        client.post("/api/v1/initiatives", content=b"x" * 2_000_000, headers=auth("coordinator")),
    ]
    assert [a.headers.get("x-content-type-options") for a in answers] == ["nosniff"] * 5


def test_api_docs_page_keeps_framing_forbidden(client: TestClient) -> None:
    """FastAPI's own docs page needs its CDN and an inline start-up script: the one
    documented relaxation, still not frameable."""
    page = client.get("/docs")
    policy = directives(page.headers["content-security-policy"])
    assert "frame-ancestors 'none'" in policy
    assert "base-uri 'none'" in policy
