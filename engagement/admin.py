"""Admin for staff users (role and cohorts), API keys, background jobs, the outbox and the read-only
audit log.

Writes go through the services (``accounts``, ``api_keys``, ``jobs``, ``outbox``), audited as from
the API.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest

from engagement import accounts, api_keys, jobs, outbox, user_scopes
from engagement.admin_bases import ReadOnlyAdmin
from engagement.admin_fields import STRICT_DATE_FORMFIELDS
from engagement.errors import Conflict, ValidationFailed
from engagement.input_bounds import portable_timezones
from engagement.models import (
    JOB_ACTIVE_STATUSES,
    ApiKey,
    AuditEvent,
    Job,
    OutboxMessage,
    Role,
    User,
)
from engagement.principals import acting_user
from engagement.wording import counted


class _CohortsField(forms.Form):
    cohorts = forms.MultipleChoiceField(
        choices=user_scopes.user_cohort_choices,
        required=False,
        help_text="Coaches see only the learners of these cohorts.",
    )


class UserChangeForm(DjangoUserChangeForm, _CohortsField):
    actor: User | None = None  # set per request by UserAdmin.get_form

    timezone = forms.ChoiceField(
        choices=lambda: [(name, name) for name in portable_timezones()],
        required=False,
        help_text="Dates and times on the dashboard are shown in this zone; left out, unchanged.",
    )

    def clean_timezone(self) -> str:
        return str(self.cleaned_data.get("timezone") or self.instance.timezone)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohorts"].initial = user_scopes.user_cohort_ids(user=self.instance)

    def clean(self) -> dict[str, Any]:
        """The API's rule: no admin removes their own access, and an active admin remains."""
        cleaned = super().clean() or {}
        role, is_active = cleaned.get("role"), cleaned.get("is_active")
        if role != Role.ADMIN or not is_active:
            refusal = accounts.admin_removal_refusal(actor=self.actor, users=[self.instance])
            if refusal:
                self.add_error("role" if is_active else "is_active", refusal)
        return cleaned


