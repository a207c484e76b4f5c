"""Browser sessions and CSRF for the web UI.

`POST /login` exchanges a bearer token for a server-side session: the browser gets a
random session id in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS); the store
keeps only the id's SHA-256, the token sealed with a key derived from the id (AES-GCM)
and the token's id (no secret), so the table alone reveals neither the session id nor
the token. Each request reads the session joined to its token's row (one round trip),
unseals the token and checks it against that row as the token store checks a bearer
token, so revoking the token ends its sessions at once.

The CSRF token of a session is an HMAC of its id: tied to the session, nothing stored.
Every POST also passes an Origin / Sec-Fetch-Site check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

import anyio.to_thread
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request

from ruswf.app.service import RusApp
from ruswf.app.store.sql import SqlStore
from ruswf.app.store.tokens import TOKEN_COLUMNS, TokenInfo, TokenStore, holder_of
from ruswf.domain.commands import ActorRef

COOKIE = "ruswf_session"
SESSION_HOURS = 12
TABLE = "ruswf_ui_sessions"
_DDL = (
    "CREATE TABLE IF NOT EXISTS {ruswf_ui_sessions} ("
    " session_hash TEXT PRIMARY KEY, sealed_token TEXT NOT NULL,"
    " created_at TEXT NOT NULL, expires_at TEXT NOT NULL, token_id TEXT)",
)


class LoginRequiredError(Exception):
    """No valid session: the UI answers 303 to /login."""


class CsrfError(Exception):
    """A POST without a valid csrf_token, or from another origin: 403, nothing recorded."""


@dataclass(frozen=True)
class UiUser:
    """The signed-in user of one request."""

    actor: ActorRef
    csrf_token: str
    token_id: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _key(session_id: str) -> bytes:
    return hashlib.sha256(b"ruswf-ui-session-seal:" + session_id.encode()).digest()


def csrf_for(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"ruswf-ui-csrf", hashlib.sha256).hexdigest()


# A session and its token's row in one round trip (the token is still checked in full).
_SELECT_SESSION = (
    "SELECT s.sealed_token, s.expires_at, "
    + ", ".join(f"t.{column}" for column in TOKEN_COLUMNS)
    + " FROM {ruswf_ui_sessions} s LEFT JOIN {ruswf_tokens} t ON t.id = s.token_id"
    " WHERE s.session_hash = ?"
)


def _plausible(session_id: str | None) -> TypeGuard[str]:
    return bool(session_id) and len(session_id or "") <= 100


def _unsealed(session_id: str, row: dict[str, Any] | None) -> str | None:
    """The token a session row holds, if the row is there, has not expired and opens
    with the session id's key."""
    if row is None or row["expires_at"] < datetime.now(UTC).isoformat(timespec="seconds"):
        return None
    try:
        raw = base64.b64decode(row["sealed_token"])
        return AESGCM(_key(session_id)).decrypt(raw[:12], raw[12:], None).decode()
    except (InvalidTag, ValueError):  # not sealed with this id's key, or not sealed at all
        return None


def _checked(session_id: str, row: dict[str, Any] | None) -> tuple[UiUser | None, bool]:
    """The user of a session row read with `_SELECT_SESSION`, and whether the session is
    to end (its token opened but is revoked or no longer its token's)."""
    token = _unsealed(session_id, row)
    if token is None:
        return None, False
    holder = holder_of(row, token)
    if holder is None:
        return None, True
    actor = ActorRef(holder.user, holder.organisation, holder.role)
    return UiUser(actor=actor, csrf_token=csrf_for(session_id), token_id=holder.id), False


class SessionStore:
    """Sessions in a table beside the event store (`ruswf_ui_sessions`)."""

    def __init__(self, app: RusApp, tokens: TokenStore) -> None:
        self.sql = SqlStore(app)
        self.tokens = tokens
        self.sql.create(_DDL, TABLE)
        self._add_token_id()

    def _add_token_id(self) -> None:
        """Give a sessions table made before `token_id` the column. Its sessions have
        none, find no token and end: their users sign in once more."""
        if self.sql.backend == "postgres":
            alter = "ALTER TABLE {ruswf_ui_sessions} ADD COLUMN IF NOT EXISTS token_id TEXT"
            self.sql.create((alter,), TABLE)
            return
        with self.sql.write() as tx:
            columns = tx.execute("PRAGMA table_info({ruswf_ui_sessions})")
            if not any(c["name"] == "token_id" for c in columns):
                tx.execute("ALTER TABLE {ruswf_ui_sessions} ADD COLUMN token_id TEXT")

    def start(self, token: str) -> tuple[str, TokenInfo] | None:
        """A new session for a valid token: (session id, holder); None for a bad token."""
        holder = self.tokens.authenticate(token)
        if holder is None:
            return None
        session_id = secrets.token_urlsafe(32)
        nonce = secrets.token_bytes(12)
        sealed = nonce + AESGCM(_key(session_id)).encrypt(nonce, token.encode(), None)
        now = datetime.now(UTC)
        with self.sql.write() as tx:
            tx.execute(
                "DELETE FROM {ruswf_ui_sessions} WHERE expires_at < ?",
                (now.isoformat(timespec="seconds"),),
            )
            tx.execute(
                "INSERT INTO {ruswf_ui_sessions} (session_hash, sealed_token, created_at,"
                " expires_at, token_id) VALUES (?, ?, ?, ?, ?)",
                (
                    _digest(session_id),
                    base64.b64encode(sealed).decode(),
                    now.isoformat(timespec="seconds"),
                    (now + timedelta(hours=SESSION_HOURS)).isoformat(timespec="seconds"),
                    holder.id,
                ),
            )
        return session_id, holder

    def user(self, session_id: str | None) -> UiUser | None:
        """The session's user, if the session exists, has not expired and its token is
        still valid (checked with the token store on every call)."""
        if not _plausible(session_id):
            return None
        with self.sql.read() as tx:
            row = tx.one(_SELECT_SESSION, (_digest(session_id),))
        user, ended = _checked(session_id, row)
        if ended:
            self.end(session_id)
        return user

    async def user_async(self, session_id: str | None) -> UiUser | None:
        """`user` for the event loop: the read on the token store's asyncio pool, so a
        page needs no hand-off to a worker thread to know its user."""
        if not _plausible(session_id):
            return None
        row = await self.tokens.read_one_async(_SELECT_SESSION, (_digest(session_id),))
        user, ended = _checked(session_id, row)
        if ended:
            await anyio.to_thread.run_sync(self.end, session_id)
        return user

    def end(self, session_id: str | None) -> None:
        if session_id:
            with self.sql.write() as tx:
                tx.execute(
                    "DELETE FROM {ruswf_ui_sessions} WHERE session_hash = ?",
                    (_digest(session_id),),
                )


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def check_csrf(request: Request, session_id: str | None, sent: object) -> None:
    """Refuse (CsrfError) a POST from another origin or without the session's token."""
    if not same_origin(request):
        raise CsrfError("the request comes from another origin")
    if not session_id or not isinstance(sent, str):
        raise CsrfError("the form has no csrf_token")
    if not hmac.compare_digest(csrf_for(session_id), sent):
        raise CsrfError("the form's csrf_token does not belong to this session")


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"
