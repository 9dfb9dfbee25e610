"""Label Studio on PostgreSQL: the URL, the data dir's binding, secrets, and one-line errors.

The round trip itself (push, interrupted push, predictions, pull) runs on PostgreSQL through
``on_both_databases`` in ``test_studio_push.py``, ``test_studio_pull.py`` and
``test_studio_server.py``; this file covers what only PostgreSQL has.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from annotate.errors import StudioError
from annotate.studio import server
from annotate.studio.server import parse_database

SECRET = "s3cret-Pw-123"


@pytest.fixture
def fake_binary(tmp_path, monkeypatch) -> Path:
    """A label-studio that must never run: the errors below happen before the server starts."""
    exe = tmp_path / "bin" / "label-studio"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\necho 'should not have started' >&2\nexit 3\n")
    exe.chmod(0o755)
    monkeypatch.setenv(server.BIN_ENV, str(exe))
    monkeypatch.delenv(server.DATABASE_ENV, raising=False)
    return exe


def test_parse_database_url():
    db = parse_database(f"postgresql://ann:{SECRET}@db.example.org:6543/labels")
    assert (db.engine, db.user, db.password, db.host, db.port, db.name) == (
        "postgresql", "ann", SECRET, "db.example.org", 6543, "labels"
    )  # fmt: skip
    assert db.display == "postgresql://ann@db.example.org:6543/labels" and SECRET not in repr(db)
    assert db.env()["POSTGRE_PASSWORD"] == SECRET and db.env()["DJANGO_DB"] == "postgresql"
    assert parse_database(db.url) == db  # the stored URL reads back the same
    quoted = parse_database("postgres://a%40b:p%2Fw%3A@h/n%20x")  # percent-encoded user, password, name
    assert (quoted.user, quoted.password, quoted.name, quoted.port) == ("a@b", "p/w:", "n x", 5432)
    assert parse_database(quoted.url) == quoted
    socket_db = parse_database("postgresql://ann@/labels?host=/var/run/postgresql")
    assert socket_db.host == "/var/run/postgresql" and parse_database(socket_db.url) == socket_db
    assert parse_database(None).engine == parse_database("sqlite").engine == "sqlite"


def test_password_from_pgpassword(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", SECRET)
    assert parse_database("postgresql://ann@127.0.0.1/labels").password == SECRET


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://ann:pw@h/db", "unsupported database 'mysql://ann@h/db': only sqlite and postgresql are supported"),
        ("postgresql://h/db", "the database URL 'postgresql://@h/db' needs a user, a host and a database name"),
        ("postgresql://ann:pw@h/", "the database URL 'postgresql://ann@h/' needs a user, a host and a database name"),
        ("postgresql://ann:pw@h:port/db", "the database URL 'postgresql://ann@h/db' has a port that is not a number"),
    ],
)
def test_malformed_url_is_one_line(url, message, fake_binary, tmp_path, cli):
    code, _out, err = cli("studio", "start", "--data-dir", tmp_path / "ls", "--database", url)
    assert code == 2
    assert err.strip() == (f"error: {message}. write it as postgresql://USER:PASSWORD@HOST:PORT/DBNAME (or `sqlite`).")
    assert ":pw@" not in err and not (tmp_path / "ls").exists()


def test_unreachable_postgresql_is_one_line_and_binds_nothing(fake_binary, tmp_path, cli, monkeypatch):
    port = server.free_port()  # nobody listens there
    data_dir = tmp_path / "ls"
    monkeypatch.setenv(server.DATABASE_ENV, f"postgresql://ann:{SECRET}@127.0.0.1:{port}/labels")
    code, out, err = cli("studio", "start", "--data-dir", data_dir)
    assert code == 1 and out == ""  # a server failure
    assert err.strip() == (
        f"error: cannot reach PostgreSQL at postgresql://ann@127.0.0.1:{port}/labels (Connection refused). "
        "start the PostgreSQL server, or check host and port in --database."
    )
    assert SECRET not in err
    assert not (data_dir / "database").exists()  # a mistyped URL can simply be corrected


def test_data_dir_bound_to_sqlite_refuses_postgresql(fake_binary, tmp_path, cli):
    data_dir = tmp_path / "ls"
    data_dir.mkdir()
    (data_dir / "label_studio.sqlite3").write_bytes(b"")
    code, _out, err = cli("studio", "start", "--data-dir", data_dir, "--database", f"postgresql://a:{SECRET}@h/db")
    assert code == 2
    assert err.strip() == (
        f"error: the data dir {data_dir} belongs to the database sqlite, not postgresql://a@h:5432/db. "
        "start the other database with its own --data-dir."
    )
    assert SECRET not in err


def test_data_dir_bound_to_postgresql_refuses_another(fake_binary, tmp_path, cli):
    data_dir = tmp_path / "ls"
    data_dir.mkdir()
    (data_dir / "database").write_text(f"postgresql://a:{SECRET}@h:5432/db\n")
    for other, shown in (("sqlite", "sqlite"), ("postgresql://a:x@h:5432/other", "postgresql://a@h:5432/other")):
        code, _out, err = cli("studio", "start", "--data-dir", data_dir, "--database", other)
        assert code == 2
        assert err.strip() == (
            f"error: the data dir {data_dir} belongs to the database postgresql://a@h:5432/db, not {shown}. "
            "start the other database with its own --data-dir."
        )
        assert SECRET not in err


# --- against the real PostgreSQL ---------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.postgres
def test_server_on_postgresql_keeps_the_password_private(studio_pg, pg_server, cli):
    data_dir = Path(studio_pg.data_dir)
    assert not (data_dir / "label_studio.sqlite3").exists()  # the data is in PostgreSQL
    stored = data_dir / "database"
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    assert stored.read_text().strip() == pg_server.url
    state = json.loads((data_dir / "server.json").read_text())
    assert state["database"] == pg_server.display
    info = server.status(data_dir)
    assert info.running and f"database: {pg_server.display}" in info.lines()
    code, out, _err = cli("studio", "start", "--data-dir", data_dir)
    assert code == 0 and "(reused)" in out and f"database: {pg_server.display}" in out
    for text in (out, (data_dir / "server.json").read_text(), (data_dir / "server.log").read_text(errors="replace"),
                 "\n".join(info.lines()), repr(info), repr(studio_pg)):  # fmt: skip
        assert pg_server.password not in text
        assert studio_pg.token not in text


@pytest.mark.integration
@pytest.mark.postgres
def test_running_server_refuses_another_database(studio_pg, pg_server):
    with pytest.raises(StudioError, match=rf"the server of .* runs on {pg_server.display}, not sqlite"):
        server.start(studio_pg.data_dir, database="sqlite")


@pytest.mark.integration
@pytest.mark.postgres
def test_wrong_password_is_one_line(pg_server, tmp_path):
    wrong = pg_server.url.replace(pg_server.password, SECRET)
    data_dir = tmp_path / "ls"
    with pytest.raises(StudioError) as caught:
        server.start(data_dir, port=server.free_port(), database=wrong, detach=False, timeout=300)
    message = str(caught.value)
    assert message.startswith("Label Studio exited with status")
    assert f'password authentication failed for user "{pg_server.user}"' in message
    assert SECRET not in message and pg_server.password not in message
    assert not (data_dir / "database").exists()
    server.stop(data_dir)


@pytest.mark.integration
@pytest.mark.postgres
def test_second_data_dir_on_a_used_database_is_refused(studio_pg, pg_server, tmp_path):
    data_dir = tmp_path / "ls"
    with pytest.raises(StudioError, match=r"already holds a Label Studio whose admin is not this data dir's"):
        server.start(data_dir, port=server.free_port(), database=pg_server.url, detach=False, timeout=300)
    assert not (data_dir / "database").exists()
    assert not server.stop(data_dir)  # the refused server was stopped already
    # the first data dir's server is untouched
    assert studio_pg.client().users.whoami().email == studio_pg.email
