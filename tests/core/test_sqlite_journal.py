"""SQLite files run with a write-ahead log: a reader never waits for a writer, and a commit costs
one fsync of the log (every inbound channel message is a commit)."""
import sqlite3

import pytest
from sqlalchemy import text

from portal.core.db import db


def test_a_sqlite_file_uses_the_write_ahead_log_and_full_sync(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL: durable at commit


def test_a_reader_is_not_blocked_by_an_open_write_transaction(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        path = db.engine.url.database
        with db.engine.connect() as writer:
            writer.exec_driver_sql("CREATE TABLE IF NOT EXISTS wal_probe (x INTEGER)")
            writer.commit()
            writer.exec_driver_sql("INSERT INTO wal_probe VALUES (1)")  # open write transaction
            reader = sqlite3.connect(path, timeout=0.1)
            try:
                assert reader.execute("SELECT count(*) FROM wal_probe").fetchone() == (0,)
            finally:
                reader.close()
            writer.rollback()
            writer.exec_driver_sql("DROP TABLE wal_probe")
            writer.commit()


def test_sqlite_enforces_foreign_keys_as_postgresql_does(app):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        with db.engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE fk_parent (id INTEGER PRIMARY KEY)")
            connection.exec_driver_sql("CREATE TABLE fk_child (parent_id INTEGER REFERENCES fk_parent (id))")
            try:
                with pytest.raises(IntegrityError, match="FOREIGN KEY"):
                    connection.exec_driver_sql("INSERT INTO fk_child VALUES (42)")
            finally:
                connection.rollback()
                connection.exec_driver_sql("DROP TABLE fk_child")
                connection.exec_driver_sql("DROP TABLE fk_parent")
                connection.commit()
