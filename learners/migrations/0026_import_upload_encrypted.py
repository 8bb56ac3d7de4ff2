"""Encrypt uploaded import files and their refused lines at rest (they hold personal data).

The plain ``content`` column is renamed aside, an encrypted text column takes its name, rows
still holding a file are copied across encrypted (the files are UTF-8 text: the upload checks
it), and the plain column is dropped; ``refused`` is encrypted in place. Reversible: going
back decrypts both.
"""

from typing import Any

from django.db import migrations, models

import engagement.crypto

CHUNK = 200


def _rows(apps: Any, **filters: Any) -> Any:
    upload_model = apps.get_model("learners", "ImportUpload")
    return upload_model, upload_model.objects.filter(**filters).order_by("id")


def encrypt_rows(apps: Any, schema_editor: Any) -> None:
    upload_model, rows = _rows(apps)
    for row in rows.exclude(content_plain=b"").only("id", "content_plain").iterator(CHUNK):
        text = bytes(row.content_plain).decode("utf-8")
        upload_model.objects.filter(pk=row.pk).update(content=text, content_plain=b"")
    for row in rows.exclude(refused="").only("id", "refused").iterator(CHUNK):
        refused = engagement.crypto.encrypt(row.refused)
        upload_model.objects.filter(pk=row.pk).update(refused=refused)


def decrypt_rows(apps: Any, schema_editor: Any) -> None:
    upload_model, rows = _rows(apps)
    for row in rows.exclude(content="").only("id", "content").iterator(CHUNK):
        plain = row.content.encode("utf-8")
        upload_model.objects.filter(pk=row.pk).update(content_plain=plain, content="")
    for row in rows.exclude(refused="").only("id", "refused").iterator(CHUNK):
        refused = engagement.crypto.decrypt(row.refused)
        upload_model.objects.filter(pk=row.pk).update(refused=refused)


class Migration(migrations.Migration):
    dependencies = [("learners", "0025_risk_band_change")]

    operations = [
        migrations.RenameField(
            model_name="importupload", old_name="content", new_name="content_plain"
        ),
        migrations.AddField(
            model_name="importupload",
            name="content",
            field=engagement.crypto.EncryptedTextField(blank=True, default="", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
        # A default, so that going back re-creates the column on existing rows.
        migrations.AlterField(
            model_name="importupload",
            name="content_plain",
            field=models.BinaryField(blank=True, default=b"", editable=False),
        ),
        migrations.RemoveField(model_name="importupload", name="content_plain"),
        migrations.AlterField(
            model_name="importupload",
            name="refused",
            field=engagement.crypto.EncryptedTextField(blank=True, help_text="CSV: line,reasons."),
        ),
    ]
