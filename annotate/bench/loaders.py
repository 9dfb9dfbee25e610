"""Loaders for the public benchmarks, each returning one tidy table in the project's shape.

Every loader returns a DataFrame with at least these columns:

    text    the text to label (tweet, article body, article headline, sentence)
    target  what the stance is toward (SemEval target, FNC headline, Emergent claim; "" for check-worthiness)
    label   the gold label as a Choice value of the benchmark's schema in ``schemas/`` (package data)
    group   the unit a dev split must not cut: tweet id, body id, claim id, debate, sentence id

plus ``raw_label`` (the label as the file spells it) and dataset-specific columns: ``body_id`` for
FNC-1, ``speaker`` and ``line`` for CLEF-2019. Labels are checked against the schema's choices, so
the same table can be pushed to Label Studio for annotation or review.

The file layouts are the official ones (see ``../shared/notes/benchmarks.md``); test files share the
training files' columns, so one loader reads both.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from annotate.errors import InputError
from annotate.resources import data_path

__all__ = [
    "SCHEMAS",
    "LABEL_MAPS",
    "load_semeval2016",
    "load_fnc1",
    "fnc1_bodies_path",
    "load_emergent",
    "load_clef2019",
    "load_claimbuster",
    "schema_path",
]

_SCHEMA_DIR = data_path("schemas")

#: benchmark -> (schema file, field) whose Choice values the loader's labels are
SCHEMAS: dict[str, tuple[str, str]] = {
    "semeval2016": ("bench_semeval2016.xml", "stance"),
    "fnc1": ("bench_fnc1.xml", "stance"),
    "emergent": ("bench_emergent.xml", "stance"),
    "clef2019": ("bench_checkworthy.xml", "checkworthy"),
    "claimbuster": ("bench_checkworthy.xml", "checkworthy"),
}

#: benchmark -> {label as the file spells it: schema Choice value}
LABEL_MAPS: dict[str, dict[str, str]] = {
    "semeval2016": {"FAVOR": "Favor", "AGAINST": "Against", "NONE": "None"},
    "fnc1": {"agree": "Agree", "disagree": "Disagree", "discuss": "Discuss", "unrelated": "Unrelated"},
    "emergent": {"for": "For", "against": "Against", "observing": "Observing"},
    "clef2019": {"1": "Check-worthy", "0": "Not check-worthy"},
    "claimbuster": {"1": "Check-worthy", "0": "Not check-worthy"},
}

_COLUMNS = ["text", "target", "label", "group"]


def schema_path(benchmark: str) -> Path:
    """The Label Studio config in ``schemas/`` that a benchmark's labels belong to."""
    return _SCHEMA_DIR / SCHEMAS[benchmark][0]


def _check_labels_in_schema(benchmark: str) -> None:
    """Fail loudly if the label map and the schema file have drifted apart."""
    from annotate.schema import Schema

    name, field = SCHEMAS[benchmark]
    values = set(Schema.from_file(_SCHEMA_DIR / name).field(field).values)
    missing = sorted(set(LABEL_MAPS[benchmark].values()) - values)
    if missing:
        raise InputError(
            f"labels {missing} are not choices of field '{field}'",
            path=_SCHEMA_DIR / name,
            hint=f"add them to the schema or fix annotate.bench.loaders.LABEL_MAPS['{benchmark}']",
        )


def _need_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such {what} file", path=path, hint="check the path")
    return path


def _need_columns(df: pd.DataFrame, columns: list[str], path: Path, layout: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)} (found: {', '.join(map(str, df.columns)) or 'none'})",
            path=path,
            hint=f"give a file in the official layout: {layout}",
        )


def _map_labels(benchmark: str, raw: pd.Series, path: Path, *, first_line: int = 2) -> pd.Series:
    """Map file labels onto schema values; an unknown label is an error naming its line.

    Test files without gold labels (SemEval's ``UNKNOWN``) give an empty label.
    """
    mapping = LABEL_MAPS[benchmark]
    raw = raw.astype(str).str.strip()
    mapped = raw.map(mapping)
    unknown = mapped.isna() & ~raw.str.upper().isin(["UNKNOWN", ""])
    if unknown.any():
        pos = int(unknown.to_numpy().argmax())
        raise InputError(
            f"unknown label '{raw.iloc[pos]}'",
            path=path,
            line=pos + first_line,
            hint=f"labels must be one of: {', '.join(mapping)}",
        )
    _check_labels_in_schema(benchmark)
    return mapped.fillna("")


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(
            f"cannot read as {'TSV' if kwargs.get('sep') == chr(9) else 'CSV'} ({str(err).splitlines()[0][:120]})",
            path=path,
            hint="give a file in the dataset's official layout",
        ) from None


