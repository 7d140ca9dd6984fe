"""The API keeps its published contract: schemathesis generates calls from /api/v1/openapi.json and
sends them to a live server; no call may give a 5xx or a response that the description does not allow."""
import json
import os
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from portal import DOMAINS
from portal.api.openapi import openapi_document
from portal.tenancy.services import get_tenant

# Callers with different rights: an L1 agent of Farajaland (tenant APIs), and the central expert.
CALLERS = ("l1@farajaland.demo", "expert@crvs.demo")
# Operations that only a tenant administrator may call also get one, so that valid calls succeed too.
ADMIN_CALLER = "admin@farajaland.demo"
ADMIN_OPERATIONS = {"reportDeployment"}
METHODS = ("get", "put", "post", "delete", "patch")
OPERATIONS = [(method, path) for path, item in openapi_document(DOMAINS)["paths"].items() for method in item if method in METHODS]
# Not checked: that every schema-valid request succeeds. Some valid-looking values are refused with a
# clear 400 because they depend on the country's data (a language it does not offer, say).
EXCLUDED_CHECKS = [positive_data_acceptance]
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "30"))
# The same cases on every run, so a red CI always means a change broke something; explore new cases
# with API_FUZZ_RANDOM=1 (and more examples) before a release, and keep what they find as tests.
DERANDOMIZE = os.environ.get("API_FUZZ_RANDOM") != "1"


@pytest.fixture(scope="session")
def api_schema(live_server):
    schema = schemathesis.openapi.from_url(live_server("/api/v1/openapi.json"))
    schema.config.update(base_url=live_server.url)
    # Like most web APIs, ours ignores query parameters it does not know; an extra one is not wrong data.
    schema.config.generation.update(allow_extra_parameters=False)
    # Every call carries a valid token (below): a "wrong" case that only dropped the Authorization
    # header would be sent with it again, and then rightly accepted. Wrong tokens are tested per domain.
    schema.config.generation.update(with_security_parameters=False)
    return schema


@pytest.fixture(scope="session")
def bearer(live_server):
    return {email: live_server.api_token(email) for email in CALLERS + (ADMIN_CALLER,)}


@pytest.fixture
def deployed_version_kept(live_server, bearer):
    """Give Farajaland back the version it ran before the test (the fuzzer reports random ones)."""
    with live_server.app.app_context():
        before = get_tenant("farajaland").opencrvs_version
    yield
    request = urllib.request.Request(
        live_server("/farajaland/api/v1/deployment"), method="PUT", data=json.dumps({"version": before}).encode(),
        headers={"Authorization": f"Bearer {bearer[ADMIN_CALLER]}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["version"] == before


@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in OPERATIONS])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.usefixtures("deployed_version_kept")
def test_operation_conforms_to_its_description(api_schema, bearer, method, path, mode):
    operation = api_schema[path][method]
    if mode is GenerationMode.NEGATIVE and not (operation.path_parameters or operation.query or operation.body):
        pytest.skip("nothing to send wrong: the operation takes no parameters and no body")
    callers = CALLERS + ((ADMIN_CALLER,) if operation.definition.raw.get("operationId") in ADMIN_OPERATIONS else ())
    tokens = [bearer[email] for email in callers]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE, suppress_health_check=list(HealthCheck))
    def run(case):
        for token in tokens:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=EXCLUDED_CHECKS)

    run()


def test_the_served_description_is_the_assembled_one_openapi_3_1(live_server):
    with urllib.request.urlopen(live_server("/api/v1/openapi.json")) as response:
        spec = json.load(response)
    assert spec == openapi_document(DOMAINS)
    assert spec["openapi"].startswith("3.1")
    bearer = spec["components"]["securitySchemes"]["bearer"]
    assert bearer["type"] == "http" and bearer["scheme"] == "bearer"
    assert "Error" in spec["components"]["schemas"]
    assert "/api/v1/me" in spec["paths"]
    for path, item in spec["paths"].items():
        for method in set(item) & set(METHODS):
            assert item[method].get("responses"), f"{method.upper()} {path} describes no response"
            assert item[method].get("operationId"), f"{method.upper()} {path} has no operationId"
