"""`annotate serve` in-process: the ML backend protocol, bad requests, background retraining.

The app runs under Starlette's TestClient (no sockets). Retraining is made observable without
sleeps: a gate (threading.Event) wrapped around the real ``train`` holds a retrain open while the
test checks that the server still answers, and ``Backend.wait_idle`` waits for it to finish.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import annotate.models.train as train_module
from annotate.errors import InputError
from annotate.schema import Schema
from annotate.serve import NO_MODEL, Backend, create_app
from tests.models_data import claim_rows, stance_rows, write_csv

VENEZUELA = "Foreign intervention in Venezuela"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, schema_path: Path) -> tuple[Path, Path]:
    """A demo model (claim_type + stance) and its label table, trained once for this module."""
    from annotate.models.train import train_file

    tmp = tmp_path_factory.mktemp("serve-model")
    labels = write_csv(tmp / "labels.csv", claim_rows() + stance_rows())
    train_file(labels, Schema.from_file(schema_path), tmp / "demo", n_splits=3, learning_curve=False)
    return tmp / "demo", labels


@pytest.fixture(scope="module")
def schema_path() -> Path:  # module scope for `trained`
    from tests.conftest import DEFAULT_SCHEMA

    return DEFAULT_SCHEMA


@pytest.fixture
def schema(schema_path: Path) -> Schema:
    return Schema.from_file(schema_path)


@pytest.fixture
def models(tmp_path: Path, trained: tuple[Path, Path]) -> Path:
    """A fresh models folder holding a copy of the demo model."""
    shutil.copytree(trained[0], tmp_path / "models" / "demo")
    return tmp_path / "models"


def task(i: int, text: str, target: str | None = VENEZUELA) -> dict[str, Any]:
    """A task as Label Studio sends it (data as `annotate push` makes it)."""
    return {
        "id": i,
        "data": {
            "text": text,
            "target": target or "(no target)",
            "target_id": "foreign-intervention-venezuela" if target else "",
            "meta": "",
            "previous": "",
            "next": "",
            "sentence_id": f"s{i}",
            "doc_id": "d1",
        },
    }


def annotation(ann_id: int, task_id: int, claim: str, stance: str | None = None, user: int = 1) -> dict[str, Any]:
    result = [{"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": [claim]}}]
    if stance:
        result.append({"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [stance]}})
    return {"id": ann_id, "task": task_id, "completed_by": user, "result": result, "was_cancelled": False}


def created(ann: dict[str, Any], t: dict[str, Any], project: int = 3) -> dict[str, Any]:
    return {"action": "ANNOTATION_CREATED", "annotation": ann, "task": t, "project": {"id": project}}


class Gate:
    """Wraps the real ``train``: holds each retrain until ``open()``; can be made to fail."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: str | None = None) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.real = train_module.train
        self.fail = fail
        monkeypatch.setattr(train_module, "train", self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        assert self.release.wait(60), "test never opened the gate"
        if self.fail:
            raise InputError(self.fail)
        return self.real(*args, **kwargs)

    def open(self) -> None:
        self.release.set()


# --- protocol ---------------------------------------------------------------------------------------


def test_health_setup_and_versions(models: Path, schema: Schema):
    with TestClient(create_app(Backend(models, schema=schema))) as c:
        h = c.get("/health").json()
        assert h["status"] == "UP" and h["model_version"].startswith("demo-") and h["last_error"] is None
        assert c.post("/setup", json={"project": "3.1732000000", "schema": schema.xml}).json() == {
            "model_version": h["model_version"]
        }
        v = c.get("/versions").json()
        assert v["versions"] == [h["model_version"]] and v["current"] == h["model_version"]
        assert v["models"][0]["folder"] == "demo"


def test_predict_one_result_per_task_in_order_built_from_the_schema(models: Path, schema: Schema):
    tasks = [
        task(1, "Homicides fell 7 percent in the first half of 2025."),
        task(2, "I think this plan is a terrible idea, and unfair.", target=None),
        task(3, "The president opposes intervention in Venezuela and said no, round 7."),
        task(4, "Good morning to everyone here today, session 5.", target=None),
    ]
    with TestClient(create_app(Backend(models, schema=schema))) as c:
        version = c.get("/health").json()["model_version"]
        body = {"tasks": tasks, "project": "3.1732000000", "label_config": schema.xml, "params": {}}
        results = c.post("/predict", json=body).json()["results"]
    assert len(results) == 4
    assert all(r["model_version"] == version and 0 < r["score"] <= 1 for r in results)
    claim = [r["result"][0] for r in results]
    assert all((c["from_name"], c["to_name"], c["type"]) == ("claim_type", "text", "choices") for c in claim)
    assert [c["value"]["choices"] for c in claim] == [
        ["Check-worthy factual claim"],
        ["Opinion"],
        ["Check-worthy factual claim"],
        ["Not a claim"],
    ]
    # tasks without a target get no stance; task 3 has a target and a claim type that shows it
    assert [i["from_name"] for i in results[1]["result"]] == ["claim_type"]
    assert [i["from_name"] for i in results[3]["result"]] == ["claim_type"]
    assert [i["from_name"] for i in results[2]["result"]] == ["claim_type", "stance"]
    assert results[2]["result"][1]["value"]["choices"] == ["Against"]


def test_results_use_the_request_label_config_aliases(models: Path, schema: Schema):
    aliased = schema.xml.replace(
        '<Choice value="Opinion" hotkey="3"/>', '<Choice value="Opinion" alias="OPN" hotkey="3"/>'
    )
    assert aliased != schema.xml
    with TestClient(create_app(Backend(models, schema=schema))) as c:
        body = {"tasks": [task(1, "I think this plan is a terrible idea number 3.")], "label_config": aliased}
        (res,) = c.post("/predict", json=body).json()["results"]
    assert res["result"][0]["value"]["choices"] == ["OPN"]


def test_cold_start_predicts_nothing_and_says_so(tmp_path: Path, schema: Schema):
    with TestClient(create_app(Backend(tmp_path / "empty", schema=schema))) as c:
        assert c.get("/health").json()["model_version"] == NO_MODEL
        results = c.post("/predict", json={"tasks": [task(1, "a"), task(2, "b")]}).json()["results"]
    assert results == [{"result": [], "score": 0.0, "model_version": NO_MODEL}] * 2


# --- bad requests -----------------------------------------------------------------------------------


def test_bad_requests_get_4xx_with_a_message_and_the_server_keeps_serving(models: Path, schema: Schema):
    head, _, tail = schema.xml.rpartition("</View>")
    unknown_field = (
        head + '<Choices name="topic" toName="text"><Choice value="A"/><Choice value="B"/></Choices></View>' + tail
    )
    no_stance = schema.xml.replace('name="stance"', 'name="position"')
    cases = [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        ({"project": "3.1"}, 400, "no 'tasks'"),
        ({"tasks": {"id": 1}}, 400, "must be a list"),
        ({"tasks": [{"id": 1, "data": {"text": "x"}}]}, 422, "lacks the data key(s) $meta, $next, $previous, $target"),
        ({"tasks": ["text"]}, 422, "has no 'data' object"),
        ({"tasks": [task(1, "x")], "label_config": "<View><Text"}, 422, "not a usable Label Studio config"),
        ({"tasks": [task(1, "x")], "label_config": unknown_field}, 422, "field(s) 'topic' (choices)"),
        ({"tasks": [task(1, "x")], "label_config": no_stance}, 422, "field(s) 'position' (choices)"),
        ({"tasks": [task(1, "x")], "project": "seven"}, 400, "'project' must look like"),
        ({"tasks": [task(1, "x")], "project": "8.1732000000"}, 404, "unknown project 8"),
    ]
    with TestClient(create_app(Backend(models, schema=schema, projects={3})), raise_server_exceptions=False) as c:
        for body, status, message in cases:
            kw = (
                {"content": body, "headers": {"content-type": "application/json"}}
                if isinstance(body, bytes)
                else {"json": {"project": "3.17", **body}}
            )
            r = c.post("/predict", **kw)
            assert r.status_code == status, (body, r.text)
            assert message in r.json()["error"], (body, r.json())
            assert "Traceback" not in r.text
        assert c.post("/webhook", content=b"nope", headers={"content-type": "application/json"}).status_code == 400
        assert c.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 3}}).status_code == 422
        assert c.post("/webhook", json=created(annotation(1, 1, "Opinion"), task(1, "x"), project=9)).status_code == 404
        assert c.get("/nowhere").status_code == 404 and "error" in c.get("/nowhere").json()
        assert c.get("/health").json()["status"] == "UP"
        ok = c.post("/predict", json={"tasks": [task(1, "Exports rose 5% in 2019.")], "project": "3.17"})
        assert ok.status_code == 200 and len(ok.json()["results"]) == 1


