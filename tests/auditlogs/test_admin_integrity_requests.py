"""From an organization's admin page operators see its chain and ask the worker to verify it or
sign a checkpoint; the request, the worker's result and both events are the operator's."""

from io import StringIO

from django.core.management import call_command

from auditlogs.integrity import jobs
from auditlogs.models import Checkpoint, IntegrityJob
from auditlogs.recording.catalogue import Severity
from tests.helpers.clients import signed_in
from tests.helpers.integrity import EVENTS, fill, tamper


def page(acme):
    return f"/admin/orgs/organization/{acme.pk}/change/"


def ask(ops, acme, kind):
    return ops.post(f"/admin/orgs/organization/{acme.pk}/integrity/{kind}/")


def worker_pass():
    call_command("deliver_audit_events", stdout=StringIO())


def test_the_page_shows_the_chain_and_links_to_the_organizations_records(acme, ops):
    fill(acme, 3)
    response = ops.get(page(acme))
    assert response.status_code == 200
    chain = response.context["chain"]
    assert chain.head.sequence == 3 and chain.newest_checkpoint is None
    assert "event #3" in response.text and "unverified" in response.text
    for link in ("/admin/auditlogs/auditevent/?org=acme",
                 f"/admin/auditlogs/supportaccess/?organization__id__exact={acme.pk}",
                 f"/admin/integrations/apitoken/?organization__id__exact={acme.pk}",
                 f"/admin/integrations/destination/?organization__id__exact={acme.pk}"):
        assert link in response.text
        assert ops.get(link.replace("&amp;", "&")).status_code == 200


def test_a_verification_request_runs_in_the_worker_and_both_are_recorded(acme, ops, events):
    fill(acme, 4)
    response = ask(ops, acme, "verify")
    assert response.status_code == 302 and response.url == page(acme)
    job = IntegrityJob.objects.get()
    assert job.status == IntegrityJob.Status.PENDING
    assert job.requested_by_label == "ops@auditlogs.test"
    (requested,) = events(acme, action="audit_log.verification_requested")
    assert (requested.actor_type, requested.actor_label) == ("staff", "ops@auditlogs.test")

    worker_pass()
    job.refresh_from_db()
    assert job.status == IntegrityJob.Status.SUCCEEDED and job.sequence == 5
    assert "through #5" in job.result  # the four events and the request itself
    (finished,) = events(acme, action="audit_log.verification_finished")
    assert (finished.actor_type, finished.actor_label) == ("staff", "ops@auditlogs.test")
    assert finished.severity == Severity.INFO and finished.metadata["job"] == job.pk
    shown = ops.get(page(acme))
    assert shown.context["chain"].last_verification == job and job.result in shown.text


def test_a_checkpoint_request_signs_the_head(acme, ops, events):
    fill(acme, 2)
    ask(ops, acme, "checkpoint")
    worker_pass()
    job = IntegrityJob.objects.get()
    checkpoint = Checkpoint.objects.get(organization=acme)
    assert job.status == IntegrityJob.Status.SUCCEEDED and job.sequence == checkpoint.sequence == 3
    (finished,) = events(acme, action="audit_log.checkpoint_finished")
    assert finished.actor_type == "staff" and "Signed a checkpoint at event #3" in job.result
    assert "#3" in ops.get(page(acme)).text


def test_a_broken_chain_fails_the_request_and_signs_nothing(acme, ops, events):
    fill(acme, 4)
    tamper(f'UPDATE "{EVENTS}" SET "target_label" = %s WHERE "organization_id" = %s '
           'AND "sequence" = 2', ["forged", acme.pk])
    ask(ops, acme, "checkpoint")
    worker_pass()
    job = IntegrityJob.objects.get()
    assert job.status == IntegrityJob.Status.FAILED and "event #2" in job.result
    assert not Checkpoint.objects.exists()
    (finished,) = events(acme, action="audit_log.checkpoint_finished")
    assert finished.severity == Severity.CRITICAL and finished.actor_type == "staff"
    assert events(acme, action="audit_log.integrity_failed")
    shown = ops.get(page(acme))
    assert "broken" in shown.text and "event #2" in shown.text
    assert [f.sequence for f in shown.context["chain"].failures] == [2]


def test_a_job_is_run_once_even_if_asked_twice(acme, ops):
    fill(acme, 1)
    ask(ops, acme, "verify")
    job = IntegrityJob.objects.get()
    assert jobs.run_job(job.pk) is True
    assert jobs.run_job(job.pk) is False and jobs.run_pending_jobs() == 0


def test_bad_requests_are_refused(acme, owner, ops):
    assert ops.get(f"/admin/orgs/organization/{acme.pk}/integrity/verify/").status_code == 405
    assert ask(ops, acme, "erase").status_code == 404
    assert ops.post("/admin/orgs/organization/999999/integrity/verify/").status_code == 404
    refused = signed_in(owner).post(
        f"/admin/orgs/organization/{acme.pk}/integrity/verify/"
    )
    assert refused.status_code == 302 and "/admin/login/" in refused.url
    assert not IntegrityJob.objects.exists()


def test_a_job_that_errors_ends_failed_and_the_worker_goes_on(acme, ops, monkeypatch, caplog):
    fill(acme, 1)
    ask(ops, acme, "verify")

    def broken_database(organization):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(jobs, "verify", broken_database)
    worker_pass()  # logs the error and finishes its pass
    job = IntegrityJob.objects.get()
    assert job.status == IntegrityJob.Status.FAILED and "RuntimeError" in job.result
    assert "Job operator-requests failed" in caplog.text
