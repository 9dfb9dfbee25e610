"""A desk folder remembers its settings: `annotate init`, then every command reads annotate.toml.

Before, every command needed --schema (and --data-dir, --project...) again, and a command that
was not given them silently used the sample's schema and targets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_desk_targets import DESK_TARGETS, _labels

from annotate.desk import default_map, find_desk


def _init(cli, tmp_path: Path, name: str = "housing-desk") -> Path:
    desk = tmp_path / name
    code, out, err = cli("init", desk)
    assert code == 0, err
    assert f"desk ready in {desk}" in out
    (desk / "schema" / "claims_stance.targets.toml").write_text(DESK_TARGETS, encoding="utf-8")
    return desk


def test_init_writes_a_desk_and_never_overwrites_it(cli, tmp_path: Path):
    desk = _init(cli, tmp_path)
    for rel in ("annotate.toml", "schema/claims_stance.xml", "schema/claims_stance.targets.toml", "guidelines.md"):
        assert (desk / rel).is_file(), rel
    assert (desk / "articles").is_dir() and (desk / "models").is_dir()
    found = find_desk(desk / "articles")  # from a sub-folder too
    assert found is not None and found.root == desk.resolve()
    assert found.settings["project"] == "housing-desk"
    assert found.settings["schema"] == str((desk / "schema" / "claims_stance.xml").resolve())
    before = (desk / "annotate.toml").read_bytes()
    code, out, err = cli("init", desk)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "never overwrites" in err
    assert (desk / "annotate.toml").read_bytes() == before


def test_commands_in_a_desk_use_its_schema_and_targets_and_flags_still_win(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    desk = _init(cli, tmp_path)
    labels = _labels(tmp_path)
    monkeypatch.chdir(desk / "articles")
    # no --schema: the desk's, whose targets know rent-control (the sample's would refuse it)
    code, _, err = cli("train", labels, "-o", desk / "models" / "m", "--n-splits", "2", "--no-learning-curve")
    assert code == 0, err
    card = json.loads((desk / "models" / "m" / "card.json").read_text("utf-8"))
    assert card["schema"]["path"] == str((desk / "schema" / "claims_stance.xml").resolve())
    # a flag wins over the desk: the repository's schema does not know the desk's targets
    from annotate.schema import default_schema_path

    code, _, err = cli("train", labels, "-o", tmp_path / "other", "--schema", default_schema_path())
    assert code == 2 and "is not a target of schema" in err


def test_the_environment_outranks_the_desk_and_a_token_never_lives_there(cli, tmp_path: Path, monkeypatch):
    from typer.main import get_command

    from annotate.cli import app

    desk = _init(cli, tmp_path)
    toml = desk / "annotate.toml"
    toml.write_text(toml.read_text("utf-8").replace('# url = "https', 'url = "https'), encoding="utf-8")
    command = get_command(app)
    found = find_desk(desk)
    assert default_map(command, found, env={})["pull"]["url"] == "https://labelstudio.example.org"
    assert "url" not in default_map(command, found, env={"LABEL_STUDIO_URL": "http://elsewhere:8080"})["pull"]
    dm = default_map(command, found, env={})
    assert dm["studio"]["start"]["data_dir"] == str((desk / ".annotate" / "labelstudio").resolve())
    assert dm["serve"]["models"] == str((desk / "models").resolve())
    assert "schema" not in dm.get("predict", {})  # a model's commands read the schema from its card
    assert dm["push"]["guidelines"] == str((desk / "guidelines.md").resolve())
    toml.write_text(toml.read_text("utf-8") + 'token = "abc123"\n', encoding="utf-8")
    monkeypatch.chdir(desk)
    code, out, err = cli("agree", desk)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "an API token does not belong in annotate.toml" in err and "abc123" not in err
    toml.write_text('projetc = "typo"\n', encoding="utf-8")
    code, _, err = cli("agree", desk)
    assert code == 2 and "unknown setting(s): projetc" in err