def test_basic_auth(models: Path, schema: Schema):
    with TestClient(create_app(Backend(models, schema=schema), basic_auth="ls:s3cret")) as c:
        r = c.get("/health")
        assert r.status_code == 401 and "basic auth required" in r.json()["error"]
        assert c.get("/health", auth=("ls", "wrong")).status_code == 401
        assert c.get("/health", auth=("ls", "s3cret")).json()["status"] == "UP"


def test_models_dir_must_hold_versions_not_be_one(models: Path, schema: Schema):
    with pytest.raises(InputError, match="is a model folder, not a folder of model versions"):
        Backend(models / "demo", schema=schema)


def test_other_webhook_actions_are_acknowledged_and_ignored(models: Path, schema: Schema):
    with TestClient(create_app(Backend(models, schema=schema))) as c:
        r = c.post("/webhook", json={"action": "TASKS_CREATED", "tasks": [{"id": 1}], "project": {"id": 3}})
        assert r.status_code == 200 and r.json()["status"] == "ignored"
    assert not (models / "annotations.log.jsonl").exists()


# --- learning -----------------------------------------------------------------------------------------


def test_webhook_replies_while_a_retrain_runs_then_the_new_version_is_swapped_in(
    models: Path, schema: Schema, trained: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
):
    gate = Gate(monkeypatch)
    app = create_app(Backend(models, schema=schema, retrain_every=2, labels=trained[1]))
    backend = app.state.backend
    t1, t2 = task(1, "We believe the tax is wrong."), task(2, "Officials support intervention in Venezuela.")
    with TestClient(app) as c:
        old = c.get("/health").json()["model_version"]
        r = c.post("/webhook", json=created(annotation(11, 1, "Opinion", "Against"), t1))
        assert r.json() == {"status": "ok", "action": "ANNOTATION_CREATED", "recorded": 1, "retrain": False}
        assert c.get("/health").json()["pending"] == 1
        r = c.post("/webhook", json=created(annotation(12, 2, "Other factual claim", "Favor"), t2))
        assert r.status_code == 200 and r.json()["retrain"] is True
        assert gate.entered.wait(60)
        # the retrain is held open: the server answers, with the old model
        r = c.post("/webhook", json=created(annotation(13, 1, "Opinion", "Against", user=2), t1))
        assert r.status_code == 200 and r.json()["recorded"] == 1
        h = c.get("/health").json()
        assert h["training"] is True and h["model_version"] == old
        assert c.post("/predict", json={"tasks": [t1]}).json()["results"][0]["model_version"] == old
        gate.open()
        assert backend.wait_idle(120)
        h = c.get("/health").json()
        assert h["model_version"] != old and h["last_error"] is None and h["retrains"] == 1
        assert c.post("/predict", json={"tasks": [t1]}).json()["results"][0]["model_version"] == h["model_version"]
        v = c.get("/versions").json()
    assert v["versions"] == [old, h["model_version"]] and v["current"] == h["model_version"]
    assert [m["folder"] for m in v["models"]] == ["demo", "demo-v001"]
    assert (models / "demo" / "card.json").exists()  # old versions stay on disk
    assert not list(models.glob(".*.building"))
    live = (models / "demo-v001" / "training_labels.jsonl").read_text("utf-8")
    assert '"text": "We believe the tax is wrong.", "target": null, "field": "claim_type", "label": "Opinion"' in live
    assert '"target": "foreign-intervention-venezuela"' in live
    # the base labels (--labels, the same rows the first model learned from) count once
    assert len(live.splitlines()) == len(set(live.splitlines()))
    # a restart serves the version current.json names
    with TestClient(create_app(Backend(models, schema=schema))) as c:
        assert c.get("/health").json()["model_version"] == h["model_version"]


