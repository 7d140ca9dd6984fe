"""Version tokens: how every process of every server learns, without a database query, that data changed.

A token is a random string kept under a name ("tenants", "kb", "kb:3") in a place all processes
share. Models say which names their rows belong to (`watch`); after a commit that inserted, changed
or deleted such rows, the session gives those names new tokens. A process that keeps something
read from the database (a tenant row, a rendered page) keeps the tokens it read before the
database, and trusts its copy only while they are unchanged.

Where the tokens are kept:
- Redis, when REDIS_URL is set (several servers share it): one MGET per read;
- otherwise, on the embedded SQLite database (one machine by nature), small files in the
  instance folder, next to the database;
- otherwise (PostgreSQL without Redis: servers may be many, with nowhere shared to keep tokens),
  nowhere: `current` returns None and callers read the database as before.

Tokens are random, never counters, so a token store that forgets (Redis restarted empty, files
removed) gives new tokens. A store brought back from an old snapshot could return an old token,
and writes made outside the application (SQL by hand) give no new token: callers therefore also
let their copies age (`MAX_AGE`), counted from the oldest read a copy was built on. A store that
cannot answer is left alone for a few seconds (`RETRY_AFTER`) while everything reads the database.
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable

from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# Seconds a store that failed is left alone before it is asked again.
RETRY_AFTER = 5.0
# Seconds a copy validated by tokens is trusted at most, for changes made outside the application.
MAX_AGE = 60.0

_watched: dict[type, Callable[[Any], Iterable[str]]] = {}


def watch(model: type, names: Callable[[Any], Iterable[str]]) -> None:
    """Give the names `names(row)` new tokens after every commit that inserts, changes or deletes a `model` row."""
    _watched[model] = names


def current(*names: str) -> tuple[str, ...] | None:
    """The tokens of `names` now, or None when this deployment has nowhere shared to keep them.

    Within a request, the first token read of each name is also noted (`seen`): what the request
    showed was read after them, so a copy of it stays right while they are unchanged.
    """
    store = current_app.extensions.get("versions")
    if store is None:
        return None
    tokens = read(store, names)
    if has_request_context():
        if tokens is None:
            g.versions_incomplete = True  # part of the request read the database unvouched
            return None
        if "versions_seen" not in g:
            g.versions_seen, g.versions_read_at = {}, time.monotonic()
        for name, token in zip(names, tokens):
            g.versions_seen.setdefault(name, token)
    return tokens


def kept(slot: str, key: Hashable, names: tuple[str, ...], load: Callable[[], Any], limit: int = 512) -> Any:
    """`load()`, kept by this process under `key` while the tokens of `names` are unchanged (and for
    MAX_AGE at most); without a token store, `load()` every time. None is never kept: anyone can
    ask for any number of things that do not exist. Keep only values no caller changes."""
    tokens = current(*names)
    if tokens is None:
        return load()
    known: dict = current_app.extensions.setdefault(f"versions_kept_{slot}", {})
    entry = known.get(key)
    if entry is not None and entry[0] == tokens and fresh(entry[1]):
        built_on(entry[1])
        return entry[2]
    read_at = time.monotonic()
    value = load()
    if value is None:
        known.pop(key, None)
    else:
        if len(known) >= limit:
            known.clear()
        known[key] = (tokens, read_at, value)
    return value


def built_on(read_at: float) -> None:
    """Note that this request used a copy read at `read_at`: what it makes ages from then."""
    if has_request_context() and "versions_read_at" in g:
        g.versions_read_at = min(g.versions_read_at, read_at)


def seen() -> tuple[dict[str, str], float] | None:
    """The tokens this request read, by name (see `current`), and when it first read one (or built
    on an older copy: `built_on`); None if it read none, or could not read them all."""
    if not g.get("versions_seen") or g.get("versions_incomplete"):
        return None
    return dict(g.versions_seen), g.versions_read_at


def renew(*names: str) -> None:
    """Give `names` new tokens now (the session does it after commits; this is for other writers)."""
    store = current_app.extensions.get("versions") if has_app_context() else None
    if store is not None and names:
        try:
            store.renew(names)
        except Exception:  # noqa: BLE001  (the commit is done; copies then age out within MAX_AGE)
            logger.exception("version tokens could not be renewed for %s", ", ".join(names))


def read(store: Any, names: Iterable[str]) -> tuple[str, ...] | None:
    """The store's tokens of `names`, or None when it cannot answer (Redis down): read the database then."""
    if store.down_until > time.monotonic():
        return None
    try:
        return store.read(names)
    except Exception:  # noqa: BLE001
        store.down_until = time.monotonic() + RETRY_AFTER
        logger.warning("version tokens could not be read; reading the database for %s s", RETRY_AFTER, exc_info=True)
        return None


