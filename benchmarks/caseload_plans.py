"""Query plans and timings of the caseload table (``/dashboard/learners/``) on a big database.

Run inside Django against a scratch PostgreSQL database seeded with
``manage.py seed_demo --learners 100000 --cohorts 12 --days 60`` and ``manage.py rescore``:

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME \\
        .venv/bin/python manage.py shell < benchmarks/caseload_plans.py

It makes (or reuses) the users ``bench-admin`` and ``bench-coach`` (the two newest cohorts), then
for each case builds the page as the view does (``caseload_query`` + ``caseload_page``, run
twice, the second timed) and prints ``EXPLAIN ANALYZE`` of its count and rows statements.
"""

import time

from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from engagement.models import User
from learners.assignments import cohort_assignments_set
from learners.caseload import caseload_page, caseload_query
from learners.models import Cohort

admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": "admin"})
coach, _ = User.objects.get_or_create(username="bench-coach", defaults={"role": "coach"})
newest = list(Cohort.objects.order_by("-starts_on").values_list("pk", flat=True)[:2])
cohort_assignments_set(user=coach, cohort_ids=newest)
CASES = [
    ("admin", admin, ""),
    ("coach", coach, ""),
    ("admin band=high", admin, "band=high"),
    ("admin band=low", admin, "band=low"),
    ("coach band=low", coach, "band=low"),
    ("admin inactive>=14", admin, "inactive_days=14"),
    ("admin sort last_active", admin, "ordering=last_active"),
    ("admin sort -enrolled", admin, "ordering=-enrolled"),
    ("coach sort enrolled", coach, "ordering=enrolled"),
    ("admin one cohort", admin, f"cohort={newest[0]}"),
    ("admin status=all", admin, "status=all"),
    ("admin status=completed", admin, "status=completed"),
    ("admin search", admin, "search=smith"),
    ("admin page 400", admin, "page=400"),
]
for label, user, query_string in CASES:
    params = QueryDict(query_string)
    for _round in range(2):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            page = caseload_page(caseload_query(actor=user, params=params))
            took = (time.perf_counter() - started) * 1000
    rows = len(page.rows) if page else "invalid"
    total = f"{page.total}{'+' if page.capped else ''}" if page else "-"
    print(f"\n== {label} ({query_string or 'defaults'}): {len(captured)} queries, {took:.1f} ms")
    print(f"   rows {rows}, total {total}")
    for statement in captured.captured_queries:
        sql = statement["sql"]
        if "learners_learner" not in sql or "riskassessment" in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + sql)
            print("\n".join(line for (line,) in cursor.fetchall()))
