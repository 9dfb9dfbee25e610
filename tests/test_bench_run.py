"""`annotate bench`: bad input gives one line and exit 2; fast smoke runs on official layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import TunedThresholdClassifierCV

from annotate.bench import run_benchmark
from annotate.bench.run import BENCHMARKS, BenchResult, results_table
from tests.conftest import needs_shared_data
from tests.test_bench_loaders import write_claimbuster, write_fnc

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_unknown_benchmark(cli, tmp_path):
    code, out, err = cli("bench", "fnc2", "--train", tmp_path / "x.csv")
    assert code == 2
    assert one_line(err) == (
        "error: unknown benchmark 'fnc2'. "
        "use one of: semeval2016, fnc1, emergent, clef2019, claimbuster, clef2020-t2, all."
    )


def test_missing_train_file(cli, tmp_path):
    code, out, err = cli("bench", "emergent", "--train", tmp_path / "nope.csv")
    assert code == 2
    assert one_line(err) == f"error: {tmp_path / 'nope.csv'}: no such Emergent file. check the path."


def test_missing_train_option(cli):
    code, out, err = cli("bench", "emergent")
    assert code == 2
    assert one_line(err) == "error: bench emergent needs --train. give the training file (CLEF: its folder)."


def test_fnc_test_bodies_not_beside_stances(cli, tmp_path):
    train = write_fnc(tmp_path)
    test_dir = tmp_path / "test"
    test_dir.mkdir()
    test = test_dir / "competition_test_stances.csv"
    test.write_text("Headline,Body ID,Stance\nA,7,agree\n")
    code, out, err = cli("bench", "fnc1", "--train", train, "--test", test)
    assert code == 2
    assert one_line(err) == (
        f"error: {test}: no bodies file beside the stances file (looked for competition_test_bodies.csv). "
        f"put the official bodies file at {test_dir / 'competition_test_bodies.csv'}."
    )


def test_wrong_columns_in_test_file(cli, tmp_path):
    train = write_claimbuster(tmp_path / "kfold_25ncs.csv")
    test = tmp_path / "test.csv"
    test.write_text("id,sentence\n1,hello\n")
    code, out, err = cli("bench", "claimbuster", "--train", train, "--test", test)
    assert code == 2
    assert "test.csv: missing column(s) sentence_id, label, text" in one_line(err)


def test_folds_needs_enough_groups(cli, tmp_path):
    (tmp_path / "d1.tsv").write_text("1\tHOLT\tGood evening.\t0\n2\tTRUMP\tWe lost 70,000 factories.\t1\n")
    code, out, err = cli("bench", "clef2019", "--train", tmp_path, "--folds", "3")
    assert code == 2
    assert one_line(err) == "error: 3-fold cross-validation needs at least 3 groups, got 1. use fewer folds."


def test_test_file_without_gold_labels(cli, tmp_path):
    train = tmp_path / "train.txt"
    train.write_text("ID\tTarget\tTweet\tStance\n1\tAtheism\tGod is great\tAGAINST\n")
    test = tmp_path / "test.txt"
    test.write_text("ID\tTarget\tTweet\tStance\n9\tAtheism\tok\tUNKNOWN\n")
    code, out, err = cli("bench", "semeval2016", "--train", train, "--test", test)
    assert code == 2
    assert one_line(err) == (
        f"error: {test}: the test file has rows without gold labels. "
        "give the labelled (gold) test file to score against."
    )


def test_bench_all_writes_a_table_of_the_data_present(cli, tmp_path):
    data = tmp_path / "data"
    (data / "emergent").mkdir(parents=True)
    rows = [",claimHeadline,articleHeadline,articleHeadlineStance,articleId,claimId"]
    for i in range(40):
        stance = ("for", "against", "observing")[i % 3]
        head = {"for": "Confirmed: it is so", "against": "Hoax: it is not so", "observing": "Is it so?"}[stance]
        rows.append(f"{i},Claim {i // 4},{head} {i},{stance},a{i},c{i // 4}")
    (data / BENCHMARKS["emergent"].data).write_text("\n".join(rows) + "\n")
    out_file = tmp_path / "results.md"
    code, out, err = cli("bench", "all", "--data", data, "--fast", "-o", out_file)
    assert code == 0, err
    table = out_file.read_text()
    assert table.startswith("| benchmark | metric | score |")
    assert "| Emergent | accuracy (0-1) |" in table and "dev: 20% of claims" in table
    assert "FNC-1" not in table
    assert out.strip() == table.strip()


def test_bench_all_without_data(cli, tmp_path):
    code, out, err = cli("bench", "all", "--data", tmp_path)
    assert code == 2
    assert one_line(err).startswith(f"error: {tmp_path}: no benchmark data in this folder. expected e.g. ")


def test_bench_result_prints_the_cli_report_and_keeps_the_reported_key_order():
    reported = {"benchmark": "clef2020-t2", "metric": "MAP@5", "score": 0.81234, "map@1": 0.7, "evaluation": "dev d",
                "model": "re-ranker", "fast": False, "subsampled": False, "n_train": 800, "n_test": 197,
                "fit_seconds": 12.34, "fit_cpu_seconds": 10.0}  # fmt: skip
    r = BenchResult.from_dict(reported)
    assert r.model == "re-ranker" and r.preset is None and r.details == {"map@1": 0.7, "fit_cpu_seconds": 10.0}
    assert list(r.to_dict().items()) == list(reported.items())  # `bench --json` prints what it always printed
    assert str(r) == "clef2020-t2: MAP@5 = 0.8123 on dev d\n  model: re-ranker\n  n_train 800, n_test 197, fit 12.3 s"
    cv = BenchResult("emergent", "accuracy", 0.7, "3-fold CV", 10, 5, 1.0, False, False, preset="stance-headline",
                     score_sd=0.01234)  # fmt: skip
    assert str(cv).splitlines()[:2] == ["emergent: accuracy = 0.7 ± 0.0123 on 3-fold CV",
                                        "  model: annotate train --preset stance-headline"]  # fmt: skip
    assert "model" not in cv.to_dict() and cv.to_dict()["score_sd"] == 0.01234


def test_claimbuster_4fold_cv_json(cli, tmp_path):
    train = write_claimbuster(tmp_path / "kfold_25ncs.csv", 60)
    code, out, err = cli("bench", "claimbuster", "--train", train, "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["benchmark"] == "claimbuster" and r["metric"] == "F1 (check-worthy)"
    assert len(r["fold_scores"]) == 4 and r["evaluation"].startswith("4-fold stratified cross-validation")
    assert r["n_train"] + r["n_test"] == 60
    # the synthetic check-worthy sentences are all numbers and quantities: easy to find
    assert r["score"] > 0.9


def _subsample(src: pd.DataFrame, col: str, n: int) -> pd.DataFrame:
    keep = src[col].drop_duplicates().iloc[:n]
    return src[src[col].isin(keep)]


needs_data = needs_shared_data(SHARED_DATA)  # skipped without the data, except in CI, where it fails


@needs_data
def test_fnc_smoke_on_official_test_layout(cli, tmp_path):
    """Train on some bodies, score a held-out 'competition_test' pair of files via the CLI."""
    stances = pd.read_csv(SHARED_DATA / "fnc1" / "train_stances.csv")
    bodies = pd.read_csv(SHARED_DATA / "fnc1" / "train_bodies.csv")
    ids = stances["Body ID"].drop_duplicates()
    for prefix, part in (("train", ids.iloc[:60]), ("competition_test", ids.iloc[60:80])):
        stances[stances["Body ID"].isin(part)].to_csv(tmp_path / f"{prefix}_stances.csv", index=False)
        bodies[bodies["Body ID"].isin(part)].to_csv(tmp_path / f"{prefix}_bodies.csv", index=False)
    code, out, err = cli(
        "bench",
        "fnc1",
        "--train",
        tmp_path / "train_stances.csv",
        "--test",
        tmp_path / "competition_test_stances.csv",
        "--json",
        "--fast",
    )
    assert code == 0, err
    r = json.loads(out)
    assert r["n_test"] == int(stances["Body ID"].isin(ids.iloc[60:80]).sum())
    assert r["evaluation"].startswith("test file")
    # better than all-unrelated, which scores 0.25 per unrelated pair only
    test = stances[stances["Body ID"].isin(ids.iloc[60:80])]
    all_unrelated = (
        100
        * 0.25
        * (test.Stance == "unrelated").sum()
        / (0.25 * (test.Stance == "unrelated").sum() + (test.Stance != "unrelated").sum())
    )
    assert r["score"] > all_unrelated
    assert 0 <= r["macro_f1"] <= 1


@needs_data
@pytest.mark.parametrize("name", ["semeval2016", "emergent", "clef2019"])
def test_dev_split_smoke(name, tmp_path):
    """A small slice of each training file in its official layout, scored on a dev split."""
    src = SHARED_DATA / BENCHMARKS[name].data
    if name == "clef2019":
        for f in sorted(src.glob("*.tsv"))[:4]:
            (tmp_path / f.name).write_text("\n".join(f.read_text("utf-8").splitlines()[:400]) + "\n")
        train = tmp_path
    elif name == "semeval2016":
        lines = src.read_bytes().splitlines()
        train = tmp_path / "train.txt"
        train.write_bytes(b"\n".join(lines[:1] + lines[1::5]) + b"\n")
    else:
        df = pd.read_csv(src, index_col=0)
        train = tmp_path / "train.csv"
        _subsample(df, "claimId", 60).to_csv(train)
    r = run_benchmark(name, train, fast=True)
    assert r.benchmark == name and r.evaluation.startswith("dev split")
    assert r.n_train > r.n_test > 0
    assert r.fit_seconds >= 0
    table = results_table([r])
    assert BENCHMARKS[name].title in table
    assert ("fast subsample" in table) == r.subsampled
    if name == "semeval2016":
        assert set(r.details["per_target"]) == {
            "Atheism",
            "Climate Change is a Real Concern",
            "Feminist Movement",
            "Hillary Clinton",
            "Legalization of Abortion",
        }
        assert 0 <= r.score <= 100
    else:
        assert 0 <= r.score <= 1


@pytest.mark.slow
def test_bench_all_fast_on_the_shared_training_data(cli):
    """`annotate bench all --fast` on ../shared/data: every benchmark present, dev-split figures."""
    from tests.conftest import ROOT, SHARED

    data = SHARED / "data"
    if not data.is_dir():
        pytest.fail(f"{data} is missing: the benchmark data must sit in ../shared beside the repository")
    out_file = ROOT / "artifacts" / "bench-all-fast.md"
    code, out, err = cli("bench", "all", "--data", data, "--fast", "-o", out_file)
    assert code == 0, err
    table = out_file.read_text("utf-8")
    for name in ("SemEval-2016", "FNC-1", "Emergent", "CLEF-2019"):
        assert name in table, f"{name} missing from:\n{table}"
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 4
    for row in rows:
        score = row.split("|")[3].strip()
        assert score and score.lower() not in ("nan", "n/a"), row


# --- one model family: benchmarks train through annotate.models.train with a user preset -------


def _stories(n_stories: int = 30) -> pd.DataFrame:
    rows = []
    for s in range(n_stories):
        for h in range(2):
            for b in range(2):
                label = ["Agree", "Discuss", "Disagree", "Discuss"][(h + 2 * b + s) % 4]
                rows.append(
                    {"target": f"headline {s}-{h}", "group": f"{s}-{b}", "text": f"body {s} {b}", "label": label}
                )
        other = (s + 1) % n_stories
        rows.append(
            {"target": f"headline {s}-0", "group": f"{other}-1", "text": f"body {other} 1", "label": "Unrelated"}
        )
    df = pd.DataFrame(rows)
    df["raw_label"] = df["label"].str.lower()
    df["body_id"] = df["group"]
    return df


def test_fnc1_dev_split_holds_out_whole_stories_and_tops_up_unrelated():
    """FNC-1's test shares no headline and no body with training; the old dev split (bodies only) leaked."""
    from annotate.bench.run import fnc1_topic_split

    train, dev = fnc1_topic_split(_stories(), fraction=0.2, seed=0)
    assert len(train) and len(dev)
    assert not set(train["target"]) & set(dev["target"])
    assert not set(train["group"]) & set(dev["group"])
    share = (dev["label"] == "Unrelated").mean()
    assert 0.6 < share < 0.8, share
    story = dev["target"].str.extract(r"headline (\d+)-")[0]
    body_story = dev["group"].str.split("-").str[0]
    unrelated = dev["label"] == "Unrelated"
    assert (story[unrelated] != body_story[unrelated]).all()
    assert (story[~unrelated] == body_story[~unrelated]).all()