class UserCreationForm(AdminUserCreationForm, _CohortsField):
    """Users made here get a password (``accounts.user_create`` invites those without one
    instead, which Django's "password-based authentication: disabled" would mean)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["usable_password"]


# Django's name for its admin password page, whatever the user model (a URL name, no secret).
PASSWORD_PAGE = "auth_user_password_change"  # noqa: S105


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("username", "email", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    readonly_fields = ("is_staff", "is_superuser", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email", "timezone")}),
        ("Access", {"fields": ("role", "cohorts", "is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "email", "role", "cohorts", "password1", "password2")}),
    )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, UserChangeForm):  # a class made for this request by modelform_factory
            form.actor = acting_user(request)
        return form

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """Deleting the last admins, or oneself, is shown as protected, like a protected relation."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        refusal = accounts.admin_removal_refusal(actor=acting_user(request), users=list(objs))
        return deleted, counts, perms_needed, [*protected, refusal] if refusal else protected

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        """Django's password page sets the password itself (there is no API for it): record the
        change in the audit log as well as in Django's admin history, never the password."""
        entry = super().log_change(request, obj, message)
        match = request.resolver_match
        if match is not None and match.url_name == PASSWORD_PAGE:
            accounts.user_password_changed(actor=acting_user(request), user=obj)
        return entry

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """The form's values go through ``accounts`` (role rules, cohorts, audit) as from the
        API; ``obj`` holds them already, so the change is applied to the stored user."""
        actor = acting_user(request)
        cohort_ids = form.cleaned_data.get("cohorts", [])
        if change:
            changed = [name for name in accounts.USER_FIELDS if name in form.changed_data]
            data = {name: form.cleaned_data[name] for name in changed}
            if "cohorts" in form.changed_data:
                data["cohort_ids"] = cohort_ids
            accounts.user_update(actor=actor, user=accounts.user_get(user_id=obj.pk), data=data)
            return
        obj.pk = accounts.user_create(
            actor=actor,
            username=obj.username,
            email=obj.email,
            role=obj.role,
            password=form.cleaned_data["password1"],
            cohort_ids=cohort_ids,
        ).pk

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        accounts.users_delete(actor=acting_user(request), users=[obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """ "Delete selected" (after its confirmation page) goes through the service too."""
        accounts.users_delete(actor=acting_user(request), users=queryset)


class ApiKeyForm(forms.ModelForm):
    """The service's rules for scopes and expiry, shown on the form instead of an error page."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            if "scopes" in cleaned:  # not when the field itself was refused
                api_keys.api_key_scopes_check(cleaned["scopes"])
            if cleaned.get("expires_at") != self.instance.expires_at:
                api_keys.api_key_expiry_check(cleaned.get("expires_at"))
        except ValidationFailed as refused:
            for field, reasons in refused.detail.items():
                self.add_error(field, reasons)
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    formfield_overrides = STRICT_DATE_FORMFIELDS
    list_display = (
        "name",
        "prefix",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "created_by",
    )
    list_select_related = ("created_by",)
    readonly_fields = ("prefix", "revoked_at", "last_used_at", "created_by", "created_at")
    fields = ("name", "scopes", "expires_at", *readonly_fields)
    actions = ["revoke"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Keys are revoked, never deleted: the audit trail keeps naming them."""
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        """New keys go through the service; the secret is shown once, in a message."""
        actor = acting_user(request)
        if change:
            api_keys.api_key_update(
                api_key=api_keys.api_key_get(key_id=str(obj.pk)),
                actor=actor,
                name=obj.name,
                scopes=obj.scopes,
                expires_at=obj.expires_at,
            )
            return
        issued = api_keys.api_key_create(
            name=obj.name, scopes=obj.scopes, created_by=actor, expires_at=obj.expires_at
        )
        obj.pk, obj.prefix = (
            issued.api_key.pk,
            issued.api_key.prefix,
        )  # named in the admin's message
        messages.warning(request, f"Copy the key now, it will not be shown again: {issued.secret}")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        actor = acting_user(request)
        for api_key in queryset:
            api_keys.api_key_revoke(api_key=api_key, actor=actor)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "action", "actor_label", "target_type", "target_id", "ip")
    list_filter = ("action", "actor_type", "target_type")
    search_fields = ("=target_id", "=actor_id", "=request_id")
    date_hierarchy = "occurred_at"


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Jobs are written by their tasks only; here they are read, and cancelled through the service."""

    list_display = ("kind", "status", "progress", "requested_by", "created_at")
    list_filter = ("kind", "status")
    list_select_related = ("requested_by",)
    search_fields = ("=id", "=idempotency_key")
    date_hierarchy = "created_at"
    actions = ["cancel"]

    @admin.action(description="Cancel the selected queued or running jobs")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        actor = acting_user(request)
        cancelled = 0
        for job in queryset.filter(status__in=JOB_ACTIVE_STATUSES):
            try:
                jobs.job_cancel(job=job, actor=actor)
            except Conflict:  # it finished meanwhile
                continue
            cancelled += 1
        messages.info(request, f"Cancelled {counted(cancelled, 'job')}.")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Written by the services that enqueue and the delivery task; here they are read (the
    payload, which holds the recipient, is not shown), retried or cancelled through the service."""

    list_display = (
        "id",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "created_at",
    )
    list_filter = ("status", "channel")
    search_fields = ("=id", "=idempotency_key")
    date_hierarchy = "created_at"
    fields = outbox.SHOWN_FIELDS
    readonly_fields = fields
    actions = ["retry_now", "cancel"]

    @admin.display(description="Recipient")
    def recipient(self, obj: OutboxMessage) -> str:
        return outbox.outbox_recipient_masked(obj)

    @admin.action(description="Retry the selected pending or failed messages now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        retried = outbox.outbox_retry(message_ids=ids, actor=acting_user(request))
        messages.info(request, f"Retrying {counted(retried, 'message')}.")

    @admin.action(description="Cancel the selected pending or failed messages")
    def cancel(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        cancelled = outbox.outbox_cancel(message_ids=ids, actor=acting_user(request))
        messages.info(request, f"Cancelled {counted(cancelled, 'message')}.")
