"""`demo load` gives each country a few realistic tickets in its languages, once."""


def test_demo_load_creates_tickets_once(runner, client, auth):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "demo tickets in farajaland: 7 created" in first.output
    assert "demo tickets in kalondo: 3 created" in first.output
    again = runner.invoke(args=["demo", "load"])
    assert "demo tickets in farajaland: 0 created" in again.output
    auth.login("l1@kalondo.demo", password="demo-password", tenant="kalondo")
    queue = client.get("/kalondo/tickets/queue").get_data(as_text=True)
    assert "Jumeaux signalés comme doublon" in queue and "KAL-000003" in queue
