"""gunicorn's settings for the portal (gunicorn reads ./gunicorn.conf.py when started from here).

The application is imported once, in the master process, before it forks its workers
(`preload_app`), and the assistant's sentence encoder reads its weights there too: every worker
then shares one copy of them (about 120 MB) instead of reading its own. The master also builds the
assistant's indexes of every country before the fork, so a worker's first questions are answered at
once and with the sentence vectors. What a worker must not share is opened after the fork: its
database connections (the pool inherited from the master is dropped without closing the master's)
and its threads (a worker's first request starts the assistant's warm-up, which finds the indexes
current, or builds what the master left). `python benchmarks/server_memory.py` measures the
difference. Command-line options (`-w 4 -b 0.0.0.0:8000`) still apply on top of these.
"""
preload_app = True


def _flask_app(server):
    """The Flask application gunicorn serves (None for anything else)."""
    app = server.app.wsgi()
    return app if hasattr(app, "config") and hasattr(app, "extensions") else None


def when_ready(server):
    """In the master, the application imported: read the encoder's weights and build the assistant's
    indexes before the fork. Without this, each worker built them at its first request: that request
    waited seconds, and the next ones were answered from words alone until the vectors were made."""
    app = _flask_app(server)
    if app is None:
        return
    if server.num_workers > 1 and str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        server.log.warning("rate limits are counted in each worker's memory (REDIS_URL is not set): with %d workers "
                           "a client gets %d times each limit; set REDIS_URL to share them", server.num_workers,
                           server.num_workers)
    # The assistant sets ASSISTANT_SEMANTIC when it is installed; False: words only, no encoder.
    if app.config.get("ASSISTANT_SEMANTIC") and app.config.get("ASSISTANT_ANSWERER", "retrieval") == "retrieval":
        from portal.assistant.semantic import default_encoder

        try:
            default_encoder().load()
        except Exception:  # each worker will try again on its own: slower, not broken
            server.log.exception("the assistant's encoder could not be loaded before forking")
    if app.config.get("ASSISTANT_WARM_UP"):
        from portal.assistant.engine import SYNC_REBUILD_LIMIT
        from portal.assistant.services import warm

        # Built here with their vectors, in this thread (a fork keeps no thread); a bigger index
        # would hold the workers back for minutes, so the workers build it as before.
        warm(app, largest=SYNC_REBUILD_LIMIT)
        _drop_connections(app, close=True)  # the master serves no request


def post_fork(server, worker):
    """In each new worker: its own database connections, never the master's."""
    _drop_connections(_flask_app(server), close=False)


def _drop_connections(app, close):
    """Empty the application's connection pools; `close=False` leaves the connections open for the
    process that owns them (a worker drops the pool it inherited without closing the master's)."""
    database = app.extensions.get("sqlalchemy") if app is not None else None
    if database is None:
        return
    with app.app_context():
        for engine in database.engines.values():
            engine.dispose(close=close)
