"""A mixed staff workload for locust: learner lists, details and risk through the API (JWT),
dashboard pages (session sign-in) and small event batches (admin JWT).

Issue 14 asks for the highest request rate this mix sustains with p95 < 200 ms and no errors;
``mixed_load.py`` steps the rate and reads locust's figures. Every user sends at most
``LEP_BENCH_USER_RATE`` requests per second (paced, see ``PacedUser``), so the offered load is
that times the number of users, as long as the server keeps up. Users per kind (weights): API
readers 15 (lists 6 : detail 5 : risk 4), dashboard readers 3, ingesters 2; readers are admins
or coaches (3 cohorts) at random.

``LEP_BENCH_DATA`` names a JSON file: ``{"password": ..., "admin": username, "coach":
username, "learner_ids": [...], "coach_learner_ids": [...]}`` and optionally ``"tokens"`` and
``"sessions"`` (JWT access tokens and session ids by role); ``mixed_load.py`` writes it. Without
them each process signs in once per role (a JWT, and a session through the sign-in page) and
shares them between its users: signing in hashes a password, which would otherwise dominate.

    .venv/bin/locust -f benchmarks/locustfile.py --host http://127.0.0.1:8000 --headless \
        -u 100 -r 100 -t 60s
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gevent
import requests
from gevent.lock import Semaphore
from locust import FastHttpUser, task

DATA: dict[str, Any] = json.loads(Path(os.environ["LEP_BENCH_DATA"]).read_text())
USER_RATE = float(os.environ.get("LEP_BENCH_USER_RATE", "1"))
API = "/api/v1"
#: The documented filters and orderings of the learner list, each as likely.
LIST_QUERIES = (
    "",
    "?risk_band=high&ordering=-risk",
    "?ordering=last_active",
    "?ordering=-enrolled",
    "?status=active",
    "?inactive_days=14",
)
DASHBOARD_TABLE_QUERY = "?band=high&ordering=-last_active"
EVENT_KINDS = ("login", "content_view", "video_watched", "lesson_completed", "forum_post")
BATCH_SIZE = 10
SOURCE = "bench-mixed"
TIMEOUT = 60.0

_signing_in = Semaphore()
# Signed in by the driver (mixed_load.py) when it gives them, else on first use.
_tokens: dict[str, str] = dict(DATA.get("tokens", {}))
_sessions: dict[str, str] = dict(DATA.get("sessions", {}))


def jwt(host: str, role: str) -> str:
    """The role's access token, obtained once per process."""
    with _signing_in:
        if role not in _tokens:
            answer = requests.post(
                f"{host}{API}/auth/token/",
                json={"username": DATA[role], "password": DATA["password"]},
                timeout=TIMEOUT,
            )
            answer.raise_for_status()
            _tokens[role] = str(answer.json()["access"])
        return _tokens[role]


def session_id(host: str, role: str) -> str:
    """The role's session cookie, signed in once per process through the sign-in page."""
    with _signing_in:
        if role not in _sessions:
            browser = requests.Session()
            page = browser.get(f"{host}/accounts/login/", timeout=TIMEOUT)
            found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            if not found:
                raise RuntimeError(f"sign-in page: HTTP {page.status_code}, no CSRF field")
            browser.post(
                f"{host}/accounts/login/",
                data={
                    "username": DATA[role],
                    "password": DATA["password"],
                    "csrfmiddlewaretoken": found[1],
                },
                headers={"Referer": f"{host}/accounts/login/"},
                timeout=TIMEOUT,
                allow_redirects=False,
            )
            if "sessionid" not in browser.cookies:
                raise RuntimeError(f"signing in as {DATA[role]}: no session")
            _sessions[role] = str(browser.cookies["sessionid"])
        return _sessions[role]


class PacedUser(FastHttpUser):
    """One request every ``1 / USER_RATE`` seconds, the first after a random part of one period:
    users started together would otherwise all send at once, a burst no steady rate has (and
    locust's ``constant_throughput`` sends a user's second request right after its first). A
    user that falls behind sends at once and paces from then on, never in a burst."""

    abstract = True

    def on_start(self) -> None:
        self.next_at = time.monotonic() + random.uniform(0, 1 / USER_RATE)
        gevent.sleep(self.next_at - time.monotonic())

    def wait_time(self) -> float:
        now = time.monotonic()
        self.next_at = max(self.next_at + 1 / USER_RATE, now)
        return self.next_at - now


class StaffUser(PacedUser):
    """An admin or a coach; a learner is picked from those the role may see."""

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.role = random.choice(("admin", "coach"))
        self.learners: list[str] = DATA[
            "coach_learner_ids" if self.role == "coach" else "learner_ids"
        ]

    def learner(self) -> str:
        return random.choice(self.learners)


class ApiReader(StaffUser):
    weight = 15

    def on_start(self) -> None:
        super().on_start()
        self.headers = {"Authorization": f"Bearer {jwt(self.host or '', self.role)}"}

    @task(6)
    def learners_list(self) -> None:
        query = random.choice(LIST_QUERIES)
        self.client.get(f"{API}/learners/{query}", headers=self.headers, name=f"api list {query}")

    @task(5)
    def learner_detail(self) -> None:
        self.client.get(
            f"{API}/learners/{self.learner()}/", headers=self.headers, name="api learner detail"
        )

    @task(4)
    def risk_detail(self) -> None:
        self.client.get(
            f"{API}/learners/{self.learner()}/risk/", headers=self.headers, name="api risk detail"
        )


class DashboardReader(StaffUser):
    weight = 3

    def on_start(self) -> None:
        super().on_start()
        self.headers = {"Cookie": f"sessionid={session_id(self.host or '', self.role)}"}

    @task(1)
    def overview(self) -> None:
        self.client.get("/dashboard/", headers=self.headers, name="page overview")

    @task(2)
    def table(self) -> None:
        self.client.get("/dashboard/learners/", headers=self.headers, name="page table")

    @task(1)
    def table_filtered(self) -> None:
        self.client.get(
            f"/dashboard/learners/{DASHBOARD_TABLE_QUERY}",
            headers=self.headers,
            name="page table filtered",
        )

    @task(2)
    def learner_page(self) -> None:
        self.client.get(
            f"/dashboard/learners/{self.learner()}/", headers=self.headers, name="page learner"
        )


class Ingester(PacedUser):
    """An LMS feed posting small batches of new events (each a new idempotency key)."""

    weight = 2

    def on_start(self) -> None:
        super().on_start()
        self.headers = {"Authorization": f"Bearer {jwt(self.host or '', 'admin')}"}

    @task
    def post_events(self) -> None:
        now = datetime.now(UTC)
        batch = [
            {
                "learner_id": random.choice(DATA["learner_ids"]),
                "source": SOURCE,
                "source_event_id": uuid.uuid4().hex,
                "kind": random.choice(EVENT_KINDS),
                "occurred_at": (now - timedelta(minutes=random.randrange(600))).isoformat(),
            }
            for _ in range(BATCH_SIZE)
        ]
        with self.client.post(
            f"{API}/events/",
            json=batch,
            headers=self.headers,
            name="api events",
            catch_response=True,
        ) as response:
            accepted = (
                (response.json() or {}).get("accepted") if response.status_code == 200 else None
            )
            if accepted != BATCH_SIZE:
                response.failure(f"HTTP {response.status_code}, accepted {accepted}")
