"""Telegram bot: the third instant channel, to show that a channel is one small module."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from portal.channels.base import Channel, InstantMessage, MalformedInbound, SendError, WebhookEvent, http, register, secret
from portal.channels.emailparse import Attachment
from portal.channels.models import InboundMessage, InboundStatus


@register
class TelegramChannel(Channel):
    name = "telegram"
    instant = True

    def verify_webhook(self, tenant, request) -> bool:
        cfg = self.config(tenant)
        expected = secret(cfg.secret_token_env) if cfg else ""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())

    def split_webhook(self, tenant, body: bytes) -> list[WebhookEvent]:
        try:
            update = json.loads(body)
            message = update.get("message") or update.get("edited_message") or {}
            provider_id = str(update["update_id"])
        except (ValueError, AttributeError, KeyError, TypeError):
            return [WebhookEvent("unparsed:" + hashlib.sha256(body).hexdigest(), body, kind="unparsed")]
        sender = str((message.get("chat") or {}).get("id") or "")
        return [WebhookEvent(provider_id, body, sender=sender, summary=(message.get("text") or message.get("caption") or "")[:300])]

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
        chat = InstantMessage(str(message["chat"]["id"]), name, message.get("text") or message.get("caption") or "", locale=person.get("language_code"))
        files = message.get("document") or (message.get("photo") or [None])[-1]
        if files:
            chat.attachments.append(self.fetch_file(tenant, files))
        if not chat.text and not chat.attachments:
            inbound.status = InboundStatus.IGNORED
            inbound.error = "nothing the desk can read (sticker, poll, ...)"
            return
        routing.route_instant(tenant, self, inbound, chat)

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