def test_failed_retrain_keeps_the_old_model_and_reports_why(
    models: Path, schema: Schema, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    gate = Gate(monkeypatch, fail="class 'Favor' has 1 label")
    gate.open()
    app = create_app(Backend(models, schema=schema, retrain_every=1))
    with TestClient(app) as c:
        old = c.get("/health").json()["model_version"]
        r = c.post("/webhook", json=created(annotation(11, 1, "Opinion", "Favor"), task(1, "We think so.")))
        assert r.status_code == 200
        assert app.state.backend.wait_idle(60)
        h = c.get("/health").json()
        assert h["model_version"] == old and "has 1 label" in h["last_error"]
        assert "retrain not possible yet" in h["last_error"]  # a reason in one line, not a traceback
        assert c.post("/predict", json={"tasks": [task(1, "x")]}).json()["results"][0]["model_version"] == old
        assert c.get("/versions").json()["versions"] == [old]
    assert not list(models.glob(".*.building")) and not (models / "demo-v001").exists()
    said = [r for r in caplog.records if "retrain not possible yet" in r.getMessage()]
    assert said and all(r.exc_info is None for r in said)


def test_start_training_retrains_on_request_and_deletions_are_applied(models: Path, schema: Schema):
    app = create_app(Backend(models, schema=schema, retrain_every=0))
    backend = app.state.backend
    t1 = task(1, "We believe the tax is wrong.")
    with TestClient(app) as c:
        for i in range(3):
            r = c.post("/webhook", json=created(annotation(20 + i, 1, "Opinion", user=i), t1))
            assert r.json()["retrain"] is False
        assert [g["label"] for g in backend.training_table()] == ["Opinion"]
        deleted = {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 20}, {"id": 21}, {"id": 22}]}
        r = c.post("/webhook", json={**deleted, "project": {"id": 3}})
        assert r.status_code == 200 and backend.training_table() == []
        # no annotations left: START_TRAINING retrains on what the serving model learned from
        # (before, a retrain only knew the webhook log and --labels, and failed here)
        r = c.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 3}})
        assert r.json()["status"] == "training"
        assert backend.wait_idle(60)
        h = c.get("/health").json()
        assert h["last_error"] is None and h["retrains"] == 1, h
        assert h["learned_from"]["webhook_log"] == 0 and h["learned_from"]["base"] > 0
        learned = (models / "demo-v001" / "training_labels.jsonl").read_text("utf-8")
        assert "We believe the tax is wrong." not in learned  # the deleted annotations are forgotten


