"""Sending e-mail through the configured SMTP server (`smtplib`, nothing hand-written).

Two kinds of failure matter to the caller: the server as a whole cannot be used
(`MailerUnavailableError`: down, refusing the connection, dropping it, rejecting the
login) and the server refused one message (`MessageRefusedError`: e.g. an unknown
recipient), which must not stop the others.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from types import TracebackType

from ruswf.app.settings import Settings, SettingsError


class MailerUnavailableError(Exception):
    """The SMTP server cannot be reached or used."""


class MessageRefusedError(Exception):
    """The SMTP server refused one message (the reason is the server's answer)."""


def _text(message: bytes | str) -> str:
    return message.decode(errors="replace") if isinstance(message, bytes) else message


def _answer(error: smtplib.SMTPException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = [f"{code} {_text(message)}" for code, message in error.recipients.values()]
        return "; ".join(answers) or "recipient refused"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__


class Mailer:
    """One SMTP session: `with Mailer(settings) as mailer: mailer.send(message)`."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise SettingsError("RUSWF_SMTP_HOST: not set (the SMTP server to send through)")
        if not settings.smtp_from:
            raise SettingsError("RUSWF_SMTP_FROM: not set (the reminders' sender address)")
        self.settings = settings
        self.sender = settings.smtp_from
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def __enter__(self) -> Mailer:
        s = self.settings
        assert s.smtp_host is not None
        try:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        except (OSError, smtplib.SMTPException) as error:
            detail = _answer(error) if isinstance(error, smtplib.SMTPException) else str(error)
            msg = f"SMTP server {self.where} unavailable: {detail}"
            raise MailerUnavailableError(msg) from error
        try:
            smtp.ehlo()
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_user:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_user, password)
        except (OSError, smtplib.SMTPException) as error:
            smtp.close()
            detail = _answer(error) if isinstance(error, smtplib.SMTPException) else str(error)
            raise MailerUnavailableError(f"SMTP server {self.where}: {detail}") from error
        self._smtp = smtp
        return self

    def send(self, message: EmailMessage) -> None:
        """Hand `message` to the server; returns once the server accepted it."""
        assert self._smtp is not None, "use the mailer as a context manager"
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPServerDisconnected as error:
            raise MailerUnavailableError(f"SMTP server {self.where} disconnected") from error
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError,
        ) as error:
            self._reset()
            raise MessageRefusedError(_answer(error)) from error
        except (OSError, smtplib.SMTPException) as error:
            raise MailerUnavailableError(f"SMTP server {self.where}: {error}") from error

    def _reset(self) -> None:
        """Start the next message cleanly after a refused one."""
        assert self._smtp is not None
        try:
            self._smtp.rset()
        except (OSError, smtplib.SMTPException) as error:
            raise MailerUnavailableError(f"SMTP server {self.where}: {error}") from error

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
