"""FilterSets for the audit log and job lists; the selectors and viewsets apply them."""

import django_filters

from engagement.models import AuditEvent, Job, JobStatus


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(help_text="Exact action, e.g. learner.update.")
    action_prefix = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", help_text="e.g. auth."
    )
    actor_id = django_filters.CharFilter()
    target_type = django_filters.CharFilter(help_text="e.g. learners.learner.")
    target_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields: list[str] = []


class JobFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter(help_text="Exact kind, e.g. learners.rescore.")
    status = django_filters.MultipleChoiceFilter(
        choices=JobStatus.choices, help_text="One or more statuses."
    )

    class Meta:
        model = Job
        fields: list[str] = []
