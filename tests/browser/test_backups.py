"""The backups page in a real browser: the progress bar follows a run under way (static script,
CSP 'self'), and the page shows the result once the run is over."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hygie.backups.models import Run, RunKind, RunStatus, Target, TargetKind
from tests.browser.flows import sign_in

pytestmark = pytest.mark.browser


def test_the_progress_bar_follows_a_run(page, people, artifacts, tmp_path):
    target = Target.objects.create(name="Disque USB", kind=TargetKind.DIRECTORY, config={"path": str(tmp_path)})
    run = Run.objects.create(kind=RunKind.BACKUP, target=target, status=RunStatus.RUNNING, started_at=timezone.now(),
                             bytes_total=1000, bytes_done=100)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, people.adam)
    page.goto("/sauvegardes/")
    bar = page.locator(f'progress[data-run="{run.public_id}"]')
    expect(bar).to_have_attribute("value", "100")

    Run.objects.filter(pk=run.pk).update(bytes_done=600)
    expect(bar).to_have_js_property("value", 600, timeout=6000)
    page.screenshot(path=artifacts / "backups-running.png", full_page=True)

    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCESS, bytes_done=1000, finished_at=timezone.now())
    # The run is over: the page reloads and shows its result, without the bar.
    expect(page.locator(f"#run-{run.public_id}")).to_contain_text("réussie", timeout=6000)
    expect(bar).to_have_count(0)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    page.screenshot(path=artifacts / "backups-done.png", full_page=True)