# --- SemEval-2016 Task 6 ----------------------------------------------------------------


def load_semeval2016(path: str | Path) -> pd.DataFrame:
    """Read a SemEval-2016 Task 6 file: tab-separated ``ID, Target, Tweet, Stance`` with a header.

    Two training tweets hold non-UTF-8 bytes, so the file is decoded as UTF-8 where it can be and
    as cp1252 line by line where it cannot. ``group`` is the tweet id (a dev split stratifies per
    target instead). The unlabeled test file (Stance ``UNKNOWN``) gives empty labels.
    """
    path = _need_file(path, "SemEval-2016")
    lines = []
    for raw in path.read_bytes().splitlines():
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("cp1252", errors="replace"))
    df = _read_tsv_text("\n".join(lines), path)
    _need_columns(df, ["ID", "Target", "Tweet", "Stance"], path, "ID<TAB>Target<TAB>Tweet<TAB>Stance with a header")
    out = pd.DataFrame(
        {
            "text": df["Tweet"].str.strip(),
            "target": df["Target"].str.strip(),
            "label": _map_labels("semeval2016", df["Stance"], path),
            "group": df["ID"].astype(str),
            "raw_label": df["Stance"].str.strip(),
            "id": df["ID"].astype(str),
        }
    )
    return out


def _read_tsv_text(text: str, path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(
            f"cannot read as TSV ({str(err).splitlines()[0][:120]})",
            path=path,
            hint="give a tab-separated file in the official layout",
        ) from None


# --- FNC-1 --------------------------------------------------------------------------------


def fnc1_bodies_path(stances: str | Path) -> Path:
    """The bodies file that sits beside an FNC-1 stances file, by the official naming.

    ``train_stances.csv`` -> ``train_bodies.csv``; ``competition_test_stances.csv`` ->
    ``competition_test_bodies.csv``; in general ``X_stances*.csv`` -> ``X_bodies.csv``.
    """
    stances = Path(stances)
    stem = stances.stem
    if "_stances" in stem:
        prefix = stem[: stem.index("_stances")]
        return stances.with_name(f"{prefix}_bodies.csv")
    if stem.startswith("stances"):
        return stances.with_name("bodies.csv")
    raise InputError(
        "cannot tell which bodies file belongs to this stances file",
        path=stances,
        hint="name it X_stances.csv with X_bodies.csv beside it (as train_stances.csv / train_bodies.csv)",
    )


def load_fnc1(stances: str | Path, bodies: str | Path | None = None) -> pd.DataFrame:
    """Read an FNC-1 pair: ``Headline, Body ID, Stance`` plus ``Body ID, articleBody`` beside it.

    ``target`` is the headline, ``text`` the article body, ``group`` and ``body_id`` the body id
    (a dev split keeps each body on one side, as the official split does). A stances file without
    a ``Stance`` column (the unlabeled test file) gives empty labels.
    """
    stances = _need_file(stances, "FNC-1 stances")
    bodies = Path(bodies) if bodies is not None else fnc1_bodies_path(stances)
    if not bodies.is_file():
        raise InputError(
            f"no bodies file beside the stances file (looked for {bodies.name})",
            path=stances,
            hint=f"put the official bodies file at {bodies}",
        )
    s = _read_csv(stances, dtype=str, keep_default_na=False, encoding="utf-8")
    _need_columns(s, ["Headline", "Body ID"], stances, "Headline,Body ID,Stance")
    b = _read_csv(bodies, dtype=str, keep_default_na=False, encoding="utf-8")
    _need_columns(b, ["Body ID", "articleBody"], bodies, "Body ID,articleBody")
    body_of = dict(zip(b["Body ID"].str.strip(), b["articleBody"], strict=False))
    ids = s["Body ID"].str.strip()
    missing = ~ids.isin(body_of.keys())
    if missing.any():
        pos = int(missing.to_numpy().argmax())
        raise InputError(
            f"Body ID {ids.iloc[pos]} is not in {bodies.name}",
            path=stances,
            line=pos + 2,
            hint="give the bodies file that belongs to these stances",
        )
    raw = s["Stance"] if "Stance" in s.columns else pd.Series([""] * len(s))
    return pd.DataFrame(
        {
            "text": ids.map(body_of),
            "target": s["Headline"],
            "label": _map_labels("fnc1", raw, stances),
            "group": ids,
            "raw_label": raw.astype(str).str.strip(),
            "body_id": ids,
        }
    )


# --- Emergent -----------------------------------------------------------------------------


def load_emergent(path: str | Path) -> pd.DataFrame:
    """Read Emergent (Ferreira and Vlachos 2016): an index column, then ``claimHeadline,
    articleHeadline, articleHeadlineStance, articleId, claimId``.

    ``target`` is the claim, ``text`` the article headline, ``group`` the claim id (train and test
    share no claims, so a dev split must not either).
    """
    path = _need_file(path, "Emergent")
    df = _read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    layout = ",claimHeadline,articleHeadline,articleHeadlineStance,articleId,claimId"
    _need_columns(df, ["claimHeadline", "articleHeadline", "articleHeadlineStance", "claimId"], path, layout)
    return pd.DataFrame(
        {
            "text": df["articleHeadline"],
            "target": df["claimHeadline"],
            "label": _map_labels("emergent", df["articleHeadlineStance"], path),
            "group": df["claimId"],
            "raw_label": df["articleHeadlineStance"].str.strip(),
            "article_id": df["articleId"] if "articleId" in df.columns else "",
        }
    )


# --- CLEF-2019 CheckThat! Task 1 ----------------------------------------------------------


def load_clef2019(path: str | Path) -> pd.DataFrame:
    """Read CLEF-2019 CheckThat! Task 1 debates: a folder of ``.tsv`` files (or one file).

    Each file is one debate or speech, tab-separated without a header: ``line_number, speaker,
    text, label``. ``group`` is the file's stem (the debate), ``line`` the line number, ``target``
    is empty; ``previous`` and ``next`` are the neighbouring lines of the same debate and
    ``position`` the line's relative position in it, as ``annotate ingest`` gives a sentence.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.tsv"))
        if not files:
            raise InputError("no .tsv debate files in this folder", path=path, hint="give the folder of debate files")
    elif path.is_file():
        files = [path]
    else:
        raise InputError("no such CLEF-2019 file or folder", path=path, hint="give a folder of debate .tsv files")
    frames = []
    for f in files:
        rows = []
        for n, raw in enumerate(f.read_text("utf-8", errors="replace").splitlines(), start=1):
            if not raw.strip():
                continue
            parts = raw.split("\t")
            if len(parts) < 3 or not parts[0].strip().isdigit():
                raise InputError(
                    f"expected line_number<TAB>speaker<TAB>text<TAB>label, got {len(parts)} field(s)",
                    path=f,
                    line=n,
                    hint="give a debate file in the official CLEF-2019 layout",
                )
            rows.append((int(parts[0]), parts[1].strip(), parts[2], parts[3].strip() if len(parts) > 3 else ""))
        df = pd.DataFrame(rows, columns=["line", "speaker", "text", "raw_label"])
        if df.empty:
            raise InputError("debate file is empty", path=f, hint="remove it or give the full file")
        df["label"] = _map_labels("clef2019", df["raw_label"], f, first_line=1)
        df["group"] = f.stem
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["target"] = ""
    # what a sentence record of `annotate ingest` carries: its neighbours and relative position
    by_debate = out.groupby("group", sort=False)["text"]
    out["previous"] = by_debate.shift(1).fillna("")
    out["next"] = by_debate.shift(-1).fillna("")
    out["position"] = out.groupby("group", sort=False).cumcount() / out["group"].map(out["group"].value_counts())
    return out[[*_COLUMNS, "raw_label", "speaker", "line", "previous", "next", "position"]]


# --- ClaimBuster --------------------------------------------------------------------------


def load_claimbuster(path: str | Path) -> pd.DataFrame:
    """Read ClaimBuster's ``kfold_25ncs.csv``: ``sentence_id, screening, label, text``.

    Label 1 is a check-worthy factual sentence (CFS), 0 the rest. ``group`` is the sentence id.
    """
    path = _need_file(path, "ClaimBuster")
    df = _read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    _need_columns(df, ["sentence_id", "label", "text"], path, "sentence_id,screening,label,text")
    raw = df["label"].str.strip().str.replace(r"\.0$", "", regex=True)
    return pd.DataFrame(
        {
            "text": df["text"],
            "target": "",
            "label": _map_labels("claimbuster", raw, path),
            "group": df["sentence_id"].astype(str),
            "raw_label": raw,
            "speaker": "",
        }
    )
