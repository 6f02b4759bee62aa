"""Webhooks: the same content as the e-mail, POSTed as signed JSON.

The body is the message's JSON (UTF-8, keys sorted). Headers:

- `X-Reformkpi-Timestamp`: seconds since 1970 when it was sent;
- `X-Reformkpi-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with the `webhook_secret`
  setting, of `<timestamp>.<body>` (a receiver recomputes it, compares in constant time and
  refuses a timestamp more than five minutes off, so a captured request cannot be replayed);
- `X-Reformkpi-Message-Id`: the outbox row's Message-ID, the same for every attempt: a receiver
  that keeps the ones it has seen never acts twice.

Any 2xx answer is delivery; anything else is retried with the outbox's backoff. The request goes
but its body's last byte before the journal marks the message's end (reformkpi/notify/outbox.py),
as a receiver acts on no request it has not wholly received: a server that cannot be reached, or
a process killed before the mark, is a plain failure, tried again.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from reformkpi.notify.email import SendError, Uncertain

SIGNATURE, TIMESTAMP, MESSAGE_ID = "X-Reformkpi-Signature", "X-Reformkpi-Timestamp", "X-Reformkpi-Message-Id"
TOLERANCE_SECONDS = 300


def body(content: dict) -> bytes:
    return json.dumps(content, ensure_ascii=False, sort_keys=True).encode()


def signature(secret: str, timestamp: int, data: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + data, hashlib.sha256).hexdigest()


def verify(secret: str, headers, data: bytes, now: float | None = None) -> bool:
    """What a receiver checks: the signature over timestamp and body, and a timestamp within five minutes."""
    try:
        stamp = int(headers[TIMESTAMP])
    except (KeyError, TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, stamp, data), str(headers.get(SIGNATURE, "")))


def post(url: str, content: dict, message_id: str, secret: str, before_end: Callable[[], None],
         timeout: float = 30.0) -> None:
    """POST the content; SendError for a refusal or an unreachable server, Uncertain when the
    connection fails once the request may have reached the receiver; SendError without a secret
    (an unsigned request could be forged by anyone who knows the address)."""
    if not secret:
        raise SendError("webhook_secret is not set: webhooks are not sent unsigned (set it in the settings)")
    parts = urlsplit(url)
    data = body(content)
    stamp = int(time.time())
    headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP: str(stamp),
               SIGNATURE: signature(secret, stamp, data), MESSAGE_ID: message_id, "User-Agent": "reformkpi-notify"}
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        try:
            conn.connect()
        except (OSError, UnicodeError) as e:  # UnicodeError: a host name IDNA cannot encode
            raise SendError(f"{parts.hostname}: {type(e).__name__}: {e}"[:300]) from None
        try:
            conn.putrequest("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                            skip_accept_encoding=True)
            for name, value in {**headers, "Content-Length": str(len(data))}.items():
                conn.putheader(name, value)
            conn.endheaders(data[:-1])
        except (http.client.HTTPException, OSError, UnicodeError) as e:  # a path beyond ASCII
            raise SendError(f"{parts.hostname}: {type(e).__name__}: {e}"[:300]) from None
        before_end()
        try:
            conn.send(data[-1:])  # straight after the mark: the receiver now holds the whole request
            status = conn.getresponse().status
        except (http.client.HTTPException, OSError) as e:
            raise Uncertain(f"{type(e).__name__}: {e}"[:300]) from None
        if not 200 <= status < 300:
            raise SendError(f"{parts.hostname} answered {status}")
    finally:
        conn.close()
