"""The flat annotations table from an export recorded from a real Label Studio 1.23.2 (no server needed).

``tests/data/export_round_trip.json`` was written by ``test_studio_pull.py`` with
``ANNOTATE_RECORD_EXPORTS=1``: 3 tasks, two annotators, a skip, ground truth, a draft, spans
(one after an emoji), an unknown field, an unknown choice and a stance hidden by "Not a claim".
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from annotate.annotations import load_annotations, summary
from annotate.errors import InputError
from annotate.schema import Schema, default_schema_path
from annotate.studio.pull import COLUMNS, flatten, write_snapshot

DATA = Path(__file__).resolve().parent / "data" / "export_round_trip.json"
TARGETS = default_schema_path().with_name("claims_stance.targets.toml")


@pytest.fixture
def export() -> list[dict]:
    return json.loads(DATA.read_text())


@pytest.fixture
def schema() -> Schema:
    return Schema.from_file(default_schema_path())


def rows(export, schema):
    return list(flatten(export, schema, snapshot="snap.export.json", project="p"))


def short(row: dict) -> tuple:
    who = (row["annotator"] or "").split("-")[0].split("@")[0]
    return (row["item"], who, row["field"], row["value"], row["was_cancelled"], row["is_draft"], row["ground_truth"],
            row["issue"])  # fmt: skip


def test_every_result_becomes_a_row(export, schema):
    got = [short(r) for r in rows(export, schema)]
    t = "s0@permanent-us-intelligence-platforms"
    assert got == [
        ("s0", "ann1", "claim_type", "Check-worthy factual claim", False, False, False, None),
        (t, "ann1", "stance", "Against", False, False, False, None),
        ("s0", "ann1", "spans", "Speaker", False, False, False, None),
        ("s0", "ann1", "spans", "Claim", False, False, False, None),
        ("s0", "ann2", "claim_type", "Opinion", False, False, False, None),
        (t, "ann2", "stance", "Favor", False, False, False, None),
        ("s0", "admin", "claim_type", "Check-worthy factual claim", False, False, True, None),
        ("s1", "ann1", "spans", "Speaker", False, False, False, None),
        ("s1", "ann1", "claim_type", "Not a claim", False, False, False, None),
        ("s1", "ann1", "stance", "Favor", False, False, False, "hidden by condition"),
        ("s1", "ann2", None, None, True, False, False, None),  # the skip: one row, its result ignored
        ("s2", "ann1", "claim_type", "Maybe", False, False, False, "unknown choice"),
        ("s2", "ann1", "verdict", "True", False, False, False, "unknown field"),
        ("s2", "ann1", "note", "unclear", False, False, False, None),
        ("s2", "admin", "claim_type", "Opinion", False, True, False, None),  # the draft
    ]


def test_columns_and_provenance(export, schema):
    out = rows(export, schema)
    assert all(list(r) == COLUMNS for r in out)
    first = out[0]
    assert first["snapshot"] == "snap.export.json" and first["project"] == "p"
    assert first["target"] == "permanent-us-intelligence-platforms" and first["doc_id"] == "d1"
    assert first["model_version"] == "m-7" and first["lead_time"] == 4.5
    assert isinstance(first["annotator_id"], int) and first["created_at"]


def test_spans_carry_offsets_into_the_sentence(export, schema):
    texts = {t["id"]: t["data"]["text"] for t in export}
    spans = [r for r in rows(export, schema) if r["type"] == "labels"]
    assert [(r["span_text"], r["region_id"]) for r in spans] == [
        ("Sheinbaum", "c1"),
        (texts[spans[1]["task_id"]][19:57], "c2"),
        ("mayor", "e1"),
    ]
    assert all(texts[r["task_id"]][r["start"] : r["end"]] == r["span_text"] for r in spans)


def test_offsets_that_do_not_match_are_flagged_not_dropped(export, schema):
    broken = copy.deepcopy(export)
    region = next(r for t in broken for a in t["annotations"] for r in a["result"] if r.get("id") == "e1")
    region["value"]["start"] += 1
    flagged = [r for r in rows(broken, schema) if r["region_id"] == "e1"]
    assert [r["issue"] for r in flagged] == ["offsets do not match text"]


def test_aliases_map_back_to_values(export, tmp_path):
    xml = default_schema_path().read_text().replace(
        '<Choice value="Opinion" hotkey="3"/>', '<Choice value="Opinion" alias="OPN" hotkey="3"/>'
    )
    (tmp_path / "alias.xml").write_text(xml)
    schema = Schema.from_file(tmp_path / "alias.xml", targets=TARGETS)
    aliased = copy.deepcopy(export)
    for t in aliased:
        for a in t["annotations"]:
            for r in a["result"]:
                if r["from_name"] == "claim_type" and r["value"]["choices"] == ["Opinion"]:
                    r["value"]["choices"] = ["OPN"]
    opinions = [r for r in rows(aliased, schema) if r["value"] == "Opinion" and not r["is_draft"]]
    assert len(opinions) == 1 and opinions[0]["issue"] is None


def test_snapshot_files_and_loader(export, schema, tmp_path):
    raw = DATA.read_bytes()
    first = write_snapshot(raw, schema, tmp_path, "My project")
    second = write_snapshot(raw, schema, tmp_path, "My project")
    assert first.export_path.parent == tmp_path / "My-project"
    assert first.export_path.read_bytes() == raw
    assert first.table_path.name.endswith(".annotations.jsonl") and second.export_path != first.export_path
    df = load_annotations(tmp_path / "My-project")
    assert df.attrs["path"] == str(second.table_path)
    assert list(df.columns) == COLUMNS and len(df) == 15
    assert df.loc[df.was_cancelled, "field"].tolist() == [None]
    s = summary(df)
    saved = json.loads(first.summary_path.read_text())
    for key in ("annotated_tasks", "annotations", "skipped", "ground_truth", "drafts", "fields", "issues", "rows"):
        assert s[key] == saved[key], key
    assert saved["issues"] == {"hidden by condition": 1, "unknown choice": 1, "unknown field": 1}
    assert load_annotations(first.export_path).attrs["path"] == str(first.table_path)


def test_loader_errors(tmp_path):
    with pytest.raises(InputError, match="no annotation snapshots here"):
        load_annotations(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "20260101T000000.000000Z.annotations.jsonl").write_text("")
    with pytest.raises(InputError, match="snapshots of several projects here. give one project's folder: a, b"):
        load_annotations(tmp_path)


# --- streaming: chunked download, ijson task by task, all-or-nothing --------------------------------------------


def chunks_of(data: bytes, size: int):
    return (data[i : i + size] for i in range(0, len(data), size))


def repeated_export(export: list[dict], copies: int) -> bytes:
    """The recorded tasks ``copies`` times over, with new task, annotation and draft ids (as a bigger project)."""
    tasks = []
    for n in range(copies):
        for t in copy.deepcopy(export):
            t["id"] = t["id"] * 100_000 + n
            for a in t.get("annotations") or []:
                a["id"] = a["id"] * 100_000 + n
            for d in t.get("drafts") or []:
                d["id"] = d["id"] * 100_000 + n
            tasks.append(t)
    return json.dumps(tasks, indent=2).encode()


def test_streamed_table_equals_flattening_the_parsed_export(export, schema, tmp_path):
    odd = copy.deepcopy(export)
    # floats json.loads and a naive Decimal reading would disagree on, and a big int
    lead_times = [0.1, 12.345678901234567, 1e-07, 2.5e300, 7, 3.0]
    anns = [a for t in odd for a in t["annotations"]]
    for a, lt in zip(anns, lead_times, strict=False):
        a["lead_time"] = lt
    anns[-1]["lead_time"] = 2**63 + 1
    raw = json.dumps(odd).encode()
    got = write_snapshot(chunks_of(raw, 7), schema, tmp_path, "p")
    expected = [
        json.loads(json.dumps(r)) for r in flatten(json.loads(raw), schema, snapshot=got.export_path.name, project="p")
    ]
    table = [json.loads(line) for line in got.table_path.read_text("utf-8").splitlines()]
    assert table == expected and len(table) == 15
    assert [r["lead_time"] for r in table if r["annotation_id"] == anns[1]["id"]][0] == 12.345678901234567
    assert any(r["lead_time"] == 2**63 + 1 for r in table)
    assert got.export_path.read_bytes() == raw


def test_streamed_summary_counts_a_bigger_export(export, schema, tmp_path):
    got = write_snapshot(chunks_of(repeated_export(export, 100), 4096), schema, tmp_path, "p")
    s = json.loads(got.summary_path.read_text())
    assert s == got.summary
    assert {k: v for k, v in s.items() if k not in ("snapshot", "annotators")} == {
        "project": "p", "tasks": 300, "annotated_tasks": 300, "skipped_only_tasks": 0, "unannotated_tasks": 0,
        "annotations": 600, "skipped": 100, "ground_truth": 100, "drafts": 100,
        "fields": {"claim_type": 500, "note": 100, "spans": 300, "stance": 300, "verdict": 100},
        "issues": {"hidden by condition": 100, "unknown choice": 100, "unknown field": 100},
        "rows": 1500, "server_counted_annotations": 600,
    }  # fmt: skip
    assert sorted(s["annotators"].values(), reverse=True) == [300, 200, 100]
    assert len(got.table_path.read_text().splitlines()) == 1500


@pytest.mark.parametrize(
    "broken, message",
    [
        (DATA.read_bytes()[:-40], "not JSON"),  # a download cut short
        (b'{"detail": "not found"}', "not a JSON list of tasks"),
        (b"", "empty"),
        (b"[1, 2]", "with a int where a task should be"),
    ],
)
def test_a_bad_export_leaves_no_snapshot_files(schema, tmp_path, broken, message):
    from annotate.errors import StudioError

    with pytest.raises(StudioError, match=message):
        write_snapshot(chunks_of(broken, 100) if broken else iter([]), schema, tmp_path, "p")
    assert not (tmp_path / "p").exists()  # not even the empty folder


def test_a_failed_download_leaves_no_snapshot_files_and_tidies_the_server(schema, tmp_path):
    """pull() with a stand-in SDK whose download breaks half-way (the real path is in test_studio_pull.py)."""
    from types import SimpleNamespace

    import httpx

    from annotate.errors import StudioError
    from annotate.studio.client import Studio
    from annotate.studio.pull import pull

    deleted = []

    def download(id, export_pk, request_options):
        yield DATA.read_bytes()[:100]
        raise httpx.ReadError("connection reset")

    exports = SimpleNamespace(
        list=lambda id: [],
        create=lambda **kw: SimpleNamespace(id=5, status="completed"),
        download=download,
        delete=lambda id, export_pk: deleted.append((id, export_pk)),
    )
    project = SimpleNamespace(id=3, title="p", label_config="", description="")
    client = SimpleNamespace(projects=SimpleNamespace(list=lambda page_size: [project], exports=exports))
    with pytest.raises(StudioError, match="cannot reach Label Studio at http://ls.test"):
        pull(Studio(client, "http://ls.test", "secret-token-123"), "p", tmp_path, schema=schema)
    assert not (tmp_path / "p").exists() and deleted == [(3, 5)]


def test_snapshot_folders_are_owned_by_project_id_and_stay_inside_the_output(tmp_path, schema):
    """'rel mix' and 'rel-mix' shared one folder; a title such as '/..' wrote outside -o."""
    raw = DATA.read_bytes()
    out = tmp_path / "annotations"
    a = write_snapshot(raw, schema, out, "rel mix", project_id=1)
    b = write_snapshot(raw, schema, out, "rel-mix", project_id=2)
    again = write_snapshot(raw, schema, out, "rel mix", project_id=1)
    assert a.table_path.parent == again.table_path.parent == out / "rel-mix"
    assert b.table_path.parent == out / "rel-mix-2"
    for title in ("/..", "..", "../../etc", "./."):
        got = write_snapshot(raw, schema, out, title, project_id=7)
        assert out.resolve() in got.table_path.resolve().parents, (title, got.table_path)
