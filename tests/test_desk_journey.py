"""The README's "Your own articles", run as a desk runs it, against a real Label Studio.

The commands come from the README itself (between the ``your-own-articles`` markers), so the
README cannot drift from what works (as sqlite-utils' ``test_docs.py`` keeps its docs honest).
The desk is not the sample: three articles of its own (housing, carbon pricing, health), three
stance targets of its own, three simulated annotators (two who follow the truth, one who
disagrees on a third of the tasks), then resolve, train, predict, push, serve, and a retrain after
new annotations, one of them made while ``serve`` was stopped.

The few lines a test cannot run as written are played by the test: ``cp ~/articles/*``
(the desk's articles), ``$EDITOR`` (the desk's targets and a line of its own guidelines),
``studio start`` (the session's server is used, through ``LABEL_STUDIO_URL``), the annotators'
comment line, and ``serve &`` (started on a free port, and stopped and restarted later).
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DESK_DATA = Path(__file__).resolve().parent / "data" / "desk"
GUIDELINE_LINE = "Desk rule 7: a landlord association counts as one speaker."


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split("<!-- your-own-articles -->", 1)[1].split("<!-- /your-own-articles -->", 1)[0]
    code = block.split("```bash", 1)[1].split("```", 1)[0]
    lines = []
    for raw in code.strip().splitlines():
        line = raw.strip()
        if line.startswith("#"):
            lines.append(line)  # the annotators' turn
            continue
        lines.append(re.sub(r"\s+#.*$", "", line))
    return lines


# --- the simulated desk: the truth of each sentence, and annotators who mostly find it ---------------


def true_claim(text: str) -> str:
    if text.rstrip().endswith("?") or text.startswith(("Click", "Photo", "Subscribe")):
        return "Not a claim"
    if re.search(r"\d", text):
        return "Check-worthy factual claim"
    if re.search(r"[\"“”]|\b(should|would|cheapest|forgotten|overdue|good start)\b", text):
        return "Opinion"
    return "Other factual claim"


def true_stance(text: str) -> str:
    if re.search(r"\b(oppose|opposes|reject|rejects|warned|ignores|forgotten|ruin|unaffordable)\b", text):
        return "Against"
    if re.search(r"\b(support|supports|welcomed|protect|cheapest|defends|cut|overdue)\b", text):
        return "Favor"
    return "Neutral"


def answer(task: Any, rng: random.Random, careless: bool) -> list[dict[str, Any]]:
    text = task.data["text"]
    claim = true_claim(text)
    if careless and rng.random() < 0.33:
        claim = rng.choice(["Check-worthy factual claim", "Other factual claim", "Opinion"])
    result = [{"from_name": "claim_type", "to_name": "text", "type": "choices", "value": {"choices": [claim]}}]
    if task.data.get("target_id") and claim != "Not a claim":
        stance = true_stance(text)
        if careless and rng.random() < 0.33:
            stance = rng.choice(["Favor", "Against", "Neutral"])
        result.append({"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [stance]}})
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Desk:
    """Runs the README's lines in the desk folder, as a user's shell would."""

    def __init__(self, studio: Any, tmp: Path) -> None:
        self.studio, self.cwd = studio, tmp
        self.auth = ("desk", "s3cret-desk-pw")
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "OMP_NUM_THREADS": "1",
            "LABEL_STUDIO_URL": studio.url,
            "LABEL_STUDIO_API_KEY": studio.token,
            "ANNOTATE_SERVE_AUTH": ":".join(self.auth),
            "XDG_CONFIG_HOME": str(tmp / "config"),
        }
        self.serve: subprocess.Popen | None = None
        self.serve_url = ""
        self.ran: list[str] = []

    def annotate(self, args: list[str]) -> str:
        done = subprocess.run([sys.executable, "-m", "annotate", *args], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=900)  # fmt: skip
        assert done.returncode == 0, f"annotate {shlex.join(args)} failed in {self.cwd}: {done.stderr}"
        return done.stdout

    def start_serve(self, args: list[str]) -> None:
        port = free_port()
        self.serve_url = f"http://127.0.0.1:{port}"
        log = (self.cwd / "serve.log").open("ab")
        self.serve = subprocess.Popen([sys.executable, "-m", "annotate", *args, "--port", str(port)],
                                      cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.serve.poll() is None, (self.cwd / "serve.log").read_text("utf-8")
            try:
                if httpx.get(f"{self.serve_url}/health", auth=self.auth, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("serve did not start")

    def stop_serve(self) -> None:
        if self.serve is not None:
            self.serve.terminate()
            self.serve.wait(60)
            self.serve = None

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.serve_url}/health", auth=self.auth, timeout=10).json()

    def run(self, line: str, annotators: Any) -> None:
        self.ran.append(line)
        if line.startswith("annotate init"):
            first, _, cd = line.partition(" && ")
            self.annotate(shlex.split(first)[1:])
            assert cd.startswith("cd ")
            self.cwd = self.cwd / cd[3:].strip()
        elif line.startswith("cp "):
            for article in DESK_DATA.glob("*.txt"):
                shutil.copy(article, self.cwd / "articles" / article.name)
        elif line.startswith("$EDITOR"):
            shutil.copy(DESK_DATA / "targets.toml", self.cwd / "schema" / "claims_stance.targets.toml")
            with (self.cwd / "guidelines.md").open("a", encoding="utf-8") as fh:
                fh.write(f"\n{GUIDELINE_LINE}\n")
        elif line == "annotate studio start":
            pass  # the session's server, through LABEL_STUDIO_URL (an environment variable wins)
        elif line.startswith("#"):
            annotators()
        elif line.startswith("annotate serve"):
            self.start_serve(shlex.split(line.rstrip("& "))[1:])
        elif line.startswith("annotate studio connect-model"):
            self.annotate([*shlex.split(line)[1:], "--model-url", self.serve_url])
        else:
            assert line.startswith("annotate "), f"a README line the test cannot run: {line}"
            self.annotate(shlex.split(line)[1:])


def test_the_readme_journey_on_a_desks_own_articles(studio, tmp_path: Path):
    ls = studio.client()
    desk = Desk(studio, tmp_path)
    users = [studio.create_user(f"desk-ann{i}") for i in range(3)]
    rng = random.Random(11)
    project: dict[str, Any] = {}

    def label_all() -> None:
        (p,) = [p for p in ls.projects.list() if p.title == "my-desk"]
        project["id"] = p.id
        tasks = sorted(ls.tasks.list(project=p.id, page_size=1000), key=lambda t: t.id)
        project["reserved"] = tasks[-2:]  # labelled later, once the live model runs
        for task in tasks[:-2]:
            for i, user in enumerate(users):
                ls.annotations.create(id=task.id, result=answer(task, rng, careless=i == 2), completed_by=user.id)

    commands = readme_commands()
    assert commands[0].startswith("annotate init") and any(c.startswith("annotate serve") for c in commands)
    try:
        for line in commands:
            desk.run(line, label_all)
        home = desk.cwd
        # the desk's own targets reached Label Studio, the model and its predictions
        tasks = list(ls.tasks.list(project=project["id"], page_size=1000))
        assert {t.data.get("target_id") for t in tasks} - {"", None} == {"rent-control", "carbon-tax",
                                                                          "hospital-funding"}  # fmt: skip
        details = ls.projects.get(id=project["id"])
        assert GUIDELINE_LINE in (details.expert_instruction or "")  # the desk's guidelines, not the sample's
        preds = [json.loads(x) for x in (home / "predictions.jsonl").read_text("utf-8").splitlines()]
        assert {p["target"] for p in preds if p["field"] == "stance"} <= {"rent-control", "carbon-tax",
                                                                          "hospital-funding"}  # fmt: skip
        assert any(p["field"] == "stance" for p in preds)
        gold = [json.loads(x) for x in (home / "gold.jsonl").read_text("utf-8").splitlines()]
        assert gold and all(g["text"] for g in gold)  # the gold file stands alone
        claim_gold = {g["text"]: g["label"] for g in gold if g["field"] == "claim_type"}
        right = sum(claim_gold[t] == true_claim(t) for t in claim_gold)
        assert right / len(claim_gold) >= 0.9, (right, len(claim_gold))
        assert (home / "gold.csv").read_bytes().startswith(b"\xef\xbb\xbf")

        # the live model: a new annotation while it runs, one while it is stopped (its webhook is lost)
        first = desk.health()["model_version"]
        late = studio.create_user("desk-late")
        heard, missed = project["reserved"]
        ls.annotations.create(id=heard.id, result=answer(heard, rng, careless=False), completed_by=late.id)
        log = home / "models" / "annotations.log.jsonl"
        deadline = time.monotonic() + 60
        while not (log.is_file() and '"ANNOTATION_CREATED"' in log.read_text("utf-8")):
            assert time.monotonic() < deadline, "the webhook never reached serve"
            time.sleep(0.5)
        desk.stop_serve()
        ls.annotations.create(id=missed.id, result=answer(missed, rng, careless=False), completed_by=late.id)
        desk.start_serve(["serve"])
        r = httpx.post(f"{desk.serve_url}/webhook", auth=desk.auth, timeout=30,
                       json={"action": "START_TRAINING", "project": {"id": project["id"]}})  # fmt: skip
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 600
        while (h := desk.health())["retrains"] < 1 and not h["last_error"] and time.monotonic() < deadline:
            time.sleep(1)
        assert h["last_error"] is None and h["retrains"] == 1, h
        assert h["model_version"] != first and h["learned_from"]["label_studio"][str(project["id"])] > len(gold) / 2
        current = json.loads((home / "models" / "current.json").read_text("utf-8"))["folder"]
        learned = (home / "models" / current / "training_labels.jsonl").read_text("utf-8")
        for task in (heard, missed):
            assert json.dumps(task.data["text"], ensure_ascii=False) in learned, task.data["text"]
        assert log.read_text("utf-8").count('"ANNOTATION_CREATED"') == 1  # the second was never heard
    finally:
        desk.stop_serve()
        if "id" in project:
            ls.projects.delete(id=project["id"])
