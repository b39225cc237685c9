"""``regenzet db grant``: the application's role can append to the log and the audit chain but
cannot UPDATE, DELETE or TRUNCATE them, and the whole product still works under that role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from .test_cli import run

pytestmark = pytest.mark.postgres

PROTECTED = ["regenzet_events", "regenzet_snapshots", "audit_chain", "audit_checkpoints"]


@pytest.fixture
def roles(postgres_dsn: str, tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """(owner's environment, application role's environment) on a fresh schema."""
    schema = f"grant_{uuid.uuid4().hex[:8]}"
    role = f"regenzet_app_{uuid.uuid4().hex[:8]}"
    split = urlsplit(postgres_dsn)
    app_url = f"postgresql://{role}@{split.hostname}:{split.port or 5432}{split.path}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    base = {"REGENZET_DATA_DIR": str(tmp_path), "REGENZET_PG_SCHEMA": schema}
    try:
        yield (
            base | {"REGENZET_DATABASE_URL": postgres_dsn, "ROLE": role},
            base | {"REGENZET_DATABASE_URL": app_url},
        )
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_app_role_appends_but_cannot_rewrite_history(
    roles: tuple[dict[str, str], dict[str, str]],
) -> None:
    owner, app = roles
    role = owner.pop("ROLE")
    granted = run(["db", "grant", "--role", role], owner)
    assert granted.returncode == 0, granted.stderr
    assert f"{owner['REGENZET_PG_SCHEMA']}.regenzet_events: SELECT, INSERT only" in granted.stdout

    # Everything the product does, as the application's role.
    demo = run(["demo"], app)
    assert demo.returncode == 0, demo.stderr
    assert run(["projections", "rebuild", "workshop_board"], app).returncode == 0
    assert run(["audit", "checkpoint"], app).returncode == 0
    assert run(["audit", "verify"], app).returncode == 0

    refused = []
    with psycopg.connect(app["REGENZET_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            sql.SQL("SET search_path = {}").format(sql.Identifier(app["REGENZET_PG_SCHEMA"]))
        )
        for table in PROTECTED:
            name = sql.Identifier(table)
            for statement in (
                sql.SQL("UPDATE {} SET notification_id = notification_id").format(name)
                if table != "regenzet_snapshots"
                else sql.SQL("UPDATE {} SET topic = topic").format(name),
                sql.SQL("DELETE FROM {}").format(name),
                sql.SQL("TRUNCATE {}").format(name),
            ):
                try:
                    conn.execute(statement)
                except psycopg.errors.InsufficientPrivilege:
                    refused.append((table, statement.as_string(conn).split()[0]))
        (count,) = conn.execute("SELECT count(*) FROM regenzet_events").fetchone() or (0,)
    assert refused == [(t, verb) for t in PROTECTED for verb in ("UPDATE", "DELETE", "TRUNCATE")]
    assert count > 150
    assert run(["audit", "verify"], app).returncode == 0


def test_grant_names_a_missing_role(roles: tuple[dict[str, str], dict[str, str]]) -> None:
    owner, _ = roles
    owner.pop("ROLE")
    result = run(["db", "grant", "--role", "no_such_role_x"], owner)
    assert result.returncode != 0
    assert "no_such_role_x does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_grant_needs_postgres(tmp_path: Path) -> None:
    result = run(["db", "grant", "--role", "x"], {"REGENZET_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "REGENZET_DATABASE_URL" in result.stderr


def test_every_insert_into_the_log_is_serialised_even_without_the_recorder(
    roles: tuple[dict[str, str], dict[str, str]],
) -> None:
    """While one transaction holds the writers' lock, a raw INSERT by the app role (not through
    our recorder) waits for it: ids still commit in the order they were issued."""
    from regenzet.adapters.persistence import serial_insert_key

    owner, app = roles
    role = owner.pop("ROLE")
    assert run(["db", "grant", "--role", role], owner).returncode == 0
    schema = owner["REGENZET_PG_SCHEMA"]
    key = serial_insert_key(schema, "regenzet_events")
    with psycopg.connect(owner["REGENZET_DATABASE_URL"]) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        with psycopg.connect(app["REGENZET_DATABASE_URL"], autocommit=True) as writer:
            writer.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                writer.execute(
                    sql.SQL(
                        "INSERT INTO {} (originator_id, originator_version, topic, state)"
                        " VALUES (gen_random_uuid(), 1, 'raw:Insert', '\\x00')"
                    ).format(sql.Identifier(schema, "regenzet_events"))
                )
        holder.rollback()


def test_grant_refuses_a_role_that_owns_the_log(
    roles: tuple[dict[str, str], dict[str, str]],
) -> None:
    owner, app = roles
    role = owner.pop("ROLE")
    with psycopg.connect(owner["REGENZET_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                sql.Identifier(owner["REGENZET_PG_SCHEMA"]), sql.Identifier(role)
            )
        )
    assert run(["demo"], app).returncode == 0  # the app role creates (and owns) the log
    refused = run(["db", "grant", "--role", role], owner)
    assert refused.returncode != 0
    assert f"role {role} owns" in refused.stderr


def test_grant_creates_the_login_role_from_a_secret_and_keeps_it_in_sync(
    postgres_dsn: str, tmp_path: Path
) -> None:
    """What the deploy's setup task does: the role does not exist yet; its password comes from
    the app role's secret through an environment variable (any characters)."""
    schema = f"login_{uuid.uuid4().hex[:8]}"
    role = f"regenzet_app_{uuid.uuid4().hex[:8]}"
    owner = {
        "REGENZET_DATA_DIR": str(tmp_path),
        "REGENZET_PG_SCHEMA": schema,
        "REGENZET_DATABASE_URL": postgres_dsn,
        "APP_PASSWORD": "first:p@ss/wörd?",
    }

    def stored_password() -> str | None:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = %s", (role,)
            ).fetchone()
        assert row is not None, "the role was not created"
        assert row[0] is True, "the role cannot log in"
        return row[1]

    try:
        created = run(
            ["db", "grant", "--role", role, "--login-password-env", "APP_PASSWORD"], owner
        )
        assert created.returncode == 0, created.stderr
        assert f"role {role}: created (login)" in created.stdout
        first = stored_password()
        assert first is not None
        assert first.startswith("SCRAM-SHA-256$")

        rotated = run(
            ["db", "grant", "--role", role, "--login-password-env", "APP_PASSWORD"],
            owner | {"APP_PASSWORD": "second-password"},
        )
        assert rotated.returncode == 0, rotated.stderr
        assert f"role {role}: password set" in rotated.stdout
        assert stored_password() not in (None, first)

        missing = run(["db", "grant", "--role", role, "--login-password-env", "NOT_SET"], owner)
        assert missing.returncode == 1
        assert "NOT_SET is unset or empty" in missing.stderr
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if exists:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
