"""WhatsApp Business Cloud API: signed webhook in, Graph API out, the 24-hour customer-service window."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
from sqlalchemy import select

from portal.channels.base import (Channel, InstantMessage, MalformedInbound, SendError, WebhookEvent, contacts_text, http,
                                  location_text, register, secret, valid_hmac_sha256, webhook_secret)
from portal.channels.emailparse import Attachment
from portal.channels.models import ChannelThread, InboundMessage, InboundStatus
from portal.channels.services import record_status
from portal.core.db import db, utcnow
from portal.tenancy.models import Tenant

SERVICE_WINDOW = dt.timedelta(hours=24)
MEDIA_TYPES = ("image", "document", "audio", "video")


def window_open(tenant: Tenant, address: str, now: dt.datetime | None = None) -> bool:
    """Whether the requester wrote in the last 24 hours (free-form messages allowed)."""
    thread = db.session.scalar(select(ChannelThread).where(ChannelThread.channel == "whatsapp", ChannelThread.address == address))
    if thread is None or thread.last_inbound_at is None:
        return False
    return (now or utcnow()) - thread.last_inbound_at < SERVICE_WINDOW


@register
class WhatsAppChannel(Channel):
    name = "whatsapp"
    instant = True

    def verify_webhook(self, tenant, request) -> bool:
        cfg = self.config(tenant)
        return cfg is not None and valid_hmac_sha256(webhook_secret(tenant, self.name, "app_secret_env", cfg.app_secret_env), request.get_data(cache=True), request.headers.get("X-Hub-Signature-256", ""))

    def verify_subscription(self, tenant, args) -> str | None:
        """The GET handshake: the challenge to echo back, or None when the token is wrong."""
        cfg = self.config(tenant)
        token = webhook_secret(tenant, self.name, "verify_token_env", cfg.verify_token_env) if cfg else ""
        if args.get("hub.mode") == "subscribe" and token and args.get("hub.verify_token") == token:
            return args.get("hub.challenge", "")
        return None

    def split_webhook(self, tenant, body: bytes) -> list[WebhookEvent]:
        try:
            return self._events(json.loads(body))
        except (ValueError, AttributeError, TypeError):  # not the shape Meta sends: kept whole, to be looked at
            return [WebhookEvent("unparsed:" + _digest(body), body, kind="unparsed")]

    @staticmethod
    def _events(data: dict[str, Any]) -> list[WebhookEvent]:
        events = []
        for value in [c.get("value") or {} for e in data.get("entry") or [] for c in e.get("changes") or []]:
            metadata = value.get("metadata") or {}
            names = {c.get("wa_id"): (c.get("profile") or {}).get("name", "") for c in value.get("contacts") or []}
            for message in value.get("messages") or []:
                if not isinstance(message, dict):  # one odd item: kept on its own, its neighbours go on
                    raw = json.dumps({"metadata": metadata, "message": message}).encode()
                    events.append(WebhookEvent("unparsed:" + _digest(raw), raw, kind="unparsed"))
                    continue
                raw = json.dumps({"metadata": metadata, "message": message, "name": names.get(message.get("from"), "")}).encode()
                text = message.get("text")
                summary = str((text.get("body") if isinstance(text, dict) else None) or message.get("type") or "")[:300]
                events.append(WebhookEvent(str(message.get("id") or "missing:" + _digest(raw)), raw, sender=str(message.get("from") or ""), summary=summary))
            for status in value.get("statuses") or []:
                raw = json.dumps({"metadata": metadata, "status": status}).encode()
                events.append(WebhookEvent(f"{status.get('id')}:{status.get('status')}", raw, kind="status", sender=str(status.get("recipient_id") or ""), summary=str(status.get("status"))))
        return events

    def process(self, tenant, inbound: InboundMessage, prepared=None) -> None:
        from portal.channels import routing

        cfg = self.config(tenant)
        try:
            data = json.loads(inbound.raw)
        except ValueError:
            raise MalformedInbound("the webhook body is not JSON") from None
        if not isinstance(data, dict) or cfg is None:
            raise MalformedInbound("not a WhatsApp event, or WhatsApp is not set up for this country")
        number_id = (data.get("metadata") or {}).get("phone_number_id")
        if number_id and number_id != cfg.phone_number_id:
            inbound.status = InboundStatus.IGNORED
            inbound.error = f"for phone number id {number_id}, not this country's"
            return
        if "status" in data:
            status = data["status"]
            errors = status.get("errors") or [{}]
            at = dt.datetime.fromtimestamp(int(status.get("timestamp") or 0), dt.timezone.utc) if status.get("timestamp") else None
            found = record_status(tenant, "whatsapp", str(status.get("id")), str(status.get("status")), errors[0].get("title") or errors[0].get("message") or "", at)
            if not found:
                inbound.status = InboundStatus.IGNORED
                inbound.error = "status for a message the portal did not send"
            return
        message = data.get("message") or {}
        kind = message.get("type")
        if kind == "reaction":
            reaction = message.get("reaction") or {}
            inbound.kind = "reaction"
            inbound.summary = f"{reaction.get('emoji', '')} → {reaction.get('message_id', '')}"[:300]
            routing.touch_thread(tenant, self.name, str(message.get("from")), data.get("name") or "")
            return
        if kind == "system":  # the customer changed number, and the like: nobody wrote it
            inbound.status = InboundStatus.IGNORED
            inbound.error = "a system notice, not a message"
            return
        chat = InstantMessage(address=str(message.get("from") or ""), name=data.get("name") or "", text=self._text(message),
                              shared=kind in ("location", "contacts"))
        if not chat.address:
            raise MalformedInbound("message without a sender")
        if kind in MEDIA_TYPES:
            chat.attachments.append(self.fetch_media(tenant, message[kind]))
        if kind == "sticker":
            routing.route_unreadable(tenant, self, inbound, chat, "a sticker", answer=False)
        elif not chat.text and not chat.attachments:
            errors = message.get("errors") or [{}]
            reason = errors[0].get("title") or errors[0].get("message") or ""
            routing.route_unreadable(tenant, self, inbound, chat, f"unsupported message type {kind}" + (f": {reason}" if reason else ""))
        else:
            routing.route_instant(tenant, self, inbound, chat)

    @staticmethod
    def _text(message: dict[str, Any]) -> str:
        kind = message.get("type")
        body = message.get(kind) if isinstance(message.get(kind), dict) else {}
        if kind == "text":
            return body.get("body", "")
        if kind in MEDIA_TYPES:
            return body.get("caption", "")
        if kind == "location":
            return location_text(body.get("name"), body.get("address"), body.get("latitude"), body.get("longitude"))
        if kind == "contacts":
            cards = [c for c in message.get("contacts") or [] if isinstance(c, dict)]
            return contacts_text(((c.get("name") or {}).get("formatted_name"), [p.get("phone") for p in c.get("phones") or []]) for c in cards)
        if kind == "interactive":
            reply = body.get("button_reply") or body.get("list_reply") or {}
            return reply.get("title") or reply.get("id") or ""
        if kind == "button":
            return body.get("text") or body.get("payload") or ""
        return ""

    def fetch_media(self, tenant, media: dict[str, Any]) -> Attachment:
        """Download a media by its id: the Graph API gives a short-lived URL, read with the same token."""
        cfg = self.config(tenant)
        headers = {"Authorization": f"Bearer {secret(cfg.access_token_env)}"}
        try:
            info = http().get(f"{cfg.graph_base}/{media['id']}", headers=headers)
            info.raise_for_status()
            url = info.json()["url"]
            content = http().get(url, headers=headers)
            content.raise_for_status()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            # Raised as a plain error: the message is quarantined and can be re-processed later.
            raise RuntimeError(f"media {media.get('id')} could not be fetched: {exc}") from None
        mime = media.get("mime_type") or info.json().get("mime_type") or "application/octet-stream"
        name = media.get("filename") or f"{media['id']}.{mime.split('/')[-1].split(';')[0]}"
        return Attachment(name, mime.split(";")[0], content.content)

    def text_payload(self, tenant, recipient: str, text: str, **context: Any) -> dict[str, Any]:
        return {"type": "text", "text": text, "locale": tenant.best_locale(context.get("locale"))}

    def template_body(self, tenant, payload: dict[str, Any]) -> dict[str, Any]:
        cfg = self.config(tenant)
        return {
            "type": "template",
            "template": {
                "name": cfg.reply_template,
                "language": {"code": payload.get("locale") or tenant.default_locale},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": payload["text"][:1000]}]}],
            },
        }

    def send(self, tenant, outbound) -> str:
        cfg = self.config(tenant)
        if cfg is None:
            raise SendError("WhatsApp is not set up for this country")
        payload = outbound.payload
        if payload.get("type") == "template":
            body = {"type": "template", "template": payload["template"]}
        elif window_open(tenant, outbound.recipient):
            body = {"type": "text", "text": {"body": payload["text"], "preview_url": False}}
        else:
            # Outside the 24-hour window WhatsApp only accepts approved templates.
            body = self.template_body(tenant, payload)
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": outbound.recipient, **body}
        answer = self.post_json(f"{cfg.graph_base}/{cfg.phone_number_id}/messages", body, {"Authorization": f"Bearer {secret(cfg.access_token_env)}"})
        try:
            return answer["messages"][0]["id"]
        except (KeyError, IndexError, TypeError):
            raise SendError(f"unexpected Graph API answer: {str(answer)[:200]}") from None


def _digest(body: bytes) -> str:
    import hashlib

    return hashlib.sha256(body).hexdigest()
