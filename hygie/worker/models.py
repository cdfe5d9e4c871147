from __future__ import annotations

from django.db import models


class Job(models.Model):
    """The state of one periodic job, shared by every worker of the practice.

    A worker runs a job only after claiming it with one atomic UPDATE (see
    hygie.worker.runner.claim): the job is due (`next_run_at` passed) and nobody holds its lease
    (`locked_until` empty or passed). However many app servers and workers run, a job runs once
    per period; a worker that dies mid-run loses the lease when it expires, or at once on
    PostgreSQL when its session (and the job's advisory lock) ends (runner.JobLocks).
    """

    name = models.CharField(max_length=60, unique=True)
    next_run_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=120, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    # "ok" or "error"; the error is the exception's class only (its text may quote data).
    last_status = models.CharField(max_length=10, blank=True)
    last_error = models.CharField(max_length=120, blank=True)
    last_result = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
