"""The indexes are built in the background when a process serves its first page, so the first question
does not wait for them; an article that changes is picked up without a restart."""
from __future__ import annotations

import os

from portal.assistant import services


def test_first_page_builds_the_indexes_in_the_background(make_app):
    app = make_app(ASSISTANT_SOURCE="folder", ASSISTANT_WARM_UP=True)
    client = app.test_client()
    assert client.get("/farajaland/").status_code == 200
    warm_up = app.extensions["assistant_warm_up"]
    warm_up.join(timeout=60)
    assert not warm_up.is_alive()
    with app.app_context():
        cache = services.get_answerer().cache
        assert {("farajaland", "en"), ("farajaland", "fr")} <= set(cache._entries)
    client.get("/farajaland/kb/")
    assert app.extensions["assistant_warm_up"] is warm_up  # once per process
    data = client.post("/farajaland/api/v1/assistant", json={"message": "forgot my password"}).get_json()
    assert data["articles"][0]["slug"] == "forgotten-password"


def test_the_masters_warm_up_leaves_out_what_is_too_big_to_hold_the_workers_back(make_app):
    app = make_app(ASSISTANT_SOURCE="folder")
    with app.app_context():
        services.get_answerer().cache.clear()  # the process's cache: other tests may have filled it
    services.warm(app, largest=1)  # as gunicorn's master does (with SYNC_REBUILD_LIMIT): here every locale is bigger
    with app.app_context():
        assert services.get_answerer().cache._entries == {}
    services.warm(app, largest=10_000)
    with app.app_context():
        cache = services.get_answerer().cache
        assert {("farajaland", "en"), ("farajaland", "fr")} <= set(cache._entries)
        assert cache._entries[("farajaland", "fr")].semantic is not None  # vectors made before it returned
    data = app.test_client().post("/farajaland/api/v1/assistant", json={"message": "forgot my password"}).get_json()
    assert data["articles"][0]["slug"] == "forgotten-password"


def test_without_warm_up_the_first_question_builds_the_index(make_app):
    app = make_app(ASSISTANT_SOURCE="folder")  # tests start no thread unless asked
    client = app.test_client()
    client.get("/farajaland/")
    assert "assistant_warm_up" not in app.extensions
    data = client.post("/farajaland/api/v1/assistant", json={"message": "forgot my password"}).get_json()
    assert data["articles"][0]["slug"] == "forgotten-password"


def test_a_changed_article_is_answered_without_a_restart(make_app, tmp_path):
    library = tmp_path / "library"
    (library / "kb" / "en").mkdir(parents=True)
    article = library / "kb" / "en" / "scanner-setup.md"

    def write(body):
        article.write_text("---\nslug: scanner-setup\ntitle: Setting up the document scanner\nlocale: en\n"
                           "category: other\ntags: [scanner]\naudience: public\nstatus: published\n---\n\n"
                           + body + "\n", encoding="utf-8")

    write("Plug the scanner into the laptop and install the scanner driver from the USB stick.")
    app = make_app(ASSISTANT_SOURCE="folder", LIBRARY_DIR=str(library))
    client = app.test_client()

    def ask():
        return client.post("/farajaland/api/v1/assistant", json={"message": "how to install the scanner",
                                                                  "lang": "en"}).get_json()

    assert "USB stick" in ask()["answer"]
    write("Plug the scanner into the laptop and install the scanner driver from the ministry website.")
    os.utime(article, ns=(article.stat().st_atime_ns, article.stat().st_mtime_ns + 10**9))
    assert "ministry website" in ask()["answer"]
