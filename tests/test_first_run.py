"""A session's first run imports nothing and reads no package metadata: what the libraries load lazily is
loaded with the pipeline, in the background, not in the run's thread beside Anki's window (see
`runner.FIRST_RUN_IMPORTS`); Markdown's extensions are given as objects and code is highlighted by pygments'
own lexers, so neither searches every installed package's entry points (~100 ms holding the GIL)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.build_fixtures import ROOT

FIRST_RUN = """
import importlib.metadata, json, sys
from addon.pipeline.models import ExistingNote, NoteCard, Source
from addon.pipeline.workflow.rereview import ReviewJob
from addon.pipeline.workflow.runner import PipelineRun
from tests.fake_openai import FakeOpenAI
from tests.pipeline_crew import FIVE_TOPICS, Crew, settings_for

with FakeOpenAI() as server:
    server.handler = Crew(cards_per_topic=2)
    searched = []
    entry_points = importlib.metadata.entry_points
    importlib.metadata.entry_points = lambda **kw: searched.append(kw) or entry_points(**kw)
    loaded = set(sys.modules)
    if sys.argv[1] == "generate":
        job = PipelineRun([Source(text=FIVE_TOPICS)], settings_for(server))
    else:
        notes = [ExistingNote(note_id=1, card=NoteCard(kind="basic", front="RSI?", back="first; second"))]
        job = ReviewJob(notes, settings_for(server))
    job.start()
    result = job.result(timeout=60)
made = len(result.cards) if sys.argv[1] == "generate" else len(result.verdicts)
print(json.dumps({"made": made, "imported": sorted(set(sys.modules) - loaded), "searched": searched}))
"""


@pytest.mark.parametrize("job", ["generate", "review"])
def test_a_sessions_first_run_imports_nothing(job: str) -> None:
    """In a fresh interpreter, as in a new Anki session (this one has imported everything already)."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_RUN, job], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])

    assert report["made"] == (10 if job == "generate" else 1)
    assert report["imported"] == []
    assert report["searched"] == [], "entry points were searched"
