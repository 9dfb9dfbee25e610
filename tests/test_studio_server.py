"""The local server: binary discovery, reuse, secrets kept private, status/stop; the CLI around it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from annotate.errors import StudioError
from annotate.studio import server
from annotate.studio.client import connect
from tests.studio_server import on_both_databases

studio = on_both_databases()  # every server test runs on sqlite and on PostgreSQL


def test_mask_never_shows_a_token():
    token = "abcdef0123456789abcdef"
    assert server.mask(token) == "abcd…ef"
    assert server.mask("short") == "****"
    assert server.mask(None) == "<none>"


def test_binary_from_env_must_exist(monkeypatch, tmp_path):
    monkeypatch.setenv(server.BIN_ENV, str(tmp_path / "nope"))
    with pytest.raises(StudioError, match=r"no label-studio executable at .*nope\. fix the path"):
        server.find_binary()


def test_binary_argument_wins(monkeypatch, tmp_path):
    exe = tmp_path / "label-studio"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv(server.BIN_ENV, "/nonexistent")
    assert server.find_binary(exe) == str(exe)


def test_missing_server_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv(server.BIN_ENV, raising=False)
    monkeypatch.setattr(server, "ROOT", tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StudioError, match=r"run `make start` or `bash scripts/install.sh`"):
        server.find_binary()


def test_data_dir_is_the_checkouts_when_run_from_one(monkeypatch, tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.setattr(server, "ROOT", tmp_path)
    assert server.default_data_dir() == tmp_path / ".annotate" / "labelstudio"


def test_installed_package_keeps_its_server_in_the_users_data_dir(monkeypatch, tmp_path):
    site = tmp_path / "site-packages"  # no pyproject.toml beside an installed package
    monkeypatch.setattr(server, "ROOT", site)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert server.default_data_dir() == tmp_path / "data" / "annotate" / "labelstudio"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert server.default_data_dir() == tmp_path / "home" / ".local" / "share" / "annotate" / "labelstudio"


def test_status_of_a_never_started_dir(tmp_path, cli):
    assert server.status(tmp_path) is None
    code, out, _err = cli("studio", "status", "--data-dir", tmp_path)
    assert code == 0 and "no local Label Studio has been started" in out
    code, out, _err = cli("studio", "stop", "--data-dir", tmp_path)
    assert code == 0 and "no local Label Studio was running" in out


def test_no_url_anywhere(monkeypatch, tmp_path):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    with pytest.raises(StudioError, match="no Label Studio URL"):
        connect(data_dir=tmp_path)


@pytest.mark.integration
def test_start_reuses_the_running_server(studio, cli):
    info = server.start(studio.data_dir)
    assert info.reused and info.running and info.url == studio.url
    code, out, _err = cli("studio", "status", "--data-dir", studio.data_dir)
    assert code == 0 and f"running at {studio.url}" in out
    code, out, _err = cli("studio", "start", "--data-dir", studio.data_dir)
    assert code == 0 and "(reused)" in out and studio.token not in out


@pytest.mark.integration
def test_secrets_are_private_and_not_logged(studio):
    data_dir = Path(studio.data_dir)
    for name in ("token", "admin.json"):
        mode = stat.S_IMODE(os.stat(data_dir / name).st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert studio.token not in (data_dir / "server.log").read_text(errors="replace")
    assert studio.token not in (data_dir / "server.json").read_text()


@pytest.mark.integration
def test_data_dir_and_database_are_private(studio):
    """label_studio.sqlite3 (the admin token, every annotation) was world-readable."""
    data_dir = Path(studio.data_dir)
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    if studio.database == "sqlite":
        mode = stat.S_IMODE(os.stat(data_dir / "label_studio.sqlite3").st_mode)
        assert mode & 0o077 == 0, oct(mode)
    for path in data_dir.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path.name, oct(path.stat().st_mode))


@pytest.mark.integration
def test_no_error_reports_leave_the_machine(studio):
    """Label Studio's pages carried a third-party error-tracking DSN, and its server reported to it."""
    page = httpx.get(f"{studio.url}/user/login/", timeout=30).text
    assert "sentry.io" not in page
    # the settings the running server process was started with (Label Studio reads them once)
    pid = int((Path(studio.data_dir) / "server.pid").read_text())
    environ = dict(
        item.split(b"=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in item
    )
    assert environ[b"SENTRY_DSN"] == b"" and environ[b"FRONTEND_SENTRY_DSN"] == b""


@pytest.mark.integration
def test_connect_from_the_local_token_file(studio, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    s = connect(data_dir=studio.data_dir)
    assert s.url == studio.url and studio.token not in repr(s)
    assert s.client.users.whoami().email == studio.email


@pytest.mark.integration
def test_personal_access_token_works_too(studio):
    user = studio.create_user("pat", login=True)
    pat = studio.pat(user.email, studio.passwords[user.email])
    assert pat.count(".") == 2  # a JWT: the SDK refreshes it into short-lived access tokens
    s = connect(studio.url, pat)
    assert s.client.users.whoami().email == user.email
    assert pat not in repr(s)
    # push and re-push (raw listing with the SDK's Bearer headers) work with a PAT too
    from annotate.schema import Schema, default_schema_path
    from annotate.studio.push import push

    records = [{"sentence_id": f"p{i}", "doc_id": "d", "start": 0, "end": 5, "text": f"Hello {i}"} for i in range(3)]
    schema = Schema.from_file(default_schema_path())
    title = studio.project_title("pat")
    assert push(s, records, schema, project=title).imported == 3
    again = push(s, records, schema, project=title)
    assert (again.imported, again.existing) == (0, 3)


def test_commands_have_help_and_are_documented(cli):
    commands = (Path(__file__).resolve().parents[1] / "docs" / "commands.md").read_text("utf-8")
    for args in (("studio", "start"), ("studio", "stop"), ("studio", "status"), ("push",), ("pull",)):
        code, out, _err = cli(*args, "--help")
        assert code == 0 and "Usage:" in out, args
    for row in ("`annotate studio start\\|stop\\|status", "`annotate push sentences.jsonl", "`annotate pull --project"):
        assert row in commands, row


def test_the_local_admin_token_is_never_sent_to_another_url(tmp_path, monkeypatch, cli):
    """With --url set and no token, the local admin token went to that other server."""
    import http.server
    import threading

    heard: list[str] = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            heard.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    elsewhere = http.server.HTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    data_dir = tmp_path / "ls"
    data_dir.mkdir()
    (data_dir / "server.json").write_text(json.dumps({"url": "http://127.0.0.1:8080", "port": 8080}))
    (data_dir / "token").write_text("local-admin-token-123\n")
    os.chmod(data_dir / "token", 0o600)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    other = f"http://127.0.0.1:{elsewhere.server_port}"
    try:
        code, out, err = cli("pull", "--project", "x", "--url", other, "--data-dir", data_dir, "-o", tmp_path / "a")
    finally:
        elsewhere.shutdown()
    assert code == 2 and "only sent to http://127.0.0.1:8080" in err and "local-admin-token" not in err
    assert heard == []


def test_an_html_error_page_is_one_short_line(tmp_path, cli, monkeypatch):
    """Concurrent pulls on sqlite printed 200 characters of Django's HTML 500 page."""
    import http.server
    import threading

    class Broken(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            page = b"<!DOCTYPE html><html><head><title>Server Error (500)</title></head><body>" + b"x" * 500
            self.send_response(500)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    broken = http.server.HTTPServer(("127.0.0.1", 0), Broken)
    threading.Thread(target=broken.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{broken.server_port}"
    try:
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", "t0ken-abc")
        code, _out, err = cli("pull", "--project", "x", "--url", url, "-o", tmp_path / "a")
    finally:
        broken.shutdown()
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "HTTP 500 (an error page)" in lines[0] and "<" not in lines[0]


@pytest.mark.integration
def test_a_busy_port_and_the_first_start_are_said_aloud(studio, tmp_path):
    """A busy 8080 silently became a random port, and the first start was silent for a minute."""
    import json
    import shutil
    import socket

    from tests.studio_server import _RUNTIME_FILES, _template

    data_dir = tmp_path / "ls"
    shutil.copytree(_template(900), data_dir, ignore=shutil.ignore_patterns(*_RUNTIME_FILES))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        # the data dir last ran on the port another program now holds
        (data_dir / "server.json").write_text(json.dumps({"url": f"http://127.0.0.1:{taken}", "port": taken}))
        said: list[str] = []
        try:
            info = server.start(data_dir, detach=False, database="sqlite", say=said.append)
        finally:
            server.stop(data_dir)
    note = f"port {taken} is busy (another program listens there): Label Studio uses port {info.port}"
    assert info.port != taken and said[0] == note and info.lines()[0] == f"NOTE: {note}"
    assert said[1].startswith(f"starting Label Studio at {info.url}")
