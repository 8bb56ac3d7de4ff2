"""One email rule for a learner, whichever door they come in by: the API and the CSV import
accept the same addresses, store them the same way, and refuse the same ones."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from learners.ingestion.validation import INVALID_EMAIL, email_normalise
from learners.models import Learner
from learners.services import learners_import
from tests.factories import CohortFactory, UserFactory

pytestmark = pytest.mark.django_db

LONG_DOMAIN = ".".join(["d" * 60] * 4) + ".org"  # 248 characters, every label valid
#: (what is sent, what is stored; None: refused)
CASES = [
    ("Ada@Example.org", "ada@example.org"),
    ("  ada@example.org\t", "ada@example.org"),
    ("", ""),
    ("   ", ""),
    ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
    ('"ada..lovelace"@example.org', '"ada..lovelace"@example.org'),  # quoted: two dots allowed
    ('"ada lovelace"@example.org', None),  # no space even when quoted
    ("ada@[192.168.0.1]", "ada@[192.168.0.1]"),
    ("ada@münchen.de", "ada@münchen.de"),
    ("ada@localhost", "ada@localhost"),
    (f"{'a' * 64}@{LONG_DOMAIN}", f"{'a' * 64}@{LONG_DOMAIN}"),  # 313: over 254, within 320
    ("not-an-email", None),
    ("ada@example", None),
    ("@example.org", None),
    ("ada@", None),
    ("ada@@example.org", None),
    ("ada lovelace@example.org", None),
    ("ada@exa mple.org", None),
    ("ada.@example.org", None),
    ("ada@example.org.", None),
    ("ädä@example.org", None),
    ("ada\x00@example.org", None),
    ("ada\ud800@example.org", None),
    (f"{'a' * 64}@{'d' * 60}.{LONG_DOMAIN}", None),  # 374 characters: too long
]
IDS = [repr(sent)[:40] for sent, _ in CASES]


@pytest.mark.parametrize(("sent", "stored"), CASES, ids=IDS)
def test_the_api_and_the_csv_import_share_one_email_rule(
    auth_client: APIClient, sent: str, stored: str | None
) -> None:
    cohort = CohortFactory(name="Spring 2026")
    body = {
        "cohort": str(cohort.id),
        "source": "api",
        "external_id": "u1",
        "email": sent,
        "enrolled_at": "2026-03-01T09:00:00Z",
    }
    # ASCII JSON, so that a lone surrogate travels as the escape a client would send.
    response = auth_client.post(
        "/api/v1/learners/", json.dumps(body), content_type="application/json"
    )
    row = {
        "external_id": "u1",
        "source": "csv",
        "cohort": "Spring 2026",
        "email": sent,
        "enrolled_at": "2026-03-01T09:00:00Z",
    }
    (report,) = learners_import(rows=[(2, row)], via="test")
    if stored is None:
        assert response.status_code == 400
        assert response.json() == {"email": [INVALID_EMAIL]}
        assert report.rejected == [{"index": 2, "errors": {"email": [INVALID_EMAIL]}}]
        assert not Learner.objects.exists()
    else:
        assert response.status_code == 201, response.json()
        assert response.json()["email"] == stored
        assert (report.accepted, report.rejected) == (1, [])
        assert Learner.objects.get(source="csv").email == stored


def test_the_rule_itself_trims_lowers_and_refuses_with_the_api_wording() -> None:
    assert email_normalise(" Ada@Example.ORG ") == "ada@example.org"
    assert email_normalise("") == ""
    with pytest.raises(ValueError, match=INVALID_EMAIL):
        email_normalise("ada@example")


# A form post cannot carry a lone surrogate, and Django's forms refuse NUL with their own words.
FORM_CASES = [case for case in CASES if "\x00" not in case[0] and "\ud800" not in case[0]]


@pytest.mark.parametrize(("sent", "stored"), FORM_CASES, ids=[repr(s)[:40] for s, _ in FORM_CASES])
def test_the_admin_follows_the_same_email_rule(
    client: Client, sent: str, stored: str | None
) -> None:
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    cohort = CohortFactory()
    response = client.post(
        "/admin/learners/learner/add/",
        {
            "source": "admin",
            "external_id": "u1",
            "cohort": str(cohort.id),
            "name": "Ada",
            "email": sent,
            "status": "active",
            "enrolled_at_0": "2026-03-01",
            "enrolled_at_1": "09:00:00",
            "progress": "0",
            "locale": "en",
            "timezone": "UTC",
        },
    )
    if stored is None:
        assert response.status_code == 200  # the form again, with the API's reason
        assert response.context["adminform"].form.errors.get("email") == [INVALID_EMAIL]
        assert not Learner.objects.exists()
    else:
        assert response.status_code == 302, response.content.decode()[:2000]
        assert Learner.objects.get().email == stored
