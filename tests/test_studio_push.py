"""Push against a real Label Studio: once, idempotent, interrupted, predictions, schema changes, faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.errors import SchemaError, StudioError
from annotate.resources import data_path
from annotate.schema import Schema, default_schema_path
from annotate.segment import ingest
from annotate.studio.push import existing_task_keys, make_tasks, push, read_sentences
from tests.studio_server import on_both_databases

ROOT = Path(__file__).resolve().parents[1]
TARGETS = data_path("schemas", "claims_stance.targets.toml")

studio = on_both_databases()  # every server test runs on sqlite and on PostgreSQL


@pytest.fixture(scope="module")
def sentences(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("push") / "sentences.jsonl"
    ingest([data_path("corpora", "sample")], out)
    return out


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema.from_file(default_schema_path())


def alias_schema(tmp_path: Path) -> Schema:
    """The default schema with an alias on one choice: LS then stores the alias, not the value."""
    xml = (
        default_schema_path()
        .read_text()
        .replace('<Choice value="Opinion" hotkey="3"/>', '<Choice value="Opinion" alias="OPN" hotkey="3"/>')
    )
    path = tmp_path / "alias.xml"
    path.write_text(xml)
    return Schema.from_file(path, targets=TARGETS)


def task_keys(studio, project_id: int) -> list[str]:
    return [t.data["task_key"] for t in studio.client().tasks.list(project=project_id, fields="all")]


# --- without a server ------------------------------------------------------------------------


def test_tasks_per_sentence_and_target(sentences, schema):
    recs = read_sentences(sentences)
    tasks = list(make_tasks(recs, schema))
    by_sentence: dict[str, list[dict]] = {}
    for t in tasks:
        by_sentence.setdefault(t["sentence_id"], []).append(t)
    assert set(by_sentence) == {r["sentence_id"] for r in recs}  # every sentence has a task
    for rec in recs:
        ctx = rec["context"]
        expected = {t.id for t in schema.targets if t.concerns(rec["text"], ctx["previous"], ctx["next"])}
        got = {t["target_id"] for t in by_sentence[rec["sentence_id"]]}
        assert got == (expected or {""})
    keys = [t["task_key"] for t in tasks]
    assert len(keys) == len(set(keys))
    for t in tasks:
        assert set(schema.data_keys) <= set(t)
        assert t["schema_hash"] == schema.hash
        assert t["task_key"] == (f"{t['sentence_id']}@{t['target_id']}" if t["target_id"] else t["sentence_id"])


def test_sentences_not_in_ingest_format(tmp_path):
    bad = tmp_path / "s.jsonl"
    bad.write_text(json.dumps({"id": 1, "text": "hello"}) + "\n")
    with pytest.raises(Exception, match=r"s\.jsonl:1: not a sentence record: 'sentence_id' is missing"):
        read_sentences(bad)


# --- against the real server -------------------------------------------------------------------


@pytest.mark.integration
def test_push_then_repush_imports_nothing_new(studio, sentences, schema, cli):
    s = studio.studio()
    title = studio.project_title("push")
    first = push(s, sentences, schema, project=title)
    assert first.created_project and first.imported == first.tasks > 40
    again = push(s, sentences, schema, project=title)
    assert (again.imported, again.existing) == (0, first.tasks)
    assert not again.created_project and not again.updated_schema
    keys = task_keys(studio, first.project_id)
    assert len(keys) == len(set(keys)) == first.tasks
    project = studio.client().projects.get(id=first.project_id)
    assert f"schema_hash={schema.hash}" in project.description
    code, out, err = cli("push", sentences, "--project", title, "--url", studio.url, "--token-file", studio.token_file)
    assert (code, err) == (0, "")
    assert f"{first.tasks} tasks; 0 imported, {first.tasks} already there" in out


@pytest.mark.integration
def test_interrupted_push_then_repush_has_no_duplicates(studio, sentences, schema):
    s = studio.studio()
    title = studio.project_title("interrupt")

    def boom(done: int, total: int) -> None:
        if done >= 20:
            raise KeyboardInterrupt  # as if the user pressed ctrl+c between batches

    with pytest.raises(KeyboardInterrupt):
        push(s, sentences, schema, project=title, batch_size=10, on_batch=boom)
    project_id = next(p.id for p in s.client.projects.list() if p.title == title)
    assert len(existing_task_keys(s, project_id)) == 20
    rest = push(s, sentences, schema, project=title, batch_size=10)
    assert rest.existing == 20 and rest.imported == rest.tasks - 20
    keys = task_keys(studio, project_id)
    assert len(keys) == len(set(keys)) == rest.tasks


@pytest.mark.integration
def test_predictions_show_as_preannotations_with_alias(studio, sentences, tmp_path):
    schema = alias_schema(tmp_path)
    recs = read_sentences(sentences)
    first, second = recs[0], recs[1]
    target = next(t for t in make_tasks([first], schema) if t["target_id"])["target_id"]
    preds = tmp_path / "preds.jsonl"
    lines = [
        {"sentence_id": first["sentence_id"], "field": "claim_type", "value": "Opinion", "score": 0.6,
         "model_version": "m-1"},
        {"sentence_id": first["sentence_id"], "target": target, "field": "stance", "value": "Against",
         "score": 0.4, "model_version": "m-1"},
        {"sentence_id": second["sentence_id"], "field": "spans", "value": {"start": 0, "end": 5, "label": "Claim"},
         "score": 0.9, "model_version": "m-1"},
        {"sentence_id": "s-not-pushed", "field": "claim_type", "value": "Opinion", "model_version": "m-1"},
    ]  # fmt: skip
    preds.write_text("".join(json.dumps(x) + "\n" for x in lines))
    s = studio.studio()
    title = studio.project_title("preds")
    summary = push(s, sentences, schema, project=title, predictions=preds)
    assert summary.model_version == "m-1" and summary.predictions_unmatched == 1
    ls = studio.client()
    assert ls.projects.get(id=summary.project_id).model_version == "m-1"
    tasks = {t.data["task_key"]: t for t in ls.tasks.list(project=summary.project_id, fields="all")}
    task = tasks[f"{first['sentence_id']}@{target}"]
    (pred,) = task.predictions
    pred = pred.model_dump() if hasattr(pred, "model_dump") else pred
    assert pred["model_version"] == "m-1" and pred["score"] == pytest.approx(0.4)
    values = {r["from_name"]: r["value"] for r in pred["result"]}
    assert values["claim_type"] == {"choices": ["OPN"]}  # stored as the alias, or LS would not select it
    assert values["stance"] == {"choices": ["Against"]}
    span_task = next(t for k, t in tasks.items() if k.startswith(second["sentence_id"]))
    span = span_task.predictions[0]
    span = span.model_dump() if hasattr(span, "model_dump") else span
    assert span["result"][0]["value"]["text"] == second["text"][:5]
    # a re-push with the same predictions attaches nothing twice
    again = push(s, sentences, schema, project=title, predictions=preds)
    assert (again.imported, again.predictions) == (0, 0)
    assert len(ls.tasks.get(id=task.id).predictions) == 1


@pytest.mark.integration
def test_predictions_with_unknown_choice_import_nothing(studio, sentences, schema, tmp_path, cli):
    recs = read_sentences(sentences)
    preds = tmp_path / "preds.jsonl"
    good = {"sentence_id": recs[0]["sentence_id"], "field": "claim_type", "value": "Opinion", "model_version": "m"}
    preds.write_text(json.dumps(good) + "\n" + json.dumps({**good, "value": "Maybe"}) + "\n")
    title = studio.project_title("badpred")
    code, out, err = cli("push", sentences, "--project", title, "--predictions", preds, "--url", studio.url,
                         "--token-file", studio.token_file)  # fmt: skip
    assert code == 2
    assert err.strip() == (
        f"error: {preds}:2: 'Maybe' is not a choice of field 'claim_type'. use one of: Check-worthy factual claim, "
        "Other factual claim, Opinion, Not a claim."
    )
    assert all(p.title != title for p in studio.client().projects.list())
    with pytest.raises(SchemaError):
        push(studio.studio(), sentences, schema, project=title, predictions=preds)


@pytest.mark.integration
def test_schema_change_refused_when_it_drops_a_choice(studio, sentences, schema, tmp_path):
    s = studio.studio()
    title = studio.project_title("schema")
    summary = push(s, sentences, schema, project=title)
    ls = studio.client()
    task = next(iter(ls.tasks.list(project=summary.project_id)))
    ls.annotations.create(
        id=task.id,
        result=[{"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": ["Opinion"]}}],
    )
    dropped = tmp_path / "dropped.xml"
    dropped.write_text(default_schema_path().read_text().replace('<Choice value="Opinion" hotkey="3"/>', ""))
    with pytest.raises(StudioError, match=r"new schema drops choice 'Opinion' of 'claim_type'"):
        push(s, sentences, Schema.from_file(dropped, targets=TARGETS), project=title)
    assert ls.projects.get(id=summary.project_id).label_config.strip() == schema.xml.strip()
    added = tmp_path / "added.xml"
    added.write_text(
        default_schema_path()
        .read_text()
        .replace('<Choice value="Opinion" hotkey="3"/>', '<Choice value="Opinion" hotkey="3"/><Choice value="Satire"/>')
    )
    grown = Schema.from_file(added, targets=TARGETS)
    result = push(s, sentences, grown, project=title)
    assert result.updated_schema and result.imported == 0
    assert f"schema_hash={grown.hash}" in ls.projects.get(id=summary.project_id).description


@pytest.mark.integration
def test_bad_sentences_file_creates_nothing(studio, tmp_path, cli):
    bad = tmp_path / "notes.jsonl"
    bad.write_text(json.dumps({"sentence_id": "s1", "doc_id": "d", "text": "x", "start": 0, "end": 1}) + "\n{}\n")
    title = studio.project_title("badsent")
    code, _out, err = cli("push", bad, "--project", title, "--url", studio.url, "--token-file", studio.token_file)
    assert code == 2
    assert err.strip().startswith(f"error: {bad}:2: not a sentence record: 'sentence_id' is missing.")
    assert all(p.title != title for p in studio.client().projects.list())


@pytest.mark.integration
def test_wrong_token_is_one_line_and_masked(studio, sentences, cli, tmp_path):
    token = "0123456789abcdef0123456789"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    code, _out, err = cli("push", sentences, "--url", studio.url, "--token-file", token_file)
    assert code == 2
    assert err.strip() == (
        f"error: Label Studio at {studio.url} refuses the API token 0123…89 (HTTP 401). "
        "check LABEL_STUDIO_API_KEY; a new personal access token is under Account & Settings."
    )
    assert token not in err


def test_server_down_is_one_line(sentences, cli, monkeypatch):
    from annotate.studio.server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "whatever-token-123")
    code, _out, err = cli("push", sentences, "--url", url)
    assert code == 1  # a server failure
    assert err.strip() == (
        f"error: cannot reach Label Studio at {url} (ConnectError). start it with `annotate studio start`, "
        "or check --url / LABEL_STUDIO_URL (a server started with --data-dir D needs --data-dir D here too)."
    )


@pytest.mark.integration
def test_concurrent_pushes_create_one_project_and_import_each_task_once(studio, sentences, tmp_path):
    """Two pushes at once onto a new title made two projects, and into one project every task twice."""
    import os
    import subprocess
    import sys

    title = studio.project_title("concurrent")
    env = {**os.environ, "LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.token}
    cmd = [sys.executable, "-m", "annotate", "push", str(sentences), "--project", title]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _out, err in outs]
    projects = [p for p in studio.client().projects.list() if p.title == title]
    assert len(projects) == 1
    keys = task_keys(studio, projects[0].id)
    assert (
        len(keys)
        == len(set(keys))
        == len(list(make_tasks(read_sentences(sentences), Schema.from_file(default_schema_path()))))
    )


@pytest.mark.integration
def test_push_hints_pre_annotates_speakers_for_any_corpus(studio, sentences, cli, monkeypatch):
    """Only the quickstart's sample got speaker pre-annotations; `push --hints` gives them to any corpus."""
    from annotate.studio.pull import find_project

    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.token)
    title = studio.project_title("hints")
    code, out, err = cli("push", sentences, "--project", title, "--hints")
    assert code == 0, err
    project = find_project(studio.studio(), title)
    speakers = {}
    for t in studio.client().tasks.list(project=project.id, fields="all", page_size=1000):
        for p in t.predictions or []:
            p = p if isinstance(p, dict) else p.dict()
            if p["model_version"] == "ingest-hints-1":
                (item,) = p["result"]
                assert item["type"] == "labels" and item["value"]["labels"] == ["Speaker"]
                speakers[t.data["sentence_id"]] = item["value"]["text"] if "text" in item["value"] else (
                    t.data["text"][item["value"]["start"] : item["value"]["end"]])  # fmt: skip
    rows = [json.loads(x) for x in sentences.read_text().splitlines()]
    # a span needs the name written in the sentence ("she said" has none to mark)
    expected = {r["sentence_id"]: r["speaker"] for r in rows if r.get("speaker") and r["speaker"] in r["text"]}
    assert speakers and set(speakers) == set(expected)
    assert all(speakers[s] == expected[s] for s in speakers)
    studio.client().projects.delete(id=project.id)


