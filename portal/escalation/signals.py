"""Signals of the escalation workflow, sent after the change is committed.

- `ticket_escalated(app, tenant=, ticket=, step=)`
- `ticket_deescalated(app, tenant=, ticket=, step=, actor=)`: sent one level down, with `step.reason`.
- `expert_replied(app, tenant=, ticket=, message=)`: an L3 answer for the tenant's L2 team.
- `escalation_handed(app, tenant=, ticket=, step=, actor=, owner=)`: an expert (`actor`) made a
  colleague (`owner`) the owner of the escalation `step`.
- `rollout_applied(app, tenant=, problem_ids=, fixed=)`: a tenant reached the fix of these problems;
  `fixed` lists the (ticket, problem) pairs whose ticket the roll-out resolved just now.
- `release_recorded(app, release=)`
- `country_wrote(app, tenant=, ticket=, message=, author=, step=)`: the country's staff (`author`) wrote
  a note or a reply on a ticket that is with the central team (`step`, its escalation to L3). Sent
  INSIDE the message's transaction, before it is written: subscribers add rows (the experts' mail)
  that commit or roll back with it, and send nothing themselves.
"""
from flask.signals import Namespace

_signals = Namespace()

ticket_escalated = _signals.signal("escalation.ticket-escalated")
ticket_deescalated = _signals.signal("escalation.ticket-deescalated")
expert_replied = _signals.signal("escalation.expert-replied")
escalation_handed = _signals.signal("escalation.escalation-handed")
rollout_applied = _signals.signal("escalation.rollout-applied")
fix_awaiting_release = _signals.signal("escalation.fix-awaiting-release")
release_recorded = _signals.signal("escalation.release-recorded")
country_wrote = _signals.signal("escalation.country-wrote")
