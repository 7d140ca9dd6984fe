"""Start-up settings read into the app, and a database that cannot serve: one line, never a traceback."""
import click
import pytest
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from portal.cli import report_unreachable_database
from portal.config import ConfigError, load_config
from tests.core.test_setup import run_cli


def test_l3_service_levels_and_proxies_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ESCALATION_L3_SLA_HOURS", "critical=12, low=960")
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    values = load_config(tmp_path)
    assert values["ESCALATION_L3_SLA_HOURS"] == {"critical": 12, "low": 960}  # the others keep their defaults
    assert values["TRUSTED_PROXIES"] == 2
    monkeypatch.setenv("ESCALATION_L3_SLA_HOURS", "critical=0")
    with pytest.raises(ConfigError, match="ESCALATION_L3_SLA_HOURS must be"):
        load_config(tmp_path)


def missing_database_url(database_url: str, tmp_path) -> str:
    """A URL of the suite's kind naming a database that is not there."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'never-upgraded.sqlite3'}"
    return url.set(database=f"{url.database}_missing").render_as_string(hide_password=False)


@pytest.mark.parametrize("command", [["db", "upgrade"], ["tenants", "sync"], ["tenants", "list"]])
def test_a_database_that_cannot_serve_is_one_line(database_url, tmp_path, command):
    url = missing_database_url(database_url, tmp_path)
    if command == ["db", "upgrade"] and url.startswith("sqlite"):
        pytest.skip("SQLite makes the missing file: db upgrade then works")

    result = run_cli(*command, PORTAL_INSTANCE_PATH=str(tmp_path), DATABASE_URL=url)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    line = result.stderr.strip()
    if url.startswith("sqlite"):
        assert line.startswith("configuration error: the database at sqlite:///") and "run 'flask --app wsgi db upgrade' first" in line
    else:
        assert line.startswith("configuration error: cannot connect to the database at postgresql")
        assert "does not exist" in line


def test_a_database_error_inside_a_command_is_not_hidden(app):
    @click.command("fails")
    @with_appcontext
    def fails():
        from portal.core.db import db

        db.session.execute(text("SELECT * FROM no_such_table"))

    report_unreachable_database(fails)
    app.cli.add_command(fails)

    result = app.test_cli_runner().invoke(args=["fails"])

    assert isinstance(result.exception, DBAPIError)  # raised as it was, traceback and all
    assert "no_such_table" in str(result.exception)
