"""Signals other parts of the portal listen to (notifications now, channel outboxes later).

Sent after the change is committed, with keyword arguments:
- `message_posted(app, tenant=, ticket=, message=)`: a public reply by staff, or a message posted by
  the system that the requester should read (a status change they should know about). Sent just
  BEFORE the commit, inside the transaction: subscribers add rows (the channel outbox) that commit or
  roll back with the message; they must not send anything themselves.
- `ticket_opened(app, tenant=, ticket=)`.
- `sla_breached(app, tenant=, ticket=, kind=, escalated=)`: kind is "first_response" or "resolution";
  `escalated` when the miss handed the ticket to Level 2 (`sla.on_breach = "escalate"`).
- `colleague_mentioned(app, tenant=, ticket=, message=, user=)`.
- `ticket_assigned(app, tenant=, ticket=, actor=, assignee=, reason=)`: a staff member gave the ticket to
  a colleague (not to themselves, and not the automatic share-out of new tickets); `reason` when the
  ticket came with one (sent back from a higher level), else None.
- `tickets_assigned(app, tenant=, tickets=, actor=, assignee=)`: several tickets given to a colleague
  at once (a bulk change), told once instead of `ticket_assigned` per ticket.
- `requester_replied(app, tenant=, ticket=, message=, reopened=)`: the requester wrote on a ticket a
  staff member holds (`ticket.assignee`, never the requester themselves); `reopened` when their
  message reopened a resolved ticket. Sent inside the transaction, like `message_posted`: the notice
  to the assignee commits with the message.
"""
from flask.signals import Namespace

_signals = Namespace()

message_posted = _signals.signal("tickets.message-posted")
ticket_opened = _signals.signal("tickets.ticket-opened")
sla_breached = _signals.signal("tickets.sla-breached")
colleague_mentioned = _signals.signal("tickets.colleague-mentioned")
ticket_assigned = _signals.signal("tickets.ticket-assigned")
tickets_assigned = _signals.signal("tickets.tickets-assigned")
requester_replied = _signals.signal("tickets.requester-replied")
