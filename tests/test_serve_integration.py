"""`annotate serve` as the ML backend of a real Label Studio: predictions stored, learning from annotations.

The backend runs for real (uvicorn on a free 127.0.0.1 port, in a thread of the test process);
Label Studio is the session's real server (``tests/studio_server.py``), which calls the backend
over HTTP exactly as it would in production: /health and /setup on connect, /predict on
"Retrieve predictions", /webhook on every annotation.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from annotate.schema import Schema
from annotate.serve import Backend, create_app, serve_in_thread
from annotate.studio.connect_model import connect_model
from annotate.studio.push import make_tasks
from tests.models_data import claim_rows, sentences, stance_rows, write_csv

pytestmark = pytest.mark.integration

TEXTS = [
    "Exports rose 12% in 2019, the ministry said.",
    "I think this plan is a terrible idea.",
    "Good morning to everyone here today.",
    "Mexico rejects any foreign intervention in Venezuela, the president said.",
    "The minister welcomes the new solar energy projects.",
]


def _poll(what: str, check: Any, timeout: float = 180, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def _predictions(ls: Any, project_id: int) -> dict[int, list[Any]]:
    return {t.id: list(t.predictions or []) for t in ls.tasks.list(project=project_id, page_size=100)}


def _mv(p: Any) -> str | None:
    return p.model_version if not isinstance(p, dict) else p.get("model_version")


def _result(p: Any) -> list[dict[str, Any]]:
    return p.result if not isinstance(p, dict) else p["result"]


@pytest.fixture
def served(tmp_path: Path, schema_path: Path):
    """A trained demo model under tmp/models, served on loopback; yields (url, backend, schema)."""
    from annotate.models.train import train_file

    schema = Schema.from_file(schema_path)
    labels = write_csv(tmp_path / "labels.csv", claim_rows() + stance_rows())
    train_file(labels, schema, tmp_path / "models" / "demo", n_splits=3, learning_curve=False)
    app = create_app(Backend(tmp_path / "models", schema=schema, retrain_every=2, labels=labels))
    with serve_in_thread(app) as url:
        yield url, app.state.backend, schema


def test_label_studio_fetches_predictions_and_the_model_learns(studio, served):
    url, backend, schema = served
    first = backend.model_version
    ls = studio.client()
    project = studio.new_project(schema.xml, prefix="serve")
    sents = [{**s, "start": 0, "end": len(s["text"])} for s in sentences(TEXTS)]
    tasks = list(make_tasks(sents, schema))
    ls.projects.import_tasks(id=project.id, request=[{"data": t} for t in tasks], return_task_ids=True)

    summary = connect_model(studio.studio(), project.id, url)
    assert summary.created and summary.webhook, str(summary)
    again = connect_model(studio.studio(), project.id, url)  # idempotent: same row, no second backend
    assert not again.created and again.backend_id == summary.backend_id
    assert [b.id for b in ls.ml.list(project=project.id)] == [summary.backend_id]

    # Label Studio asks the backend (POST /predict with all tasks) and stores what it returns
    ls.actions.create(id="retrieve_tasks_predictions", project=project.id)
    preds = _poll("predictions on every task", lambda: (p := _predictions(ls, project.id)) and all(p.values()) and p)
    assert len(preds) == len(tasks)
    for plist in preds.values():
        assert [_mv(p) for p in plist] == [first]
        names = [r["from_name"] for r in _result(plist[0])]
        assert names[0] == "claim_type"
        assert all(r["to_name"] == "text" and r["type"] == "choices" for r in _result(plist[0]))

    # two annotations -> the webhook fires twice -> a background retrain -> a new version
    annotator = studio.create_user("ann")
    task_ids = sorted(preds)
    for tid in task_ids[:2]:
        ls.annotations.create(
            id=tid,
            result=[
                {"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": ["Opinion"]}}
            ],
            completed_by=annotator.id,
        )
    health = _poll(
        "a retrained model",
        lambda: (h := httpx.get(f"{url}/health").json())["model_version"] != first and not h["training"] and h,
    )
    assert health["last_error"] is None and health["retrains"] == 1
    versions = httpx.get(f"{url}/versions").json()
    assert versions["versions"][0] == first and versions["current"] == health["model_version"]
    assert len(versions["versions"]) == 2
    log = (backend.models_dir / "annotations.log.jsonl").read_text("utf-8")
    assert log.count('"ANNOTATION_CREATED"') == 2

    # Label Studio picks up the new version on the next retrieve (it calls /setup first)
    ls.actions.create(id="retrieve_tasks_predictions", project=project.id)
    _poll(
        "predictions of the new version",
        lambda: all(
            health["model_version"] in [_mv(p) for p in plist] for plist in _predictions(ls, project.id).values()
        ),
    )
    ls.projects.delete(id=project.id)


def test_bad_requests_get_4xx_and_the_server_keeps_serving(served):
    url, _backend, schema = served
    with httpx.Client(base_url=url, timeout=30) as http:
        r = http.post("/predict", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
        r = http.post("/predict", json={"tasks": [{"id": 1, "data": {"text": "x"}}], "label_config": schema.xml})
        assert r.status_code == 422 and "$target" in r.json()["error"]
        assert http.get("/health").json()["status"] == "UP"


def test_cold_start_behind_basic_auth_still_hears_annotations(studio, tmp_path: Path, schema_path: Path):
    """No model yet, credentials required: LS connects with them and its webhook carries them too."""
    schema = Schema.from_file(schema_path)
    app = create_app(Backend(tmp_path / "models", schema=schema, retrain_every=0), basic_auth=("ls", "s3cret-pw"))
    ls = studio.client()
    project = studio.new_project(schema.xml, prefix="serve-auth")
    sents = [{**s, "start": 0, "end": len(s["text"])} for s in sentences(TEXTS[:2])]
    ls.projects.import_tasks(id=project.id, request=[{"data": t} for t in make_tasks(sents, schema)])
    with serve_in_thread(app) as url:
        assert httpx.get(f"{url}/health").status_code == 401
        summary = connect_model(studio.studio(), project.id, url, basic_auth=("ls", "s3cret-pw"))
        assert summary.model_version == "none" and summary.webhook, str(summary)
        tid = next(iter(ls.tasks.list(project=project.id, page_size=10))).id
        ls.annotations.create(
            id=tid,
            result=[
                {"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": ["Opinion"]}}
            ],
            completed_by=studio.create_user("ann").id,
        )
        auth = ("ls", "s3cret-pw")
        _poll("the annotation to reach the backend", lambda: httpx.get(f"{url}/health", auth=auth).json()["pending"])
        assert [g["label"] for g in app.state.backend.training_table()] == ["Opinion"]
    ls.projects.delete(id=project.id)


def test_connect_model_hands_the_generated_secret_to_label_studio(
    studio, tmp_path: Path, schema_path: Path, cli, monkeypatch: pytest.MonkeyPatch
):
    """The default path a desk takes: `serve` generated a secret; `connect-model` (no password on
    its command line) finds it and gives it to Label Studio, whose webhook then carries it."""
    from annotate.credentials import for_server

    creds, generated = for_server()  # what `annotate serve` does with nothing configured
    assert generated
    schema = Schema.from_file(schema_path)
    app = create_app(Backend(tmp_path / "models", schema=schema, retrain_every=0), basic_auth=creds.pair())
    ls = studio.client()
    project = studio.new_project(schema.xml, prefix="serve-secret")
    sents = [{**s, "start": 0, "end": len(s["text"])} for s in sentences(TEXTS[:2])]
    ls.projects.import_tasks(id=project.id, request=[{"data": t} for t in make_tasks(sents, schema)])
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.token)
    with serve_in_thread(app) as url:
        assert httpx.get(f"{url}/health").status_code == 401
        code, out, err = cli("studio", "connect-model", "--project", project.title, "--model-url", url)
        assert code == 0, err
        assert creds.password not in out + err
        tid = next(iter(ls.tasks.list(project=project.id, page_size=10))).id
        ls.annotations.create(
            id=tid,
            result=[
                {"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": ["Opinion"]}}
            ],
            completed_by=studio.create_user("ann").id,
        )
        _poll("the annotation to reach the backend", lambda: app.state.backend.training_table())
        assert [g["label"] for g in app.state.backend.training_table()] == ["Opinion"]
    ls.projects.delete(id=project.id)


def test_a_retrain_learns_annotations_made_while_serve_was_down_and_the_models_own_labels(
    studio, tmp_path: Path, schema_path: Path
):
    """Before, a retrain learned only from the webhook log plus --labels: an annotation made while
    the server was down was never learned, and three new labels on a model trained on many made
    the retrain fail with "one class only". Now Label Studio is the store."""
    from annotate.labels import load_labels
    from annotate.models.train import train_file

    schema = Schema.from_file(schema_path)
    labels = write_csv(tmp_path / "labels.csv", claim_rows() + stance_rows())
    train_file(labels, schema, tmp_path / "models" / "demo", n_splits=3, learning_curve=False)
    ls = studio.client()
    project = studio.new_project(schema.xml, prefix="serve-store")
    sents = [{**s, "start": 0, "end": len(s["text"])} for s in sentences(TEXTS)]
    ls.projects.import_tasks(id=project.id, request=[{"data": t} for t in make_tasks(sents, schema)])
    by_text = {t.data["text"]: t.id for t in ls.tasks.list(project=project.id, page_size=100)}
    annotator = studio.create_user("ann")

    def annotate(text: str, label: str) -> None:
        choice = {"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
        ls.annotations.create(id=by_text[text], result=[choice], completed_by=annotator.id)

    # no --labels: what the first model learned from comes from its own folder
    app = create_app(Backend(tmp_path / "models", schema=schema, retrain_every=0, studio=studio.studio))
    backend = app.state.backend
    with serve_in_thread(app) as url:
        connect_model(studio.studio(), project.id, url)
        annotate(TEXTS[1], "Opinion")
        _poll("the webhook", lambda: backend.training_table())
    annotate(TEXTS[2], "Not a claim")  # the server is down: its webhook is lost
    app = create_app(Backend(tmp_path / "models", schema=schema, retrain_every=0, studio=studio.studio))
    backend = app.state.backend
    with serve_in_thread(app):
        assert backend.request_retrain(force=True)
        assert backend.wait_idle(300)
        assert backend.last_error is None, backend.last_error
        learned = load_labels(backend.slot.folder / "training_labels.jsonl", schema)
    got = dict(zip(learned["text"], learned["label"], strict=False))
    assert got[TEXTS[1]] == "Opinion" and got[TEXTS[2]] == "Not a claim"
    assert backend.learned_from["label_studio"] == {str(project.id): 2}
    assert backend.learned_from["base"] == len(load_labels(labels, schema))
    ls.projects.delete(id=project.id)


def test_min_score_serves_unsure_answers_as_a_second_hint_prediction(studio, tmp_path: Path, schema_path: Path):
    """serve --min-score: Label Studio stores two predictions on a task, and pre-fills the sure one only."""
    from annotate.models.train import train_file

    schema = Schema.from_file(schema_path)
    labels = write_csv(tmp_path / "labels.csv", claim_rows() + stance_rows())
    train_file(labels, schema, tmp_path / "models" / "demo", n_splits=3, learning_curve=False)
    # 1.0: no answer is sure enough, every one is a hint; then 0.0: every one is pre-filled
    backend = Backend(tmp_path / "models", schema=schema, retrain_every=0, min_score=1.0)
    ls = studio.client()
    project = studio.new_project(schema.xml, prefix="serve-gate")
    sents = [{**s, "start": 0, "end": len(s["text"])} for s in sentences(TEXTS[:3])]
    ls.projects.import_tasks(id=project.id, request=[{"data": t} for t in make_tasks(sents, schema)])
    with serve_in_thread(create_app(backend)) as url:
        connect_model(studio.studio(), project.id, url)
        ls.actions.create(id="retrieve_tasks_predictions", project=project.id)
        preds = _poll("hints on every task", lambda: (p := _predictions(ls, project.id)) and all(p.values()) and p)
        version = backend.model_version
        assert {_mv(p) for plist in preds.values() for p in plist} == {f"{version}-hint"}
        assert ls.projects.get(id=project.id).model_version != f"{version}-hint"  # never the pre-fill source
        backend.min_score = 0.0
        for plist in preds.values():
            for p in plist:
                ls.predictions.delete(id=p.id)
        ls.actions.create(id="retrieve_tasks_predictions", project=project.id)
        preds = _poll("predictions", lambda: (p := _predictions(ls, project.id)) and all(p.values()) and p)
        assert {_mv(p) for plist in preds.values() for p in plist} == {version}
    ls.projects.delete(id=project.id)