# --- command line -------------------------------------------------------------------------------------


def test_cli_commands_are_documented_and_refuse_bad_input_in_one_line(cli, models: Path):
    from tests.conftest import ROOT

    commands = (ROOT / "docs" / "commands.md").read_text("utf-8")
    for args in (("serve",), ("studio", "connect-model")):
        code, out, _err = cli(*args, "--help")
        assert code == 0 and "Usage" in out
        assert f"annotate {' '.join(args)} " in commands
    code, _out, err = cli("serve", "--models", models, "--retrain-every", "-1")  # was a ValueError traceback
    assert code == 2 and err.strip() == "error: --retrain-every must be 0 or more; got -1. 0 retrains only on request."
    code, _out, err = cli("serve", "--models", models / "demo")
    assert code == 2 and "is a model folder, not a folder of model versions" in err and "Traceback" not in err


def test_bodies_that_are_not_json_are_refused_so_a_web_page_cannot_forge_webhooks(models: Path, schema: Schema):
    """Twenty forged text/plain ANNOTATION_CREATED events retrained and swapped the served model.

    A page in the annotator's browser can POST text/plain to a local port without a CORS
    preflight, but not application/json; the backend now takes JSON only.
    """
    event = created(annotation(1, 1, "Opinion"), task(1, "Exports rose 5% in 2019."))
    with TestClient(create_app(Backend(models, schema=schema, retrain_every=0)), raise_server_exceptions=False) as c:
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
            headers = {"content-type": kind} if kind else {}
            r = c.post("/webhook", content=json.dumps(event), headers=headers)
            assert r.status_code == 415, (kind, r.text)
            assert "must be application/json" in r.json()["error"]
            r = c.post("/predict", content=json.dumps({"tasks": [task(1, "x")]}), headers=headers)
            assert r.status_code == 415
        assert c.get("/health").json()["pending"] == 0
        ok = c.post("/webhook", content=json.dumps(event), headers={"content-type": "application/json; charset=utf-8"})
        assert ok.status_code == 200 and ok.json()["recorded"] == 1


@pytest.mark.parametrize(
    "ann",
    [
        {"id": 1, "result": 1},
        {"id": 1, "result": "x"},
        {"id": 1, "result": [None]},
        {"id": 1, "result": [[{}]]},
        {"id": 1, "result": [{"from_name": "claim_type", "type": "choices", "value": {"choices": 1}}]},
        {"id": 1, "result": [{"from_name": "claim_type", "type": "choices", "value": 5}]},
        {"id": [1], "result": []},
        {"id": True, "result": []},
    ],
)
def test_malformed_webhook_annotations_get_422_not_500(models: Path, schema: Schema, ann: dict[str, Any]):
    body = {"action": "ANNOTATION_CREATED", "annotation": ann, "task": task(1, "x"), "project": {"id": 3}}
    with TestClient(create_app(Backend(models, schema=schema)), raise_server_exceptions=False) as c:
        r = c.post("/webhook", json=body)
        assert r.status_code == 422, r.text
        assert "error" in r.json() and "Traceback" not in r.text
        assert c.get("/health").json()["pending"] == 0


