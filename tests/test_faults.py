"""Fault injection: commands killed with SIGKILL, a full disk, two of a command at once.

Every writing command is run as a user runs it (``python -m annotate`` in its own process):
- killed at a moment when it is writing, then run again: nothing half-written is left behind, and
  the second run's output is whole (before, every kill left a hidden temporary file for good);
- on a full disk (a 64 kB tmpfs, mounted in a private mount namespace with ``unshare``, so no
  root is needed and nothing outlives the test): one line on stderr, exit 1, nothing left there;
- twice at once onto the same output: both succeed and the output is one run's whole output.

The layer is marked ``faults``; the Label Studio parts (pull) are in the integration layer too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from annotation_rows import row
from models_data import claim_rows, demo_model, stance_rows, write_csv

from annotate.io import utc_stamp, write_jsonl
from annotate.resources import data_path
from annotate.studio.pull import COLUMNS

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = data_path("corpora", "sample", "mexico-news-daily-2025-12-17-mananera.txt")
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def annotate(*args: object) -> list[str]:
    return [sys.executable, "-m", "annotate", *(str(a) for a in args)]


def hidden(folder: Path) -> list[str]:
    """What a command leaves behind that is not an output: dot files and folders."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.exists() else []


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough documents that ingest writes for a while (200 copies of the sample article)."""
    folder = tmp_path_factory.mktemp("corpus")
    text = SAMPLE.read_text("utf-8")
    for i in range(200):
        body = text.replace("id: mexico-news-daily", f"id: copy{i}-mexico-news-daily", 1)
        (folder / f"doc{i:03d}.txt").write_text(body, "utf-8")
    return folder


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, schema_path_module: Path) -> dict[str, Path]:
    """One input for each writing command: sentences, a model, labels, an annotations folder."""
    tmp = tmp_path_factory.mktemp("inputs")
    sentences = tmp / "sentences.jsonl"
    subprocess.run(annotate("ingest", SAMPLE, "-o", sentences), env=ENV, check=True, capture_output=True)
    ann = tmp / "ann"
    rows = [row(f"s{i}", who, "claim_type", label, i) for i in range(40) for who, label in
            (("a", "Opinion"), ("b", "Opinion" if i % 3 else "Not a claim"))]  # fmt: skip
    records = pd.DataFrame(rows).reindex(columns=COLUMNS).astype(object)
    write_jsonl(ann / f"{utc_stamp()}.annotations.jsonl", records.where(records.notna(), None).to_dict("records"))
    return {
        "sentences": sentences,
        "model": demo_model(tmp_path_factory, schema_path_module),
        "labels": write_csv(tmp / "labels.csv", claim_rows() + stance_rows()),
        "annotations": ann,
    }


@pytest.fixture(scope="module")
def schema_path_module() -> Path:
    return data_path("schemas", "claims_stance.xml")


def writing_commands(inputs: dict[str, Path], out: Path) -> dict[str, list[str]]:
    """Each command that writes, with its output under ``out``."""
    schema = data_path("schemas", "claims_stance.xml")
    return {
        "ingest": annotate("ingest", SAMPLE, "-o", out / "sentences.jsonl"),
        "predict": annotate("predict", inputs["model"], inputs["sentences"], "-o", out / "predictions.jsonl",
                            "--jobs", "1"),
        "suggest": annotate("suggest", inputs["model"], inputs["sentences"], "-o", out / "suggestions.jsonl"),
        "train": annotate("train", inputs["labels"], "-o", out / "model", "--n-splits", "2", "--no-learning-curve"),
        "resolve": annotate("resolve", inputs["annotations"], "-o", out / "gold.jsonl", "--schema", schema),
        "report": annotate("report", "agreement", inputs["annotations"], "-o", out / "agreement.html",
                           "--schema", schema),
    }  # fmt: skip


# --- a full disk -------------------------------------------------------------------------------------

_FULL_DISK = r"""
mount -t tmpfs -o size=64k tmpfs "$0" || exit 99
dd if=/dev/zero of="$0/filler" bs=4k 2>/dev/null  # until the disk is full
"$@"; rc=$?
echo "@@left: $(ls -A "$0" | tr '\n' ' ')" >&2
exit $rc
"""


def on_full_disk(disk: Path, cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, str, list[str]]:
    """Run ``cmd`` with ``disk`` a full tmpfs; (exit code, stderr, what is left on the disk)."""
    if shutil.which("unshare") is None:
        pytest.fail("the full-disk tests need `unshare` (util-linux)")
    disk.mkdir(exist_ok=True)
    done = subprocess.run(["unshare", "-rm", "sh", "-c", _FULL_DISK, str(disk), *cmd],
                          env=env or ENV, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode != 99, f"could not mount a tmpfs in a user namespace: {done.stderr}"
    err, _, left = done.stderr.rpartition("@@left: ")
    return done.returncode, err, left.split()


@pytest.mark.parametrize("command", ["ingest", "predict", "suggest", "train", "resolve", "report"])
def test_a_full_disk_is_one_line_exit_1_and_nothing_left(tmp_path: Path, inputs: dict[str, Path], command: str):
    disk = tmp_path / "disk"
    code, err, left = on_full_disk(disk, writing_commands(inputs, disk)[command])
    lines = err.strip().splitlines()
    assert code == 1, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert "disk" in lines[0] or "space" in lines[0], lines[0]
    assert left == ["filler"], f"{command} left {left} on the full disk"


# --- killed, then run again ----------------------------------------------------------------------------


def _kill_while(cmd: list[str], writing: Path, *, timeout: float = 120) -> bool:
    """Start ``cmd`` and SIGKILL it as soon as a temporary file shows up in ``writing``; True if it did."""
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if writing.is_dir() and any(p.name.endswith((".tmp", ".building")) for p in writing.iterdir()):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.002)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["ingest", "train"])
def test_a_killed_command_leaves_nothing_behind_once_run_again(
    tmp_path: Path, inputs: dict[str, Path], corpus: Path, command: str
):
    """Before, a SIGKILL left `.NAME.*.tmp` (or a half-built model folder) that no run removed."""
    out = tmp_path / "out"
    cmd = writing_commands(inputs, out)[command]
    if command == "ingest":
        cmd = annotate("ingest", corpus, "-o", out / "sentences.jsonl", "--jobs", "1")
    killed = sum(_kill_while(cmd, out) for _ in range(3))
    assert killed, "the command always finished before it could be killed: give it more to do"
    assert hidden(out), "the kill left nothing to clean up: the test did not test anything"
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert hidden(out) == [], f"a killed {command} left {hidden(out)} after the next run"
    if command == "ingest":
        lines = (out / "sentences.jsonl").read_text("utf-8").splitlines()
        assert len({json.loads(x)["doc_id"] for x in lines}) == 200


# --- two at once ------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("command", ["ingest", "predict", "train", "resolve"])
def test_two_at_once_onto_one_output_both_succeed_and_the_output_is_whole(
    tmp_path: Path, inputs: dict[str, Path], command: str
):
    alone = tmp_path / "alone"
    cmd = writing_commands(inputs, alone)[command]
    subprocess.run(cmd, env=ENV, check=True, capture_output=True, timeout=600)
    out = tmp_path / "out"
    cmd = writing_commands(inputs, out)[command]
    procs = [subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    assert hidden(out) == []
    if command == "train":
        from annotate.models.store import load
        from annotate.schema import Schema

        load(out / "model", Schema.from_file(data_path("schemas", "claims_stance.xml")))
        assert sorted(p.name for p in (out / "model").iterdir()) == sorted(p.name for p in (alone / "model").iterdir())
    else:
        (name,) = [p.name for p in alone.iterdir() if not p.name.endswith(".conflicts.jsonl")]
        assert (out / name).read_text("utf-8").splitlines() == (alone / name).read_text("utf-8").splitlines()


# --- pull against the real server: killed, and several at once -------------------------------------------


@pytest.fixture(scope="module")
def big_project(studio, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A project large enough that a pull takes a moment to download and flatten (20 articles)."""
    tmp = tmp_path_factory.mktemp("big")
    docs = tmp / "docs"
    docs.mkdir()
    for p in sorted(corpus.iterdir())[:20]:
        shutil.copy(p, docs / p.name)
    title = studio.project_title("faults")
    env = {**ENV, "LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.token}
    subprocess.run(annotate("ingest", docs, "-o", tmp / "s.jsonl"), env=env, check=True, capture_output=True)
    subprocess.run(annotate("push", tmp / "s.jsonl", "--project", title), env=env, check=True, capture_output=True)
    return title


def _our_exports(studio, title: str) -> list[str]:
    ls = studio.client()
    (project,) = [p for p in ls.projects.list() if p.title == title]
    return [e.title for e in ls.projects.exports.list(id=project.id) if (e.title or "").startswith("annotate pull")]


def _snapshots_whole(folder: Path) -> int:
    """Every snapshot in ``folder`` has its three files and a table as long as its summary says; their number."""
    tables = sorted(folder.glob("*.annotations.jsonl"))
    for table in tables:
        stamp = table.name.removesuffix(".annotations.jsonl")
        summary = json.loads((folder / f"{stamp}.summary.json").read_text("utf-8"))
        assert (folder / f"{stamp}.export.json").is_file()
        assert len(table.read_text("utf-8").splitlines()) == summary["rows"]
    return len(tables)


@pytest.mark.integration
@pytest.mark.slow
def test_a_killed_pull_leaves_nothing_on_the_server_or_the_disk_once_run_again(studio, big_project: str, tmp_path):
    """Before, each killed pull left its export snapshot on the server and hidden files on disk, for good."""
    from annotate.studio.pull import OWNER_FILE, project_folder

    env = {**ENV, "LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.token}
    out = tmp_path / "annotations"
    cmd = annotate("pull", "--project", big_project, "-o", out)
    folder = project_folder(out, big_project)
    killed = 0
    for _ in range(3):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            if folder.is_dir() and any(p.name.endswith(".tmp") for p in folder.iterdir()):
                os.kill(proc.pid, signal.SIGKILL)
                killed += 1
                break
            time.sleep(0.002)
        proc.wait()
    assert killed, "every pull finished before it could be killed"
    assert _our_exports(studio, big_project), "the kills left no export behind: the test tested nothing"
    done = subprocess.run(cmd, env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "an interrupted pull had left on the server" in done.stdout
    assert _our_exports(studio, big_project) == []
    assert [n for n in hidden(folder) if n != OWNER_FILE] == []
    assert _snapshots_whole(folder) >= 1


@pytest.mark.integration
@pytest.mark.slow
def test_three_pulls_at_once_all_succeed_with_whole_snapshots(studio, big_project: str, tmp_path):
    """On sqlite, pulls at once failed with the server's HTML error page; now they take turns."""
    from annotate.studio.pull import OWNER_FILE, project_folder

    env = {**ENV, "LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.token}
    out = tmp_path / "annotations"
    cmd = annotate("pull", "--project", big_project, "-o", out)
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]  # fmt: skip
    results = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in results]
    folder = project_folder(out, big_project)
    assert _snapshots_whole(folder) == 3
    assert [n for n in hidden(folder) if n != OWNER_FILE] == []
    assert _our_exports(studio, big_project) == []


# --- Label Studio itself killed mid-push and mid-pull -------------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path):
    """A Label Studio of this test alone (a copy of the migrated template), since the test kills it."""
    from annotate.studio import server
    from tests.studio_server import _RUNTIME_FILES, _template

    data_dir = tmp_path / "ls"
    shutil.copytree(_template(900), data_dir, ignore=shutil.ignore_patterns(*_RUNTIME_FILES))
    info = server.start(data_dir, port=server.free_port(), detach=False, database="sqlite")
    try:
        yield data_dir, info
    finally:
        server.stop(data_dir)


def _kill_label_studio(data_dir: Path) -> None:
    pid = int((data_dir / "server.pid").read_text())
    os.killpg(pid, signal.SIGKILL)  # its whole process group, as a crash or the OOM killer would


@pytest.mark.integration
@pytest.mark.slow
def test_label_studio_killed_mid_push_and_mid_pull_then_reruns_lose_and_duplicate_nothing(
    own_server, corpus: Path, tmp_path: Path
):
    import httpx

    from annotate.studio import server
    from annotate.studio.pull import OWNER_FILE, project_folder

    data_dir, info = own_server
    token = server.read_token(data_dir)
    env = {**ENV, "LABEL_STUDIO_URL": info.url, "LABEL_STUDIO_API_KEY": token}
    headers = {"Authorization": f"Token {token}"}
    docs = tmp_path / "docs"
    docs.mkdir()
    for p in sorted(corpus.iterdir())[:60]:  # several batches of 1,000 tasks
        shutil.copy(p, docs / p.name)
    subprocess.run(annotate("ingest", docs, "-o", tmp_path / "s.jsonl"), env=env, check=True, capture_output=True)
    title = "killed-server"
    push = annotate("push", tmp_path / "s.jsonl", "--project", title)

    def project() -> dict | None:
        found = httpx.get(f"{info.url}/api/projects", params={"title": title}, headers=headers, timeout=30).json()
        found = found.get("results", found) if isinstance(found, dict) else found
        return next((p for p in found if p["title"] == title), None)

    proc = subprocess.Popen(push, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and not ((p := project()) and p.get("task_number")):
        time.sleep(0.05)
    assert proc.poll() is None, "push finished before the server could be killed: give it more to do"
    _kill_label_studio(data_dir)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    info = server.start(data_dir, port=info.port, detach=False, database="sqlite")
    done = subprocess.run(push, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    pid = project()["id"]
    keys = []
    page = 1
    while True:
        r = httpx.get(f"{info.url}/api/tasks", params={"project": pid, "page": page, "page_size": 1000,
                                                        "fields": "all"}, headers=headers, timeout=60)  # fmt: skip
        if r.status_code == 404:
            break
        batch = r.json()["tasks"]
        keys += [t["data"]["task_key"] for t in batch]
        if len(batch) < 1000:
            break
        page += 1
    expected = [json.loads(x)["sentence_id"] for x in (tmp_path / "s.jsonl").read_text("utf-8").splitlines()]
    assert len(keys) == len(set(keys)) and {k.split("@")[0] for k in keys} == set(expected)

    out = tmp_path / "annotations"
    folder = project_folder(out, title)
    pull = annotate("pull", "--project", title, "-o", out)
    proc = subprocess.Popen(pull, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    while proc.poll() is None:
        if folder.is_dir() and any(p.name.endswith(".tmp") for p in folder.iterdir()):
            _kill_label_studio(data_dir)
            killed = True
            break
        time.sleep(0.002)
    _out, err = proc.communicate(timeout=300)
    if killed:
        assert proc.returncode == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert [n for n in hidden(folder) if n != OWNER_FILE] == [] and not list(folder.glob("*.annotations.jsonl"))
        info = server.start(data_dir, port=info.port, detach=False, database="sqlite")
    done = subprocess.run(pull, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert _snapshots_whole(folder) == 1
    exports = httpx.get(f"{info.url}/api/projects/{pid}/exports", headers=headers, timeout=30).json()
    assert [e for e in exports if (e.get("title") or "").startswith("annotate pull")] == []
    assert killed, "the pull finished before the server could be killed"


@pytest.mark.slow
def test_serve_killed_mid_retrain_restarts_on_its_model_and_leaves_nothing_behind(tmp_path: Path, inputs):
    """A server killed while building a version left its half-built folder for good."""
    import httpx

    from tests.test_serve import _start, _stop

    models = tmp_path / "models"
    shutil.copytree(inputs["model"], models / "demo")
    schema = data_path("schemas", "claims_stance.xml")
    auth = ("t", "pw-for-the-test")
    env = {"ANNOTATE_SERVE_AUTH": ":".join(auth)}
    start = {"action": "START_TRAINING", "project": {"id": 1}}
    killed = False
    for _ in range(3):
        proc, url, log = _start(models, schema, env)
        first = httpx.get(url + "/health", auth=auth).json()["model_version"]
        assert httpx.post(url + "/webhook", json=start, auth=auth).status_code == 200
        while proc.poll() is None and not any(p.name.endswith(".building") for p in models.iterdir()):
            time.sleep(0.002)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed = True
            _stop(proc, log)
            break
        _stop(proc, log)
    assert killed and hidden(models), "the retrain was never caught half-way"
    proc, url, log = _start(models, schema, env)
    try:
        assert httpx.get(url + "/health", auth=auth).json()["model_version"] == first  # the old model serves
        assert httpx.post(url + "/webhook", json=start, auth=auth).status_code == 200
        deadline = time.monotonic() + 300
        while (h := httpx.get(url + "/health", auth=auth).json())["retrains"] < 1 and not h["last_error"]:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert h["last_error"] is None and h["model_version"] != first
    finally:
        _stop(proc, log)
    assert hidden(models) == [], f"left behind: {hidden(models)}"


@pytest.mark.integration
def test_pull_onto_a_full_disk_is_one_line_and_leaves_nothing(studio, big_project: str, tmp_path: Path):
    disk = tmp_path / "disk"
    env = {**ENV, "LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.token}  # never on a command line
    code, err, left = on_full_disk(disk, annotate("pull", "--project", big_project, "-o", disk / "a"), env)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert "no space left on device" in lines[0]
    assert left == ["filler"], left
    assert _our_exports(studio, big_project) == []
