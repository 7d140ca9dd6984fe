"""Signals other parts of the portal listen to.

- `tenant_settings_changed(app, tenant=, created=)`: a tenant was created or its settings changed
  (`sync_tenants` from tenant.toml, a tenant administrator on the settings page, or a deployed
  version reported through the API, page or CLI).
  Sent inside the change's transaction, before it commits: subscribers bring what they derive from
  the tenant's settings up to date in the same transaction (the knowledge base rebuilds its search
  documents, which hold the country's values).
"""
from flask.signals import Namespace

_signals = Namespace()

tenant_settings_changed = _signals.signal("tenancy.tenant-settings-changed")
