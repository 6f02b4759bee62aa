"""E-mail: a message's text and HTML from its lines, and delivery over SMTP.

The content (subject, lines, links) is rendered when a message is planned, in the subscriber's
language from the gettext catalogs, and kept in the outbox; here it becomes a
multipart/alternative message (plain text, then HTML with every text escaped) with its
Message-ID, a List-Unsubscribe link and List-Unsubscribe-Post (RFC 8058 one-click).

Delivery signs in with the settings registry's account after STARTTLS (`smtp_starttls`), and
hands the outbox a hook, `before_end`, called once the server holds the whole message but the
final "." (see reformkpi/notify/outbox.py for why). The password is never logged or shown: an
error names the server and its reply only.
"""

from __future__ import annotations

import base64
import html
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr

from reformkpi.config import Settings

CRLF = b"\r\n"
# Headers unfolded up to RFC 5322's hard limit: Python's folding of a long Vietnamese subject into
# several encoded words drops the space at the fold ("chỉ số cần" arrives as "chỉ sốcần").
POLICY = SMTP.clone(max_line_length=998)


class SendError(Exception):
    """The server refused the message or could not be reached: tried again later."""


class Uncertain(Exception):
    """The connection failed after the final '.': the server may hold the message. Taken as sent
    (at most once), as after a crash at that point."""


def text_body(title: str, lines: list[str], footer: list[str]) -> str:
    return "\n".join([title, "", *[f"- {line}" for line in lines], "", *footer]) + "\n"


def html_body(title: str, lines: list[str], footer: list[str], links: dict[str, str], lang: str) -> str:
    """The same content as HTML: every text escaped, links (the only markup from data) as anchors."""
    urls = sorted({html.escape(u) for u in links.values() if u}, key=len, reverse=True)  # the longest first
    pattern = re.compile("|".join(map(re.escape, urls))) if urls else None

    def linked(line: str) -> str:
        escaped = html.escape(line)
        return pattern.sub(lambda m: f'<a href="{m[0]}">{m[0]}</a>', escaped) if pattern else escaped

    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    foot = "".join(f"<p style=\"color:#555;font-size:13px\">{linked(line)}</p>" for line in footer)
    return (f'<!DOCTYPE html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body style=\"font-family:sans-serif;color:#1B1F24\">"
            f"<h2 style=\"font-size:18px\">{html.escape(title)}</h2><ul>{items}</ul>{foot}</body></html>")


def build(payload: dict, message_id: str, mail_from: str, attachment: tuple[str, bytes] | None = None) -> EmailMessage:
    """The message of an outbox row: its payload (to, subject, text, html, unsubscribe, lang)."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = mail_from
    msg["To"] = payload["address"]
    msg["Subject"] = payload["subject"]
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    if payload.get("unsubscribe"):
        msg["List-Unsubscribe"] = f"<{payload['unsubscribe']}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"  # no vacation replies
    # Quoted-printable: 7-bit on the wire, for a server that does not take 8BITMIME.
    msg.set_content(payload["text"], subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(payload["html"], subtype="html", charset="utf-8", cte="quoted-printable")
    if attachment is not None:
        name, data = attachment
        msg.make_mixed()
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    msg["Content-Language"] = payload["lang"]  # after the parts: setting content drops Content-* headers
    return msg


def _quoted(data: bytes) -> bytes:
    """The DATA of a message: CRLF line ends, a leading '.' doubled (RFC 5321, 4.5.2), ending in CRLF."""
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", CRLF, data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(CRLF) else data + CRLF


def domain(mail_from: str) -> str:
    """The sender's domain: the right-hand side of Message-IDs."""
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """Sign in; a name or password beyond ASCII (a Vietnamese password) goes as UTF-8 by AUTH PLAIN
    (RFC 4616), which smtplib's login cannot send."""
    if (user + password).isascii():
        smtp.login(user, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise SendError("the server offers no AUTH PLAIN, which a name or password beyond ASCII needs")
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    code, reply = smtp.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def send(s: Settings, msg: EmailMessage, before_end: Callable[[], None], timeout: float = 60.0) -> None:
    """Send `msg` through the configured server; `before_end` runs once the server holds all of it
    but the final '.'. SendError when the server refuses or fails."""
    sender = parseaddr(str(msg["From"]))[1]
    recipients = [parseaddr(str(msg["To"]))[1]]
    try:
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout)
    except OSError as e:
        raise SendError(f"{s.smtp_host}:{s.smtp_port}: {type(e).__name__}: {e}"[:300]) from None
    # Closed, never QUIT, on a failure: inside DATA a QUIT would be read as more of the message.
    try:
        smtp.ehlo()
        if s.smtp_starttls:
            context = ssl.create_default_context(cafile=str(s.smtp_cafile) if s.smtp_cafile else None)
            smtp.starttls(context=context)
            smtp.ehlo()
        if s.smtp_user:
            _login(smtp, s.smtp_user, s.smtp_password)
        code, reply = smtp.mail(sender)
        if code != 250:
            raise SendError(f"MAIL FROM refused: {code} {reply!r}")
        for r in recipients:
            code, reply = smtp.rcpt(r)
            if code not in (250, 251):
                raise SendError(f"RCPT TO refused: {code} {reply!r}")
        code, reply = smtp.docmd("DATA")
        if code != 354:
            raise SendError(f"DATA refused: {code} {reply!r}")
        smtp.send(_quoted(msg.as_bytes()))
        sock = smtp.sock
        if sock is None:
            raise SendError("the connection closed before the end of the message")
        before_end()
        try:
            sock.sendall(b"." + CRLF)  # straight after the mark: nothing in between
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as e:
            raise Uncertain(f"{type(e).__name__}: {e}"[:300]) from None
        if code != 250:  # refused in so many words: not delivered
            raise SendError(f"message refused: {code} {reply!r}")
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the message is accepted: how the connection ends does not matter
    except smtplib.SMTPAuthenticationError as e:
        raise SendError(f"{s.smtp_host}:{s.smtp_port} refused the sign-in of {s.smtp_user}: {e.smtp_code}") from None
    except (smtplib.SMTPException, OSError, UnicodeError) as e:  # UnicodeError: an address beyond ASCII
        raise SendError(f"{s.smtp_host}:{s.smtp_port}: {type(e).__name__}: {e}"[:300]) from None
    finally:
        smtp.close()


class Pacer:
    """At most `per_minute` messages a minute: each send waits until 60/per_minute seconds after the last."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.gap = 60.0 / per_minute if per_minute > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None:
            left = self.last + self.gap - self.clock()
            if left > 0:
                self.sleep(left)
        self.last = self.clock()
