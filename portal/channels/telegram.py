"""Telegram bot: the third instant channel, to show that a channel is one small module."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from portal.channels.base import (Channel, InstantMessage, MalformedInbound, SendError, WebhookEvent, contacts_text, http,
                                  location_text, register, secret, webhook_secret)
from portal.channels.emailparse import Attachment
from portal.channels.models import InboundMessage, InboundStatus


# Files the desk keeps (a photo comes in several sizes: the largest is taken); a sticker is a sign, not a file.
FILE_KINDS = ("document", "voice", "audio", "video", "video_note")
# The fields of every message, whatever it carries: the first other one names its kind (poll, dice...).
ENVELOPE = frozenset({"message_id", "message_thread_id", "from", "sender_chat", "chat", "date", "edit_date", "forward_origin",
                      "forward_from", "forward_from_chat", "forward_from_message_id", "forward_signature", "forward_sender_name",
                      "forward_date", "is_automatic_forward", "reply_to_message", "external_reply", "quote", "reply_to_story",
                      "is_topic_message", "via_bot", "author_signature", "has_protected_content", "is_from_offline",
                      "media_group_id", "entities", "caption_entities", "link_preview_options", "reply_markup", "effect_id",
                      "show_caption_above_media", "has_media_spoiler", "business_connection_id", "sender_boost_count"})
# What a person sends that the desk cannot read; any other message without text is a service message.
USER_CONTENT = frozenset({"poll", "dice", "game", "story", "invoice", "paid_media", "checklist"})


def _kind(message: dict[str, Any]) -> str:
    """What a message carries, by its first field that every message does not have ("" for none)."""
    return next((key for key in message if key not in ENVELOPE), "")


@register
class TelegramChannel(Channel):
    name = "telegram"
    instant = True

    def verify_webhook(self, tenant, request) -> bool:
        cfg = self.config(tenant)
        expected = webhook_secret(tenant, self.name, "secret_token_env", cfg.secret_token_env) if cfg else ""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())

    def split_webhook(self, tenant, body: bytes) -> list[WebhookEvent]:
        try:
            update = json.loads(body)
            message = update.get("message") or update.get("edited_message") or {}
            provider_id = str(update["update_id"])
            sender = str((message.get("chat") or {}).get("id") or "")
            summary = str(message.get("text") or message.get("caption") or _kind(message))[:300]
        except (ValueError, AttributeError, KeyError, TypeError):
            return [WebhookEvent("unparsed:" + hashlib.sha256(body).hexdigest(), body, kind="unparsed")]
        return [WebhookEvent(provider_id, body, sender=sender, summary=summary)]

    def process(self, tenant, inbound: InboundMessage, prepared=None) -> None:
        from portal.channels import routing

        try:
            update = json.loads(inbound.raw)
        except ValueError:
            raise MalformedInbound("the update is not JSON") from None
        message = (update.get("message") or update.get("edited_message")) if isinstance(update, dict) else None
        if not message or "chat" not in message:
            inbound.status = InboundStatus.IGNORED
            inbound.error = "not a chat message"
            return
        person = message.get("from") or {}
        name = " ".join(filter(None, [person.get("first_name"), person.get("last_name")]))
        chat = InstantMessage(str(message["chat"]["id"]), name, self._text(message), locale=person.get("language_code"),
                              shared=not (message.get("text") or message.get("caption")) and any(message.get(k) for k in ("location", "venue", "contact")))
        file = next((message[kind] for kind in FILE_KINDS if message.get(kind)), None) or (message.get("photo") or [None])[-1]
        if file:
            chat.attachments.append(self.fetch_file(tenant, file))
        if message.get("sticker"):
            routing.route_unreadable(tenant, self, inbound, chat, "a sticker", answer=False)
        elif not chat.text and not chat.attachments:
            kind = _kind(message) or "empty"
            # A person sent something the desk cannot read (a poll): they are told. A service message
            # (a pinned message, a timer changed, someone joined) is kept without an answer.
            routing.route_unreadable(tenant, self, inbound, chat, f"unsupported message type {kind}", answer=kind in USER_CONTENT)
        else:
            routing.route_instant(tenant, self, inbound, chat)

    @staticmethod
    def _text(message: dict[str, Any]) -> str:
        if message.get("text") or message.get("caption"):
            return message.get("text") or message.get("caption")
        venue, place = message.get("venue") or {}, message.get("location") or {}
        if place or venue:
            place = place or venue.get("location") or {}
            return location_text(venue.get("title"), venue.get("address"), place.get("latitude"), place.get("longitude"))
        contact = message.get("contact")
        if isinstance(contact, dict):
            name = " ".join(filter(None, [contact.get("first_name"), contact.get("last_name")]))
            return contacts_text([(name, [contact.get("phone_number")])])
        return ""

    def _api(self, tenant) -> str:
        cfg = self.config(tenant)
        return f"{cfg.api_base}/bot{secret(cfg.bot_token_env)}"

    def fetch_file(self, tenant, file: dict[str, Any]) -> Attachment:
        cfg = self.config(tenant)
        try:
            info = http().get(f"{self._api(tenant)}/getFile", params={"file_id": file["file_id"]})
            info.raise_for_status()
            path = info.json()["result"]["file_path"]
            content = http().get(f"{cfg.api_base}/file/bot{secret(cfg.bot_token_env)}/{path}")
            content.raise_for_status()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise RuntimeError(f"file {file.get('file_id')} could not be fetched: {type(exc).__name__}") from None
        return Attachment(file.get("file_name") or path.rsplit("/", 1)[-1], file.get("mime_type") or "application/octet-stream", content.content)

    def send(self, tenant, outbound) -> str:
        if self.config(tenant) is None:
            raise SendError("Telegram is not set up for this country")
        answer = self.post_json(f"{self._api(tenant)}/sendMessage", {"chat_id": outbound.recipient, "text": outbound.payload["text"]})
        try:
            return str(answer["result"]["message_id"])
        except (KeyError, TypeError):
            raise SendError(f"unexpected Telegram answer: {str(answer)[:200]}") from None
