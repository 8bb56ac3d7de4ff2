"""The learner page's nudge preview: the panel offers it to coaches and admins (hidden until
preview.js shows it), and the stream it opens with the page's session stores no nudge."""

import json
import re

import pytest

from nudges.generation import FALLBACK_REASONS
from nudges.llm.fake_server import FakeLLMServer
from nudges.models import LLMCall, Nudge
from tests.nudges.generation_factories import scored_learner
from tests.nudges.pages_factories import World, client_for, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def test_coaches_get_the_preview_hidden_until_its_script_shows_it(world: World) -> None:
    body = client_for(world.coach).get(f"/dashboard/learners/{world.learner.pk}/").content.decode()

    root = re.search(r'<div id="nudge-preview"[^>]*>', body)
    assert root is not None
    assert f'data-preview-url="/api/v1/nudges/stream/?learner={world.learner.pk}"' in root[0]
    assert root[0].endswith(" hidden>")
    assert '<script src="/static/nudges/preview.js" defer></script>' in body
    reasons = re.search(
        r'<script id="nudge-preview-reasons" type="application/json">(.*?)</script>', body
    )
    assert reasons is not None
    assert json.loads(reasons[1]) == {key: str(text) for key, text in FALLBACK_REASONS.items()}


def test_analysts_get_no_preview(world: World) -> None:
    body = (
        client_for(world.analyst).get(f"/dashboard/learners/{world.learner.pk}/").content.decode()
    )
    assert "nudge-preview" not in body
    assert "preview.js" not in body


@pytest.mark.usefixtures("rules_model")
def test_the_stream_under_the_page_session_writes_no_nudge(
    world: World, fake_llm: FakeLLMServer
) -> None:
    learner = scored_learner(cohort=world.mine)

    response = client_for(world.coach).get(
        "/api/v1/nudges/stream/", {"learner": str(learner.pk)}, HTTP_ACCEPT="text/event-stream"
    )
    text = b"".join(response.streaming_content).decode()

    assert response.status_code == 200
    assert text.count("event: delta\n") > 1
    assert text.rstrip().split("\n\n")[-1].startswith('event: done\ndata: {"source": "llm"')
    assert not Nudge.objects.exists()
    assert list(LLMCall.objects.values_list("purpose", flat=True)) == ["preview"]
