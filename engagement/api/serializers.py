"""Serializers for accounts, API keys, the audit log, background jobs and the outbox."""

from rest_framework import serializers

from engagement.api.fields import BoundedDateTimeField, TextField
from engagement.api_keys import scopes_help
from engagement.input_bounds import validate_timezone
from engagement.models import ApiKey, AuditEvent, Job, OutboxMessage, Role, User
from engagement.outbox import SHOWN_FIELDS, outbox_recipient_masked
from engagement.registry import registry


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")


EMAIL_MAX_LENGTH = 254  # the column of AbstractUser.email: longer is a 400, not a database error


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(
        required=False, allow_blank=True, default="", max_length=EMAIL_MAX_LENGTH
    )
    role = serializers.ChoiceField(choices=Role.choices)
    password = serializers.CharField(
        required=False, write_only=True, help_text="Leave out to invite the user by email instead."
    )
    cohort_ids = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    timezone = serializers.CharField(
        max_length=64,
        required=False,
        validators=[validate_timezone],
        help_text="IANA time zone the dashboard shows times in; the site's by default.",
    )


class UserUpdateSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True, max_length=EMAIL_MAX_LENGTH)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    cohort_ids = serializers.ListField(child=serializers.UUIDField(), required=False)
    timezone = serializers.CharField(
        max_length=64,
        required=False,
        validators=[validate_timezone],
        help_text="IANA time zone the dashboard shows times in, e.g. Europe/Paris.",
    )


class UserOutputSerializer(serializers.ModelSerializer):
    # Read-only model fields lose ``blank=True``; say that the address may be empty.
    email = serializers.EmailField(read_only=True, allow_blank=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "role",
            "timezone",
            "is_active",
            "last_login",
            "date_joined",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = TextField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(
            choices=list(registry.api_key_scopes().items()),
            error_messages={"invalid_choice": f'"{{input}}" is not a scope. {scopes_help()}'},
        ),
        min_length=1,
        error_messages={"min_length": scopes_help(), "empty": scopes_help()},
    )
    expires_at = BoundedDateTimeField(required=False, allow_null=True)


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "created_at",
        ]
        read_only_fields = fields


class ApiKeyIssuedSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(help_text="The full key. Shown this once only: store it now.")

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]
        read_only_fields = fields


class AuditEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor_type",
            "actor_id",
            "actor_label",
            "action",
            "target_type",
            "target_id",
            "ip",
            "request_id",
            "changes",
        ]
        read_only_fields = fields


class JobOutputSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="job-detail", help_text="Poll this until the status is final."
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "params",
            "result",
            "error",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]
        read_only_fields = fields


class OutboxMessageOutputSerializer(serializers.ModelSerializer):
    """Delivery state only: the payload is not shown, the recipient is masked."""

    recipient = serializers.SerializerMethodField(help_text="Masked, e.g. a***@example.org.")

    class Meta:
        model = OutboxMessage
        fields = list(SHOWN_FIELDS)
        read_only_fields = fields

    def get_recipient(self, obj: OutboxMessage) -> str:
        return outbox_recipient_masked(obj)
