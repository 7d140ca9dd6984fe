"""A reported version becomes part of the country's settings, so only a version the settings accept is
taken: anything else is a 422 and the country keeps working (found by schemathesis: "2" broke it)."""
import pytest


@pytest.mark.parametrize("version", ["2", "1.9rc1", "1!1.9.0", "1.9.0.post1", "v1"])
def test_a_version_the_settings_would_refuse_is_refused_and_the_country_keeps_working(client, auth, staff, token_for, version):
    token = token_for(staff["far_admin"])
    response = client.put("/farajaland/api/v1/deployment", json={"version": version}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["version"]
    auth.login(staff["far_admin"])
    page = client.get("/farajaland/deployment")
    assert page.status_code == 200 and "1.8.1" in page.get_data(as_text=True)
    assert client.get("/farajaland/").status_code == 200


@pytest.mark.parametrize("version, stored", [("1.9", "1.9"), ("v1.9.1", "1.9.1"), ("1.10.0-rc.1", "1.10.0-rc.1")])
def test_versions_in_the_settings_form_are_taken(client, staff, token_for, version, stored):
    token = token_for(staff["far_admin"])
    response = client.put("/farajaland/api/v1/deployment", json={"version": version}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json() == {"tenant": "farajaland", "version": stored, "changed": True}
    assert client.get("/farajaland/", headers={"Accept-Language": "en"}).status_code == 200
