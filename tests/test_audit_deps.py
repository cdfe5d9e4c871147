"""scripts/audit_deps.py (make lint): a vulnerability in a locked version always fails; an audit
that could not get its data says so and fails only with --strict; it never passes silently."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "audit_deps.py"
spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
audit_deps = importlib.util.module_from_spec(spec)
sys.modules["audit_deps"] = audit_deps  # dataclasses look their module up there
spec.loader.exec_module(audit_deps)

# Shapes of pip-audit's --format json report (pip-audit 2.x).
CLEAN = {"dependencies": [{"name": "django", "version": "5.2.19", "vulns": []}], "fixes": []}
VULNERABLE = {"dependencies": [
    {"name": "django", "version": "5.2.19", "vulns": []},
    {"name": "urllib3", "version": "2.0.0", "vulns": [{"id": "GHSA-34jh-p97f-mpxf", "fix_versions": ["2.0.7"]}]},
], "fixes": []}
SKIPPED = {"dependencies": [{"name": "django", "skip_reason": "Dependency not found on PyPI and could not be "
                             "audited: django (5.2.19)"}], "fixes": []}
CONTROL_FOUND = {"dependencies": [{"name": "django", "version": "3.2", "vulns": [{"id": "PYSEC-2021-98"}]}]}
CONTROL_EMPTY = {"dependencies": [{"name": "django", "version": "3.2", "vulns": []}]}


@pytest.mark.parametrize("strict", [False, True])
def test_a_vulnerability_always_fails(strict):
    verdict = audit_deps.judge(VULNERABLE, "", CONTROL_FOUND, strict=strict)
    assert verdict.code == audit_deps.FAILED
    assert any("urllib3 2.0.0 : GHSA-34jh-p97f-mpxf (corrigée en : 2.0.7)" in line for line in verdict.lines)


def test_a_clean_audit_passes():
    verdict = audit_deps.judge(CLEAN, "", CONTROL_FOUND, strict=True)
    assert verdict.code == audit_deps.OK and "aucune vulnérabilité connue" in verdict.lines[0]


@pytest.mark.parametrize(
    ("report", "control", "why"),
    [
        (SKIPPED, CONTROL_EMPTY, "1 dépendance(s) sur 1 non vérifiée(s)"),
        # A service that answers without its data: the known-vulnerable control is not flagged.
        (CLEAN, CONTROL_EMPTY, "le contrôle django==3.2"),
        (CLEAN, None, "le contrôle django==3.2"),
        (None, None, "injoignable"),
    ],
)
def test_an_audit_without_data_says_so_and_fails_only_when_strict(report, control, why):
    stderr = "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org')" if report is None else ""
    relaxed = audit_deps.judge(report, stderr, control, strict=False)
    assert relaxed.code == audit_deps.OK and relaxed.lines[0].startswith("AUDIT DES DÉPENDANCES NON FAIT")
    assert why in relaxed.lines[0]
    assert audit_deps.judge(report, stderr, control, strict=True).code == audit_deps.UNREACHABLE


def test_pip_audit_failing_otherwise_fails():
    verdict = audit_deps.judge(None, "ERROR: invalid requirement: 'django=='", None, strict=False)
    assert verdict.code == audit_deps.FAILED and "invalid requirement" in verdict.lines[0]


def test_the_real_pip_audit_never_passes_a_vulnerable_version(tmp_path):
    """The real pip-audit on django 3.2: found vulnerable where the service answers, reported as
    not done where it does not (as here, without PyPI's vulnerability data); never « aucune »."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("django==3.2\n")
    result = subprocess.run([sys.executable, str(SCRIPT), str(requirements)], capture_output=True, text=True)
    out = result.stdout + result.stderr
    assert "aucune vulnérabilité connue" not in out
    assert (result.returncode == 1 and "django 3.2" in out) or (
        result.returncode == 0 and "AUDIT DES DÉPENDANCES NON FAIT" in out
    ), out
    strict = subprocess.run([sys.executable, str(SCRIPT), str(requirements), "--strict"], capture_output=True)
    assert strict.returncode in (1, 2)
