"""Default subscribers: tell the country's Level 2 team when the central team answers."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.core.mail import send_mail
from portal.escalation import signals
from portal.tickets.models import Tier


def _l2_people(tenant, ticket):
    from portal.tickets.services import default_group, group_members

    if ticket.assignee is not None:
        return [ticket.assignee]
    return group_members(tenant, default_group(tenant, Tier.L2.value))


@signals.expert_replied.connect
def email_l2(app, tenant, ticket, message, **_extra) -> None:
    try:
        link = url_for("escalation.ticket", tenant=tenant.slug, reference=ticket.reference, _external=True)
    except RuntimeError:
        link = ""
    for user in _l2_people(tenant, ticket):
        with force_locale(tenant.best_locale(user.locale)):
            subject = _("[%(reference)s] The central team answered", reference=ticket.reference)
            text = "\n\n".join(
                [_("The central team answered on %(reference)s (%(subject)s). You can relay the answer to the requester.", reference=ticket.reference, subject=ticket.subject), message.body, link]
            )
        try:
            send_mail(user.email, subject, text)
        except OSError:
            current_app.logger.exception("expert reply notice to %s failed", user.email)
