"""Serializers of the CSV uploads (``/api/v1/imports/``)."""

from django.urls import reverse
from rest_framework import serializers

from engagement.api.serializers import JobOutputSerializer
from learners.models import ImportKind, ImportUpload


class ImportUploadInputSerializer(serializers.Serializer):
    """The form fields of an upload; the file's content is checked by the service."""

    kind = serializers.ChoiceField(
        choices=ImportKind.choices, help_text="What the file holds: learners or activity events."
    )
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="A UTF-8 CSV file with a header row naming the kind's columns (see the README, "
        "'CSV formats'), at most IMPORT_UPLOAD_MAX_BYTES.",
    )


class ImportUploadOutputSerializer(serializers.ModelSerializer):
    """An upload, its job and its counts (written when the job finishes)."""

    url = serializers.HyperlinkedIdentityField(view_name="import-upload-detail")
    refused_url = serializers.SerializerMethodField(
        help_text="The refused lines as CSV (line, reasons) once the job has finished."
    )
    job = JobOutputSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ImportUpload
        fields = [
            "id",
            "kind",
            "filename",
            "size",
            "sha256",
            "uploaded_by",
            "created_at",
            "job",
            "accepted",
            "duplicates",
            "rejected",
            "refused_url",
            "url",
        ]
        read_only_fields = fields

    def get_refused_url(self, obj: ImportUpload) -> str:
        path = reverse("import-upload-refused", kwargs={"pk": obj.pk})
        return self.context["request"].build_absolute_uri(path)
