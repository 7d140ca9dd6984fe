"""Start-up: migrations equal the models on both databases, and bad settings stop with one line."""
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.core.db import db
from tests.conftest import make_test_config

REPO = Path(__file__).resolve().parents[2]


def test_migrations_create_exactly_the_models_schema_and_go_back_down(empty_database, tmp_path):
    app = create_app(make_test_config(empty_database, tmp_path))
    portal_log = logging.getLogger("portal.channels.base")
    with app.app_context():
        upgrade()
        # Alembic configures its logging from alembic.ini: the portal's loggers must keep working
        # (they were silenced for the rest of the process, so a webhook refused said nothing).
        assert not portal_log.disabled
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, **app.extensions["migrate"].configure_args})
            diff = compare_metadata(context, db.metadata)
        assert diff == []
        downgrade(revision="base")
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert len(compare_metadata(context, db.metadata)) >= len(db.metadata.tables)
        db.engine.dispose()


def run_cli(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "PORTAL_ENV", "REDIS_URL")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=REPO, env=full_env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "configuration error: DATABASE_URL uses 'mysql', but only sqlite and postgresql are supported"),
        ({"DATABASE_URL": "::not a url::"}, "configuration error: DATABASE_URL is not a valid database URL"),
        ({"PORTAL_ENV": "production", "DATABASE_URL": "sqlite:///x.db"}, "configuration error: SECRET_KEY must be set when PORTAL_ENV=production"),
        ({"PORTAL_ENV": "production", "SECRET_KEY": "k" * 40}, "configuration error: SERVER_NAME or TRUSTED_HOSTS must be set when PORTAL_ENV=production"),
        ({"SECRET_KEY": "short"}, "configuration error: SECRET_KEY is too short"),
        ({"REDIS_URL": "localhost:6379"}, "configuration error: REDIS_URL must start with redis://"),
        ({"ASSISTANT_SEMANTIC": "maybe"}, "configuration error: ASSISTANT_SEMANTIC must be true or false"),
        ({"JOBS_SLA_CHECK_SECONDS": "soon"}, "configuration error: JOBS_SLA_CHECK_SECONDS must be a whole number of seconds"),
        ({"JOBS_ROLLUP_SECONDS": "0"}, "configuration error: JOBS_ROLLUP_SECONDS must be a whole number of seconds"),
        ({"HTTPS": "ture"}, "configuration error: HTTPS must be true or false"),
        ({"MAIL_PORT": "smtp"}, "configuration error: MAIL_PORT must be a number"),
        ({"TRUSTED_PROXIES": "two"}, "configuration error: TRUSTED_PROXIES must be the number of reverse proxies in front"),
        ({"ESCALATION_L3_SLA_HOURS": "critical=soon"}, "configuration error: ESCALATION_L3_SLA_HOURS must be severity=hours pairs"),
        ({"ESCALATION_L3_SLA_HOURS": "urgent=4"}, "configuration error: ESCALATION_L3_SLA_HOURS must be severity=hours pairs"),
    ],
)
def test_a_wrong_setting_stops_start_up_with_one_clear_line(env, message, tmp_path):
    result = run_cli("tenants", "list", PORTAL_INSTANCE_PATH=str(tmp_path), **env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message), result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
