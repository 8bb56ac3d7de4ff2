"""Encrypt learners' names and emails at rest, adding keyed-hash columns for lookups.

Three steps: widen the columns to text and add the hash columns; encrypt every existing row
in chunks (reversible: the reverse step decrypts); then switch the fields to the encrypted type.
"""

from django.db import migrations, models

import engagement.crypto

CHUNK = 2000


def _rewrite(apps, transform) -> None:  # type: ignore[no-untyped-def]
    learner_model = apps.get_model("learners", "Learner")
    last_id = None
    while True:
        batch = learner_model.objects.order_by("id")
        if last_id is not None:
            batch = batch.filter(id__gt=last_id)
        rows = list(batch[:CHUNK])
        if not rows:
            return
        for row in rows:
            transform(row)
        learner_model.objects.bulk_update(rows, ["name", "email", "email_hash", "name_tokens"])
        last_id = rows[-1].id


def encrypt_rows(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    def transform(row) -> None:  # type: ignore[no-untyped-def]
        email = (row.email or "").strip().lower()
        row.email_hash = engagement.crypto.keyed_hash(email)
        row.name_tokens = " ".join(engagement.crypto.word_tokens(row.name or ""))
        row.name = engagement.crypto.encrypt(row.name or "")
        row.email = engagement.crypto.encrypt(email)

    _rewrite(apps, transform)


def decrypt_rows(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    def transform(row) -> None:  # type: ignore[no-untyped-def]
        row.name = engagement.crypto.decrypt(row.name or "")
        row.email = engagement.crypto.decrypt(row.email or "")
        row.email_hash = row.name_tokens = ""

    _rewrite(apps, transform)


class Migration(migrations.Migration):
    dependencies = [("learners", "0002_coach_cohort_permissions")]

    operations = [
        migrations.RemoveIndex(model_name="learner", name="learner_email"),
        migrations.AlterField(model_name="learner", name="name", field=models.TextField(blank=True)),
        migrations.AlterField(model_name="learner", name="email", field=models.TextField(blank=True)),
        migrations.AddField(
            model_name="learner",
            name="email_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="learner",
            name="name_tokens",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="learner",
            name="erased_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows, elidable=False),
        migrations.AlterField(
            model_name="learner",
            name="name",
            field=engagement.crypto.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="learner",
            name="email",
            field=engagement.crypto.EncryptedTextField(blank=True),
        ),
        migrations.AlterModelOptions(
            name="learner",
            options={"ordering": ["external_id", "id"]},
        ),
        migrations.AddIndex(
            model_name="learner",
            index=models.Index(fields=["email_hash"], name="learner_email_hash"),
        ),
    ]
