"""The channel abstraction: what every channel (email, WhatsApp, Telegram, ...) provides.

A channel is one subclass of `Channel` registered with `@register`; the inbox, the outbox, the
webhook view and the router only talk to this interface, so adding a channel touches one module.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

import httpx

from portal.core.security import storable

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from flask import Request

    from portal.channels.models import InboundMessage, OutboundMessage
    from portal.tenancy.models import Tenant

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_http: httpx.Client | None = None


def http() -> httpx.Client:
    """One shared HTTP client (thread-safe, keeps connections and the TLS setup between sends)."""
    global _http
    if _http is None:
        _http = httpx.Client(timeout=HTTP_TIMEOUT)
    return _http


class SendError(Exception):
    """Sending failed. `permanent` failures are not retried (a wrong number, a refused template)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class MalformedInbound(ValueError):
    """A stored inbound message that cannot be understood: it goes to the quarantine."""


@dataclass
class WebhookEvent:
    """One event cut out of a webhook body, stored raw in the inbox before any processing."""

    provider_id: str
    raw: bytes
    kind: str = "message"
    sender: str = ""
    summary: str = ""


@dataclass
class InstantMessage:
    """An inbound chat message, whatever the channel, as the router sees it."""

    address: str  # where to answer: WhatsApp id, Telegram chat id
    name: str
    text: str
    attachments: list[Any] = field(default_factory=list)  # emailparse.Attachment
    locale: str | None = None
    shared: bool = False  # a location or a contact card: something for a person to read, not a question
    # Longer than this, a chat message is a report for a person, not a question for the assistant
    # (its MAX_MESSAGE_LENGTH; WhatsApp and Telegram allow 4,096). Channels do not import the
    # assistant (it may be absent), hence the number written again here.
    QUESTION_LIMIT: ClassVar[int] = 2000

    def __post_init__(self) -> None:
        # Whatever the provider let through (a NUL, half an emoji) is stored as text the database keeps.
        self.address, self.name, self.text = storable(self.address, 320), storable(self.name, 200), storable(self.text)

    @property
    def for_a_person(self) -> bool:
        """A file, a shared card or a long report goes to the support team as it is: the assistant
        reads questions."""
        return bool(self.attachments) or self.shared or len(self.text.strip()) > self.QUESTION_LIMIT


def location_text(name: Any, address: Any, latitude: Any, longitude: Any) -> str:
    """A shared location as the desk shows it: "📍 Ibombo office (-15.4, 28.3)"."""
    place = " ".join(str(part) for part in (name, address) if part).strip()
    where = f"({latitude}, {longitude})" if latitude is not None and longitude is not None else ""
    return " ".join(filter(None, ["📍", place, where]))


def contacts_text(contacts: Iterable[tuple[Any, Iterable[Any]]]) -> str:
    """Shared contact cards, one line each: "👤 Chanda Mwale: +260 97 111 2222" (a colleague to
    call back, the officer who can unlock a record)."""
    lines = []
    for name, phones in contacts:
        numbers = ", ".join(str(p) for p in phones if p)
        lines.append("👤 " + ": ".join(filter(None, [str(name or "").strip(), numbers])))
    return "\n".join(line for line in lines if line != "👤 ")


CHANNELS: dict[str, "Channel"] = {}


def register(cls: type["Channel"]) -> type["Channel"]:
    CHANNELS[cls.name] = cls()
    return cls


def get_channel(name: str) -> "Channel":
    from portal.channels import mail, telegram, whatsapp  # noqa: F401  (each registers itself)

    return CHANNELS[name]


def secret(env_name: str | None) -> str:
    """The value of the environment variable that tenant.toml names ('' when unset)."""
    return os.environ.get(env_name or "", "") if env_name else ""


# When each missing secret was last logged (per process): once an hour is enough to be seen, and a
# sender retrying, or anyone calling the webhook in a loop, cannot fill the log.
_MISSING_SECRET_LOGGED: dict[tuple[str, str, str], float] = {}
MISSING_SECRET_LOG_EVERY = 3600.0


def webhook_secret(tenant, channel: str, key: str, env_name: str | None) -> str:
    """`secret(env_name)`, with a warning in the log when it is not set on this server: the webhook
    then refuses every call, which the sender sees only as 403s."""
    value = secret(env_name)
    if not value:
        now = time.monotonic()
        last = _MISSING_SECRET_LOGGED.get((tenant.slug, channel, key))
        if last is None or now - last >= MISSING_SECRET_LOG_EVERY:
            _MISSING_SECRET_LOGGED[(tenant.slug, channel, key)] = now
            log.warning("%s: %s webhook refused: channels.%s.%s names %s, which is not set on this server (said once an hour)",
                        tenant.slug, channel, channel, key, env_name or "nothing")
    return value


def valid_hmac_sha256(key: str, body: bytes, signature: str) -> bool:
    if not key or not signature:
        return False
    expected = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.removeprefix("sha256="))


class Channel:
    """Base class of every channel."""

    name: ClassVar[str]
    instant: ClassVar[bool] = False  # chat channels: the assistant answers first

    def config(self, tenant: "Tenant"):
        """The tenant's settings for this channel, or None when it is not set up or switched off."""
        cfg = getattr(tenant.settings.channels, self.name, None)
        return cfg if cfg is not None and cfg.enabled else None

    # -- inbound ---------------------------------------------------------------------------------
    def verify_webhook(self, tenant: "Tenant", request: "Request") -> bool:
        raise NotImplementedError

    def split_webhook(self, tenant: "Tenant", body: bytes) -> list[WebhookEvent]:
        raise NotImplementedError

    def process(self, tenant: "Tenant", inbound: "InboundMessage", prepared: Any = None) -> None:
        """Understand one stored message and route it; raise MalformedInbound to quarantine it.

        `prepared` is what the entry point already made of `inbound.raw` (the parsed email), so
        that it is not parsed twice; None when processing a stored message again."""
        raise NotImplementedError

    # -- outbound --------------------------------------------------------------------------------
    def text_payload(self, tenant: "Tenant", recipient: str, text: str, **context: Any) -> dict[str, Any]:
        """The outbox payload that carries `text` to `recipient` on this channel."""
        return {"type": "text", "text": text}

    def send(self, tenant: "Tenant", outbound: "OutboundMessage") -> str:
        """Hand the message to the provider; return its id for the message. Raise SendError."""
        raise NotImplementedError

    def post_json(self, url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = http().post(url, json=body, headers=headers or {})
        except httpx.HTTPError as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            # 4xx (except throttling) will fail again the same way.
            permanent = 400 <= response.status_code < 500 and response.status_code != 429
            raise SendError(f"HTTP {response.status_code}: {response.text[:300]}", permanent=permanent)
        try:
            return response.json()
        except ValueError:
            return {}
