"""Level 3's own figures on the central insights page: per country, the escalations made in the
period, how many an expert answered and how fast, the target kept, those sent back to Level 2, and
what is with the experts now."""
from __future__ import annotations

import csv
import datetime as dt
import io

from tests.insights.test_dashboard import rows_of


def _period() -> str:
    today = dt.datetime.now(dt.timezone.utc).date()
    return f"?start={today - dt.timedelta(days=6)}&end={today}"


def test_expert_support_per_country(client, auth, staff, to_l3):
    _, answered_step = to_l3(subject="Outbox stuck after timeout")
    _, sent_back_step = to_l3(subject="SMS gateway refuses every message")
    to_l3("kalondo", subject="Synchronisation bloquée")
    auth.login(staff["expert"], tenant=None)
    assert client.post(f"/expert/escalations/{answered_step}/reply", data={"body": "Clear the outbox cache; a fix is coming."}).status_code == 302
    assert client.post(f"/expert/escalations/{sent_back_step}/return", data={"down-reason": "Your SMS gateway key expired."}).status_code == 302

    page = client.get(f"/expert/insights{_period()}")
    assert page.status_code == 200
    rows = {row[0]: row for row in rows_of(page.get_data(as_text=True), "expert_support")}
    farajaland, kalondo = rows["Farajaland"], rows["République du Kalondo"]
    assert farajaland[1:3] == ["2", "0"]  # escalated in the period, and in the one before
    assert farajaland[6:] == ["1", "1"]  # one sent back to Level 2, one still with the experts
    assert farajaland[3] == "50.0%"  # sending back with a reason is not an answer to the country
    assert farajaland[5] == "100.0%"  # the one sent back ended in time; the open one is still running
    assert farajaland[4] == "0.0"  # answered within the same minute
    assert kalondo[1:] == ["1", "0", "0.0%", "–", "–", "0", "1"]

    exported = client.get(f"/expert/insights/export/expert_support.csv{_period()}")
    assert exported.status_code == 200
    table = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][:2] == ["Country", "Escalated to Level 3"]
    assert ["République du Kalondo", "1", "0"] == [cell for cell in table if cell[0] == "République du Kalondo"][0][:3]


def test_country_staff_never_see_the_central_figures(client, auth, staff):
    auth.login(staff["far_admin"])
    assert client.get("/expert/insights").status_code == 403
    assert "expert_support" not in client.get("/farajaland/insights/").get_data(as_text=True)