@pytest.mark.parametrize("name", ["semeval2016", "fnc1", "emergent", "clef2019", "claimbuster"])
def test_each_benchmark_trains_the_users_model_of_its_preset(name):
    """No benchmark-only model: the fitted estimator is the preset's Pipeline, fitted by train()."""
    from annotate.bench import run
    from annotate.models.presets import make_model

    if name == "clef2019":
        df = pd.DataFrame(
            {
                "text": [
                    f"We cut taxes by {i}% in 20{i:02d}." if i % 3 == 0 else f"Thank you, {i}." for i in range(60)
                ],
                "group": [f"debate{i % 3}" for i in range(60)],
                "speaker": ["A", "B"] * 30,
            }
        )
        df["label"] = np.where(df.index % 3 == 0, "Check-worthy", "Not check-worthy")
        df["target"] = ""
    elif name == "claimbuster":
        df = pd.DataFrame({"text": [f"We cut taxes by {i}%." if i % 2 else f"Hello {i}." for i in range(40)]})
        df["label"] = np.where(df.index % 2 == 1, "Check-worthy", "Not check-worthy")
        df["target"], df["group"] = "", df.index.astype(str)
    else:
        labels = {"semeval2016": ["Favor", "Against", "None"], "fnc1": ["Agree", "Disagree", "Discuss", "Unrelated"]}
        values = labels.get(name, ["For", "Against", "Observing"])
        df = pd.DataFrame(
            {
                "text": [f"{v} text number {i} says {v.lower()}" for i in range(12) for v in values],
                "target": [f"target {i % 2}" for i in range(12) for _ in values],
                "label": [v for _ in range(12) for v in values],
            }
        )
        df["group"] = df.index.astype(str)
    model = run._fit(name, df)
    kind = "claim" if name in ("clef2019", "claimbuster") else "stance"
    expected = make_model(BENCHMARKS[name].preset, kind)
    if kind == "claim":  # the checkworthy preset tunes the F1 threshold of a binary field
        assert isinstance(model, TunedThresholdClassifierCV)
        model = model.estimator_
    assert type(model) is type(expected)
    assert set(model.get_params()) == set(expected.get_params())
    assert set(model.classes_) == set(df["label"])
