"""The admin index: flags only through the nudges admin (waffle's own admin is not offered),
and model names as people write them."""

import pytest
from django.contrib import admin
from django.test import Client
from waffle import get_waffle_flag_model, get_waffle_sample_model, get_waffle_switch_model

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_waffle_models_are_not_in_the_admin() -> None:
    for model in (get_waffle_flag_model(), get_waffle_switch_model(), get_waffle_sample_model()):
        assert not admin.site.is_registered(model)


def test_the_index_says_llm_and_api_in_capitals(client: Client) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    body = client.get("/admin/").content.decode()
    assert "LLM calls" in body
    assert "API keys" in body
    assert "Llm calls" not in body and "Api keys" not in body
    assert "/admin/waffle/" not in body
    assert client.get("/admin/waffle/switch/").status_code == 404
