"""Signals other parts of the portal listen to.

- `tenant_synced(app, tenant=, created=)`: `sync_tenants` created a tenant or changed its row
  (settings, languages). Sent inside the sync's transaction, before it commits: subscribers bring
  what they derive from the tenant's settings up to date in the same transaction (the knowledge
  base rebuilds its search documents, which hold the country's values).
"""
from flask.signals import Namespace

_signals = Namespace()

tenant_synced = _signals.signal("tenancy.tenant-synced")
