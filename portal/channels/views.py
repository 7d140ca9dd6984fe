"""Webhooks of the instant channels, and the inbox that tenant administrators watch."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect as sa_inspect

from portal.auth.loaders import require
from portal.auth.permissions import Permission
from portal.channels import services
from portal.channels.base import get_channel
from portal.channels.models import InboundMessage, InboundStatus, OutboundStatus
from portal.core.db import db, tenant_scope
from portal.core.errors import error_response
from portal.core.security import keeps_raw_body
from portal.extensions import csrf
from portal.tenancy.models import Tenant

bp = Blueprint("channels", __name__, template_folder="templates")

STATUS_LABELS = {
    InboundStatus.QUARANTINED: _l("Quarantined"),
    InboundStatus.RECEIVED: _l("Waiting"),
    InboundStatus.PROCESSED: _l("Processed"),
    InboundStatus.IGNORED: _l("Ignored"),
}


OUTBOUND_LABELS = {
    OutboundStatus.PENDING: _l("Waiting to be sent"),
    OutboundStatus.SENDING: _l("Sending"),
    OutboundStatus.SENT: _l("Sent"),
    OutboundStatus.DELIVERED: _l("Delivered"),
    OutboundStatus.READ: _l("Read"),
    OutboundStatus.FAILED: _l("Not delivered"),
    "expired": _l("Expired"),
}


def register(app: Flask) -> None:
    from portal.channels import outgoing  # noqa: F401  (agent replies into the outbox)

    app.register_blueprint(bp)

    @app.context_processor
    def _delivery_helpers():
        # Used by the ticket page (channels/_delivery.html): delivery status next to each reply.
        return {"channel_deliveries": _deliveries, "delivery_label": _delivery_label, "whatsapp_window_notice": _window_notice}


def _deliveries(ticket) -> dict:
    return services.deliveries_for_ticket(g.tenant, ticket.id) if g.get("tenant") is not None else {}


def _delivery_label(outbound) -> str:
    label = str(OUTBOUND_LABELS.get(outbound.status, outbound.status))
    return _("%(status)s by %(channel)s", status=label, channel=outbound.channel) if outbound.channel else label


def _window_notice(ticket) -> str | None:
    from portal.channels.outgoing import reply_route
    from portal.channels.whatsapp import window_open

    tenant = g.get("tenant")
    if tenant is None:
        return None
    route = reply_route(tenant, ticket)
    if route is None or route[0] != "whatsapp" or window_open(tenant, route[1]):
        return None
    template = get_channel("whatsapp").config(tenant).reply_template
    return _("The requester last wrote on WhatsApp more than 24 hours ago: WhatsApp only lets your reply go inside the approved template “%(template)s”.", template=template)


def _receive(channel_name: str):
    """Verify, store every event raw, answer at once; processing runs after the response is sent."""
    tenant = g.tenant
    channel = get_channel(channel_name)
    if not channel.verify_webhook(tenant, request):
        return error_response(403)
    stored = []
    for event in channel.split_webhook(tenant, request.get_data(cache=True)):
        inbound, created = services.store_inbound(tenant, channel_name, event.provider_id, event.raw, kind=event.kind, sender=event.sender, summary=event.summary)
        if created:
            stored.append(sa_inspect(inbound).identity[0])  # the id without reading the committed row back
    response = current_app.response_class("", status=200)
    if stored:
        app, tenant_id = current_app._get_current_object(), tenant.id
        base_url = request.host_url
        response.call_on_close(lambda: _process_later(app, tenant_id, stored, base_url))
    return response


def _process_later(app: Flask, tenant_id: int, inbound_ids: list[int], base_url: str) -> None:
    # Anything left unprocessed here (a crash) stays `received` and the worker takes it later.
    # The webhook's own address stays known, so replies carry full links (url_for(..., _external=True)).
    with app.test_request_context("/", base_url=base_url):
        tenant = db.session.get(Tenant, tenant_id)
        with tenant_scope(db.session, tenant_id):
            for inbound_id in inbound_ids:
                inbound = db.session.get(InboundMessage, inbound_id)
                if inbound is not None and inbound.status == InboundStatus.RECEIVED:
                    services.process_inbound(tenant, inbound)


@bp.get("/<tenant>/channels/whatsapp")
def whatsapp_handshake():
    challenge = get_channel("whatsapp").verify_subscription(g.tenant, request.args)
    if challenge is None:
        return error_response(403)
    return current_app.response_class(challenge, mimetype="text/plain")


@bp.post("/<tenant>/channels/whatsapp")
@csrf.exempt  # authenticated by the X-Hub-Signature-256 signature, not by a session
@keeps_raw_body
def whatsapp_webhook():
    return _receive("whatsapp")


@bp.post("/<tenant>/channels/telegram")
@csrf.exempt  # authenticated by the secret-token header, not by a session
@keeps_raw_body
def telegram_webhook():
    return _receive("telegram")


@bp.get("/expert/delivery")
@require(Permission.PLATFORM_OPERATE)
def delivery():
    """For platform administrators: whether mail and replies go out on every server, and what did not."""
    return render_template("channels/delivery.html", report=services.delivery_report(50), labels=OUTBOUND_LABELS,
                           inbound_labels=STATUS_LABELS, stalled_minutes=int(services.STALLED_AFTER.total_seconds() // 60))


@bp.get("/<tenant>/channels/inbox")
@require(Permission.TENANT_MANAGE)
def inbox():
    status = request.args.get("status", InboundStatus.QUARANTINED)
    if status not in (*STATUS_LABELS, "all"):
        status = InboundStatus.QUARANTINED
    rows = services.list_inbound(g.tenant, status=None if status == "all" else status)
    return render_template("channels/inbox.html", rows=rows, status=status, labels=STATUS_LABELS)


@bp.get("/<tenant>/channels/inbox/<int:inbound_id>")
@require(Permission.TENANT_MANAGE)
def inbound_detail(inbound_id: int):
    inbound = db.session.get(InboundMessage, inbound_id)
    if inbound is None:
        return error_response(404)
    raw = inbound.raw[:20000].decode("utf-8", "replace")
    return render_template("channels/inbound.html", inbound=inbound, raw=raw, labels=STATUS_LABELS)


@bp.post("/<tenant>/channels/inbox/<int:inbound_id>/reprocess")
@require(Permission.TENANT_MANAGE)
def reprocess(inbound_id: int):
    inbound = services.reprocess_inbound(g.tenant, None, inbound_id)
    if inbound is None:
        return error_response(404)
    if inbound.status == InboundStatus.PROCESSED:
        flash(_("The message was processed."), "success")
    else:
        flash(_("The message is still not processed: %(error)s", error=inbound.error or STATUS_LABELS.get(inbound.status, inbound.status)), "error")
    return redirect(url_for("channels.inbound_detail", inbound_id=inbound_id))
