"""Every bad input to ingest and schema check: one line on stderr, exit 2, no output left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def run_ingest(cli, tmp_path: Path, *inputs: Path):
    out = tmp_path / "out" / "sentences.jsonl"
    code, stdout, stderr = cli("ingest", *inputs, "-o", out)
    return code, stderr, out


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_missing_path(cli, tmp_path):
    code, err, out = run_ingest(cli, tmp_path, tmp_path / "nope.txt")
    assert code == 2
    assert one_line(err) == f"error: {tmp_path / 'nope.txt'}: no such file or folder. check the path."
    assert not out.exists()


def test_empty_file(cli, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    code, err, out = run_ingest(cli, tmp_path, tmp_path / "empty.txt")
    assert code == 2
    assert "empty.txt: file is empty" in one_line(err)
    assert not out.exists()


def test_invalid_utf8_names_the_line(cli, tmp_path):
    (tmp_path / "bad.txt").write_bytes("Line one is fine.\nLine two has a bad byte: \xff here.\n".encode("latin-1"))
    code, err, out = run_ingest(cli, tmp_path, tmp_path / "bad.txt")
    assert code == 2
    line = one_line(err)
    assert "bad.txt:2: not valid UTF-8 (byte 0xff" in line and "re-save the file as UTF-8" in line
    assert not out.exists()


def test_malformed_jsonl_line(cli, tmp_path):
    p = tmp_path / "docs.jsonl"
    p.write_text('{"id": "a", "text": "Fine."}\n{"id": "b", "text": oops}\n')
    code, err, out = run_ingest(cli, tmp_path, p)
    assert code == 2
    assert "docs.jsonl:2: not valid JSON" in one_line(err)
    assert not out.exists()


def test_jsonl_record_without_text(cli, tmp_path):
    p = tmp_path / "docs.jsonl"
    p.write_text('{"id": "a", "text": "Fine."}\n\n{"id": "b", "title": "no text"}\n')
    code, err, out = run_ingest(cli, tmp_path, p)
    assert code == 2
    line = one_line(err)
    assert "docs.jsonl:3: record has no 'text'" in line and 'needs a "text" string' in line
    assert not out.exists()


def test_unknown_file_type(cli, tmp_path):
    p = tmp_path / "doc.pdf"
    p.write_bytes(b"%PDF-1.4")
    code, err, out = run_ingest(cli, tmp_path, p)
    assert code == 2
    assert "doc.pdf: unknown file type '.pdf'. give .txt, .jsonl or .html files" in one_line(err)


def test_a_bad_document_late_in_a_folder_leaves_no_partial_output(cli, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("A good document. It has sentences.")
    (folder / "b.jsonl").write_text('{"text": "fine"}\n[1, 2]\n')
    out = tmp_path / "out" / "sentences.jsonl"
    out.parent.mkdir()
    out.write_text("previous run\n")
    code, stdout, stderr = cli("ingest", folder, "-o", out)
    assert code == 2
    assert "b.jsonl:2: expected a JSON object, got list" in one_line(stderr)
    assert out.read_text() == "previous run\n"  # the old output is untouched
    assert [p.name for p in out.parent.iterdir()] == ["sentences.jsonl"]  # no temp file left


def test_duplicate_document_ids(cli, tmp_path):
    p = tmp_path / "docs.jsonl"
    p.write_text('{"id": "a", "text": "One."}\n{"id": "a", "text": "Two."}\n')
    code, err, _ = run_ingest(cli, tmp_path, p)
    assert code == 2
    assert "docs.jsonl:2: duplicate document id 'a'" in one_line(err)


def test_jsonl_html_and_sidecar_formats(cli, tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "docs.jsonl").write_text(
        json.dumps({"id": "j1", "text": "Prices rose 5% in May. Officials said so.", "title": "T", "url": "http://x"})
        + "\n"
    )
    (folder / "note.txt").write_text("A plain note. With two sentences.")
    (folder / "note.txt.meta.json").write_text(json.dumps({"title": "From sidecar", "date": "2025-01-02"}))
    (folder / "page.html").write_text(
        "<html><head><title>Page title</title></head><body><nav>Menu Home About</nav><article><h1>Big news</h1>"
        "<p>The council approved the budget on Monday after a long debate. The vote was 7 to 2, the mayor said."
        "</p><p>Opponents said the plan would raise taxes by 3 percent over two years.</p></article>"
        "<footer>Copyright</footer></body></html>"
    )
    (folder / "README.md").write_text("not a document")
    out = tmp_path / "s.jsonl"
    code, stdout, stderr = cli("ingest", folder, "-o", out)
    assert code == 0, stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    docs = {r["doc_id"] for r in records}
    assert docs == {"j1", "note", "page"}
    note = [r for r in records if r["doc_id"] == "note"]
    assert note[0]["title"] == "From sidecar" and note[0]["date"] == "2025-01-02"
    page = [r["text"] for r in records if r["doc_id"] == "page"]
    assert "The council approved the budget on Monday after a long debate." in page
    assert not any("Menu" in t or "Copyright" in t for t in page)


def test_schema_check_prints_fields(cli, schema_path):
    code, out, err = cli("schema", "check", schema_path)
    assert code == 0, err
    assert "claim_type (choices -> text; required): Check-worthy factual claim [1]" in out
    assert "stance (choices -> text; counts when claim_type unselected Not a claim" in out
    assert "target permanent-us-intelligence-platforms" in out


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<View><Text name='t' value='$text'/><Choices name='c' toName='t'>", "not well-formed XML"),
        (
            "<View><Text name='t' value='$text'/>"
            "<Choices name='c' toName='nothere'><Choice value='a'/></Choices></View>",
            'points at toName="nothere", which is no object tag',
        ),
        (
            "<View><Text name='t' value='$text'/><Choices name='c' toName='t'><Choice value='a' hotkey='1'/></Choices>"
            "<Choices name='d' toName='t'><Choice value='b' hotkey='1'/></Choices></View>",
            "hotkey '1' is used by both c:a and d",
        ),
        ("<View><Text name='t' value='$text'/></View>", "the config has no control tags"),
        ("", "schema file is empty"),
    ],
)
def test_broken_schema_fails_with_one_line(cli, tmp_path, xml, expected):
    p = tmp_path / "broken.xml"
    p.write_text(xml)
    code, out, err = cli("schema", "check", p)
    assert code == 2
    line = one_line(err)
    assert "broken.xml" in line and expected in line, line


# --- options: a wrong value is a usage error on one line, before any file is read -------------


def _options_that_check_their_value():
    """Every (command path, option) whose value is checked: numbers and closed lists of choices."""
    import typer

    from annotate.cli import app

    found = []

    def walk(command, path):
        if hasattr(command, "list_commands"):
            ctx = typer.Context(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])
            return
        required = [p for p in command.params if p.param_type_name == "argument" and p.required]
        for param in command.params:
            if param.param_type_name != "option" or param.is_flag:
                continue
            kind = getattr(param.type_descriptor, "annotation", None)
            if param.callback is not None or kind in (int, float, int | None, float | None):
                found.append((path, param.opts[-1], len(required)))

    walk(typer.main.get_command(app), [])
    return found


_CHECKED_OPTIONS = _options_that_check_their_value()


def test_the_closed_lists_of_choices_are_all_checked():
    names = {(" ".join(path), opt) for path, opt, _ in _CHECKED_OPTIONS}
    for closed in [
        ("resolve", "--method"),
        ("resolve", "--on-tie"),
        ("review push", "--method"),
        ("train", "--on-rare-class"),
        ("train", "--preset"),
        ("predict", "--targets"),
        ("suggest", "--method"),
    ]:
        assert closed in names, closed


@pytest.mark.parametrize(
    "path, option, n_args", _CHECKED_OPTIONS, ids=[" ".join([*p, o]) for p, o, _ in _CHECKED_OPTIONS]
)
def test_a_wrong_option_value_is_one_line_and_exit_2(cli, tmp_path, path, option, n_args):
    # the positional arguments name files that do not exist: the option must be refused first
    args = [*path, *(str(tmp_path / f"missing-{i}") for i in range(n_args)), option, "bogus!"]
    code, stdout, stderr = cli(*args)
    assert code == 2, (code, stdout, stderr)
    line = one_line(stderr)
    assert "Invalid value for" in line and option in line and "--help" in line, line


def test_a_misspelt_option_or_command_is_one_line_and_exit_2(cli, tmp_path):
    code, _, stderr = cli("train", tmp_path / "labels.jsonl", "--on-rare-clas", "drop")
    assert code == 2
    assert "No such option: --on-rare-clas" in one_line(stderr)
    code, _, stderr = cli("trian")
    assert code == 2
    assert "Did you mean 'train'?" in one_line(stderr)


def test_the_library_refuses_an_unknown_targets_mode_as_input(tmp_path):
    from annotate.errors import InputError
    from annotate.models.predict import pairs
    from annotate.schema import Schema, default_schema_path

    with pytest.raises(InputError, match="unknown targets mode 'every'"):
        pairs([{"sentence_id": "a", "text": "x"}], Schema.from_file(default_schema_path()), targets="every")
