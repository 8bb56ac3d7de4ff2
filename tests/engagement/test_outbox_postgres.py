"""What only a real PostgreSQL shows: concurrent workers claiming the same outbox messages."""

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from engagement.models import OutboxMessage
from engagement.outbox import EMAIL_CHANNEL, outbox_claim

WORKERS = 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_never_take_the_same_message() -> None:
    now = timezone.now()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            channel=EMAIL_CHANNEL, payload={}, idempotency_key=f"race-{n}", next_attempt_at=now
        )
        for n in range(40)
    )
    ids = [str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)]
    start = threading.Barrier(WORKERS)

    def claim(message_id: str) -> bool:
        # A claim that commits late leaves the widest window for a second one.
        with transaction.atomic():
            claimed = outbox_claim(message_id=message_id) is not None
            time.sleep(0.005)
        return claimed

    def claim_all(seed: int) -> list[str]:
        order = random.Random(seed).sample(ids, len(ids))
        try:
            start.wait()
            return [message_id for message_id in order if claim(message_id)]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        claimed = [
            message_id for batch in pool.map(claim_all, range(WORKERS)) for message_id in batch
        ]
    assert Counter(claimed) == Counter(ids)  # each message claimed exactly once
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
