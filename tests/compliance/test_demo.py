"""`hygie demo` fills a complete fictitious profile: the demo's register has nothing missing."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.utils import timezone

from hygie.compliance import processors
from hygie.compliance import register as reg


def test_the_demo_register_is_whole(db):
    call_command("demo", "--patients", "2", stdout=io.StringIO(), stderr=io.StringIO())
    data = reg.build()
    assert data["missing"] == []
    assert data["dpo"]["designation"]  # a maison de santé: DPO required, and designated
    assert data["dpo_required"] is True
    assert data["aipd"]["screened_on"] == timezone.localdate().isoformat()
    assert data["aipd"]["recommended"] is False
    assert len(data["processors"]) == 3 and all(p["contract"] for p in data["processors"])
    assert processors.warnings(timezone.localdate()) == []
    assert len(data["controller"]["joint_controllers"]) == 2
