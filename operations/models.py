from django.db import models


class JobRun(models.Model):
    """The last run of each worker job (operations/jobs.py): the worker's heartbeat for
    /readyz, and the figures /metrics reports about it."""

    name = models.CharField(max_length=50, primary_key=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="Empty when the last run succeeded.")
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
