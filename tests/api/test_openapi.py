"""The published description covers the whole API: every route under `/api/v1` and `/<tenant>/api/v1`
is described, and nothing is described that the app does not serve."""
import re

from portal import DOMAINS
from portal.api.openapi import openapi_document

METHODS = {"get", "put", "post", "delete", "patch"}
API_PREFIX = re.compile(r"^(/<[^>]+>)?/api/v1(/|$)")


def _openapi_path(rule: str) -> str:
    """Flask's `/<tenant>/api/v1/tickets/<reference>` (or `<int:id>`) as OpenAPI's `/{tenant}/...`."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def _served(app) -> set[tuple[str, str]]:
    return {
        (method.lower(), _openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if API_PREFIX.match(rule.rule)
        for method in rule.methods
        if method.lower() in METHODS
    }


def _described(client) -> set[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").get_json()
    return {(method, path) for path, item in spec["paths"].items() for method in item if method in METHODS}


def test_every_api_route_is_described(app, client):
    missing = _served(app) - _described(client)
    assert not missing, "served under /api/v1 but missing from portal/<domain>/openapi.yaml: " + ", ".join(
        f"{m.upper()} {p}" for m, p in sorted(missing, key=lambda x: x[::-1])
    )


def test_nothing_is_described_that_is_not_served(app, client):
    stale = _described(client) - _served(app)
    assert not stale, "described but not served: " + ", ".join(f"{m.upper()} {p}" for m, p in sorted(stale, key=lambda x: x[::-1]))


def test_the_escalation_endpoints_are_part_of_the_description(client):
    described = _described(client)
    assert ("get", "/api/v1/escalations") in described
    assert ("post", "/{tenant}/api/v1/tickets/{reference}/escalate") in described
    assert ("put", "/{tenant}/api/v1/deployment") in described


def test_every_described_operation_has_a_unique_operation_id():
    spec = openapi_document(DOMAINS)
    ids = [item[m]["operationId"] for item in spec["paths"].values() for m in item if m in METHODS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_reference_in_the_description_resolves():
    spec = openapi_document(DOMAINS)
    refs = set(re.findall(r"'\$ref': '#/([^']+)'", repr(spec)))
    for ref in refs:
        node = spec
        for part in ref.split("/"):
            assert part in node, f"#/{ref} does not resolve"
            node = node[part]