# --- confidence gating: pre-fill only what the model is sure of ----------------------------------


def test_min_score_is_a_number_in_0_1_or_auto_with_a_model(tmp_path):
    from annotate.acceptance import prefill_gate
    from annotate.errors import InputError

    assert prefill_gate(None) is None and prefill_gate("0.85") == 0.85 and prefill_gate(0.5) == 0.5
    for bad in ("1.5", "-0.1", "high", "nan"):
        with pytest.raises(InputError, match="is not a number in 0..1 or 'auto'"):
            prefill_gate(bad)
    with pytest.raises(InputError, match="--min-score auto needs --model"):
        prefill_gate("auto")


@pytest.mark.integration
def test_min_score_prefills_only_confident_predictions_and_shows_the_rest_as_hints(studio, sentences, schema, cli,
                                                                                   tmp_path):  # fmt: skip
    recs = read_sentences(sentences)
    sure, unsure = recs[0], recs[1]
    lines = [
        {"sentence_id": sure["sentence_id"], "field": "claim_type", "value": "Opinion", "score": 0.95,
         "model_version": "m-2"},
        {"sentence_id": unsure["sentence_id"], "field": "claim_type", "value": "Opinion", "score": 0.55,
         "model_version": "m-2"},
    ]  # fmt: skip
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(x) + "\n" for x in lines))
    title = studio.project_title("min-score")
    code, out, err = cli("push", sentences, "--project", title, "--predictions", preds, "--min-score", "0.9",
                         "--url", studio.url, "--token-file", studio.token_file)  # fmt: skip
    assert code == 0, err
    assert "1 below --min-score shown as hints ('-hint'), not pre-filled" in out
    ls = studio.client()
    project = next(p for p in ls.projects.list() if p.title == title)
    assert ls.projects.get(id=project.id).model_version == "m-2"  # the hints do not set the project's version
    versions = {}
    for task in ls.tasks.list(project=project.id, fields="all"):
        for pred in task.predictions or []:
            pred = pred.model_dump() if hasattr(pred, "model_dump") else pred
            versions[task.data["sentence_id"]] = pred["model_version"]
    assert versions[sure["sentence_id"]] == "m-2"  # pre-filled: the project's model_version
    assert versions[unsure["sentence_id"]] == "m-2-hint"  # shown in the predictions tab only
    code, _, err = cli("push", sentences, "--project", title, "--predictions", preds, "--min-score", "high",
                       "--url", studio.url, "--token-file", studio.token_file)  # fmt: skip
    assert code == 2 and err.startswith("error: --min-score 'high' is not a number in 0..1 or 'auto'")


def test_a_token_is_never_an_option_and_a_token_file_others_can_read_is_refused(sentences, cli, tmp_path):
    # a token on the command line would show in `ps` to every user of the machine
    code, _out, err = cli("push", sentences, "--token", "0123456789abcdef")
    assert code == 2 and "No such option: --token" in err and "0123456789abcdef" not in err
    token_file = tmp_path / "token"
    token_file.write_text("0123456789abcdef\n")
    token_file.chmod(0o644)
    code, _out, err = cli("push", sentences, "--url", "http://127.0.0.1:9", "--token-file", token_file)
    assert code == 2
    assert err.strip() == (
        f"error: {token_file}: others can read this credentials file (mode 0644). chmod 600 {token_file}."
    )