class RedisTokens:
    down_until = 0.0

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix

    def read(self, names: Iterable[str]) -> tuple[str, ...]:
        keys = [self.prefix + name for name in names]
        values = self.client.mget(keys)
        tokens = []
        for key, value in zip(keys, values):
            if value is None:
                # Never set, or forgotten: choose one (another process may choose first).
                self.client.set(key, secrets.token_hex(8), nx=True)
                value = self.client.get(key)
            tokens.append(value.decode() if isinstance(value, bytes) else str(value))
        return tuple(tokens)

    def renew(self, names: Iterable[str]) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.set(self.prefix + name, secrets.token_hex(8))
            pipe.execute()


class FileTokens:
    """One small file per name; written whole to a temporary file, then renamed over the old one."""

    down_until = 0.0

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths: dict[str, str] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> str:
        path = self.paths.get(name)
        if path is None:
            path = self.paths[name] = str(self.folder / name.replace(":", "-").replace("/", "_"))
        return path

    def read(self, names: Iterable[str]) -> tuple[str, ...]:
        return tuple(self._read(self._path(name)) for name in names)

    def _read(self, path: str) -> str:
        for _ in range(2):
            try:
                # os-level calls: this runs on every page view, and a buffered text file costs more.
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                self._write(path)
                continue
            try:
                token = os.read(fd, 64)
            finally:
                os.close(fd)
            if token:
                return token.decode("ascii")
            self._write(path)
        raise OSError(f"cannot keep version tokens in {self.folder}")

    def renew(self, names: Iterable[str]) -> None:
        for name in names:
            self._write(self._path(name))

    @staticmethod
    def _write(path: str) -> None:
        folder, name = os.path.split(path)
        temporary = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        with open(temporary, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(8))
        os.replace(temporary, path)


class LocalTokens:
    """For a database in memory, which only this process sees."""

    down_until = 0.0

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    def read(self, names: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.tokens.setdefault(name, secrets.token_hex(8)) for name in names)

    def renew(self, names: Iterable[str]) -> None:
        for name in names:
            self.tokens[name] = secrets.token_hex(8)


def init_app(app: Flask) -> None:
    redis_url = app.config.get("REDIS_URL")
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    store: Any = None
    if redis_url:
        store = RedisTokens(redis_url, app.config.get("VERSION_TOKENS_PREFIX", "crvs:version:"))
    elif url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            store = LocalTokens()
        else:
            # Beside the database file: whoever opens that database shares its tokens.
            store = FileTokens(Path(database).resolve().parent / f"{Path(database).name}.versions")
    if store is not None:
        app.extensions["versions"] = store


def fresh(read_at: float) -> bool:
    """Whether a copy read at `read_at` (time.monotonic) is still young enough to trust with its tokens."""
    return time.monotonic() - read_at < MAX_AGE


# -- the session side: which names a commit changed ----------------------------------------------


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, flush_context) -> None:
    if not _watched:
        return
    changed = session.info.setdefault("versions_changed", set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        names = _watched.get(type(obj))
        if names is not None:
            changed.update(names(obj))


@event.listens_for(Session, "after_commit")
def _renew_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the changes are not committed yet, the outer commit renews
    changed = session.info.pop("versions_changed", None)
    if changed:
        renew(*sorted(changed))


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop("versions_changed", None)