# --- credentials: never open by default, never on a command line -------------------------------------


def _start(models: Path, schema_path: Path, env: dict[str, str], *args: str) -> tuple[Any, str, Any]:
    """``python -m annotate serve`` as Label Studio meets it; (process, URL, log file) once it listens."""
    import os
    import socket
    import subprocess
    import sys
    import tempfile
    import time

    import httpx

    from tests.conftest import ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - read after the process ends
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotate", "serve", "--models", str(models), "--port", str(port),
         "--schema", str(schema_path), "--retrain-every", "0", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            httpx.get(url + "/health", timeout=1)
            return proc, url, log
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    log.seek(0)
    raise AssertionError(f"serve did not start: {log.read().decode(errors='replace')[-2000:]}")


def _stop(proc: Any, log: Any) -> str:
    proc.terminate()
    proc.wait(30)
    log.seek(0)
    return log.read().decode(errors="replace")


def test_serve_is_never_open_by_default_its_generated_secret_is_private(
    tmp_path: Path, models: Path, schema_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """With no credentials set, twenty forged webhooks from any local user retrained the model.

    Now `serve` generates a secret into a 0600 file, requires it on every route, and never prints
    it; `connect-model`, run by the same user, finds it there.
    """
    import stat

    import httpx

    from annotate.credentials import default_file, for_client

    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("ANNOTATE_SERVE_AUTH", raising=False)
    proc, url, log = _start(models, schema_path, {"XDG_CONFIG_HOME": str(config)})
    try:
        forged = {"action": "ANNOTATION_CREATED", "project": {"id": 1}, "task": task(1, "x"), "annotation": {}}
        assert httpx.post(url + "/webhook", json=forged).status_code == 401
        assert httpx.get(url + "/health").status_code == 401
        secret = default_file()
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
        creds = for_client()
        assert creds is not None and creds.source == str(secret)
        assert httpx.get(url + "/health", auth=creds.pair()).status_code == 200
    finally:
        out = _stop(proc, log)
    assert creds.password not in out and "password" not in repr(creds).replace("password='***'", "")
    assert f"credentials generated into {secret}" in out


def test_serve_credentials_come_from_the_environment_or_a_private_file(
    tmp_path: Path, models: Path, schema_path: Path, monkeypatch: pytest.MonkeyPatch, cli
):
    import httpx

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ANNOTATE_SERVE_AUTH", raising=False)
    # a file others can read is refused before anything listens
    shared = tmp_path / "auth"
    shared.write_text("ls:s3cret-pw\n")
    shared.chmod(0o644)
    code, _out, err = cli("serve", "--models", models, "--auth-file", shared)
    assert (
        code == 2
        and err.strip() == f"error: {shared}: others can read this credentials file (mode 0644). chmod 600 {shared}."
    )
    # the old option that put the password on the command line is gone
    code, _out, err = cli("serve", "--models", models, "--basic-auth", "ls:s3cret-pw")
    assert code == 2 and "No such option" in err
    monkeypatch.setenv("ANNOTATE_SERVE_AUTH", "nocolon")
    code, _out, err = cli("serve", "--models", models)
    assert code == 2 and err.strip().startswith("error: ANNOTATE_SERVE_AUTH: credentials must be USER:PASS")
    monkeypatch.delenv("ANNOTATE_SERVE_AUTH")
    code, _out, err = cli("serve", "--models", models, "--no-auth", "--host", "0.0.0.0")
    assert code == 2 and "--no-auth" in err and "loopback" in err
    shared.chmod(0o600)
    proc, url, log = _start(models, schema_path, {}, "--auth-file", str(shared))
    try:
        assert httpx.get(url + "/health").status_code == 401
        assert httpx.get(url + "/health", auth=("ls", "s3cret-pw")).status_code == 200
    finally:
        out = _stop(proc, log)
    assert "s3cret-pw" not in out and f"credentials from {shared}" in out
    proc, url, log = _start(models, schema_path, {"ANNOTATE_SERVE_AUTH": "env:an0ther-pw"})
    try:
        assert httpx.get(url + "/health", auth=("env", "an0ther-pw")).status_code == 200
        assert httpx.get(url + "/health", auth=("ls", "s3cret-pw")).status_code == 401
    finally:
        _stop(proc, log)
    proc, url, log = _start(models, schema_path, {}, "--no-auth")
    try:
        assert httpx.get(url + "/health").status_code == 200
    finally:
        assert "without credentials" in _stop(proc, log)
