"""When the worker runs each job: django-q2 schedules, kept in step with this list.

`migrate` (post_migrate) writes them, so a deployment has its schedule without cron or a
manual step; a job dropped from this list is unscheduled the same way.
"""

from django.utils import timezone
from django_q.models import Schedule

from auditlogs.conf import app_settings

JOBS_MODULE = "operations.jobs"
DAY = 24 * 60


def every() -> dict[str, int]:
    """Each job in operations/jobs.py and its interval in minutes."""
    return {
        "link_audit_events": 1,
        "deliver_webhooks": 1,
        "send_alerts": 1,
        "run_operator_requests": 1,
        "roll_up_volumes": 1,
        "sign_checkpoints": app_settings.CHECKPOINT_INTERVAL_MINUTES,
        "create_partitions": DAY,
        "apply_retention": DAY,
    }


def install(using: str = "default") -> None:
    schedules = Schedule.objects.using(using)
    for name, minutes in every().items():
        wanted = {"func": f"{JOBS_MODULE}.{name}", "schedule_type": Schedule.MINUTES,
                  "minutes": minutes, "repeats": -1}
        schedule = schedules.filter(name=name).first()
        if schedule is None:
            schedules.create(name=name, next_run=timezone.now(), **wanted)
        elif any(getattr(schedule, field) != value for field, value in wanted.items()):
            schedules.filter(pk=schedule.pk).update(**wanted)
    schedules.filter(func__startswith=f"{JOBS_MODULE}.").exclude(name__in=every()).delete()
