"""Tenants (countries): their configuration files, resolution from the URL, and the home pages."""
