"""Text that no database can store (NUL characters, lone surrogates) is a clear 400, not a 500."""


def test_nul_in_a_form_is_refused(client):
    response = client.post("/farajaland/login", data={"email": "a\x00@example.org", "password": "x"})
    assert response.status_code == 400
    assert "not allowed" in response.get_data(as_text=True)


def test_nul_in_json_is_refused(client):
    response = client.post("/farajaland/api/v1/assistant", json={"message": "code\x00"})
    assert response.status_code == 400
    assert "not allowed" in response.get_json()["error"]["message"]


def test_nul_in_a_query_is_refused(client):
    assert client.get("/farajaland/kb/search?q=pin%00").status_code == 400


def test_nul_in_the_second_value_of_a_repeated_field_is_refused_too(client):
    response = client.post("/farajaland/login", data="email=a%40example.org&email=b%00%40example.org&password=x",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert client.get("/farajaland/kb/search?q=pin&q=pin%00").status_code == 400
