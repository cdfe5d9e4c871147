"""`make lint`: known vulnerabilities in the locked versions (requirements.lock), with pip-audit.

pip-audit asks PyPI's vulnerability data about each pinned version. When it cannot get that
data (no network, a mirror without the JSON API), it says "Dependency not found on PyPI" for
each package and still exits 0: an audit that checked nothing would pass. This wrapper reads
its JSON report and decides:

- a vulnerability in a locked version: FAILS (exit 1), always. Upgrade the package
  (`make lock UPGRADE=1`, or a minimum version in pyproject.toml then `make lock`);
- the data could not be had for some or all packages (the service unreachable): says so in
  capitals, with the count, and by default does NOT fail (exit 0): CI must not turn red
  because a third-party service is down or unreachable from where it runs. With
  `--strict` (`make lint AUDIT=strict`) it fails (exit 2): for a release, on a machine that
  reaches the service;
- a control first: a version known to be vulnerable (Django 3.2.0) must come back with
  vulnerabilities; otherwise the service answers without data and nothing is trusted.
- pip-audit itself failing (bad lock file, crash): FAILS (exit 1).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Known to have vulnerabilities (CVE-2021-31542 and many more): the audit must find them.
CONTROL = "django==3.2"

OK, FAILED, UNREACHABLE = 0, 1, 2


@dataclass
class Verdict:
    code: int
    lines: list[str] = field(default_factory=list)


def pip_audit(requirements: Path, timeout: int) -> tuple[dict | None, str]:
    """pip-audit's JSON report of a requirements file (None if it wrote none), and its stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        result = subprocess.run(  # noqa: S603 - the venv's pip-audit, arguments are ours
            [
                sys.executable, "-m", "pip_audit", "--requirement", str(requirements), "--disable-pip",
                "--no-deps", "--format", "json", "--output", str(out), "--progress-spinner", "off",
                "--desc", "off", "--timeout", str(timeout),
            ],
            capture_output=True,
            text=True,
        )
        report = json.loads(out.read_text()) if out.is_file() and out.stat().st_size else None
    if result.returncode != 0 and report is None:
        return None, result.stderr
    return report, result.stderr


def judge(report: dict | None, stderr: str, control: dict | None, *, strict: bool) -> Verdict:
    """What `make lint` says, from the report on requirements.lock and the one on CONTROL."""
    if report is None:
        last = (stderr.strip().splitlines() or ["(aucun message)"])[-1]
        if "ConnectionError" in stderr or "NameResolutionError" in stderr or "Timeout" in stderr:
            return _unreachable(["service de vulnérabilités injoignable", last[:300]], 0, strict)
        return Verdict(FAILED, [f"ÉCHEC : pip-audit n'a pas pu lire requirements.lock : {last[:300]}"])
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    if vulnerable:
        lines = [f"ÉCHEC : {len(vulnerable)} dépendance(s) verrouillée(s) avec une vulnérabilité connue :"]
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixed = ", ".join(vuln.get("fix_versions") or []) or "aucune"
                lines.append(f"  {dep['name']} {dep.get('version', '?')} : {vuln.get('id')} (corrigée en : {fixed})")
        lines.append("Mettez-la à jour : make lock UPGRADE=1 (ou une version minimale dans pyproject.toml).")
        return Verdict(FAILED, lines)
    control_ok = bool(control and any(d.get("vulns") for d in control.get("dependencies", [])))
    if skipped or not control_ok:
        reasons = []
        if skipped:
            reasons.append(f"{len(skipped)} dépendance(s) sur {len(deps)} non vérifiée(s) "
                           f"(ex. : {skipped[0].get('skip_reason', '')[:160]})")
        if not control_ok:
            reasons.append(f"le contrôle {CONTROL} (vulnérable) n'est pas signalé : le service ne répond pas")
        return _unreachable(reasons, len(deps) - len(skipped), strict)
    return Verdict(OK, [f"Audit des dépendances : {len(deps)} versions verrouillées, aucune vulnérabilité connue."])


def _unreachable(reasons: list[str], checked: int, strict: bool) -> Verdict:
    lines = ["AUDIT DES DÉPENDANCES NON FAIT (ou incomplet) : " + " ; ".join(reasons) + "."]
    if strict:
        lines.append("ÉCHEC (AUDIT=strict).")
        return Verdict(UNREACHABLE, lines)
    lines.append(
        "Non bloquant par défaut (docs/operations.md, « Dépendances ») : relancez `make lint AUDIT=strict` "
        "depuis une machine qui joint le service avant une mise en production."
    )
    return Verdict(OK, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requirements", type=Path)
    parser.add_argument("--strict", action="store_true", help="échoue aussi si le service est injoignable")
    parser.add_argument("--timeout", type=int, default=15)
    args = parser.parse_args(argv)
    report, stderr = pip_audit(args.requirements, args.timeout)
    control = None
    if report is not None:
        with tempfile.TemporaryDirectory() as tmp:
            control_file = Path(tmp) / "control.txt"
            control_file.write_text(CONTROL + "\n")
            control, _ = pip_audit(control_file, args.timeout)
    verdict = judge(report, stderr, control, strict=args.strict)
    stream = sys.stdout if verdict.code == OK and not verdict.lines[0].startswith("AUDIT") else sys.stderr
    for line in verdict.lines:
        print(line, file=stream)
    return verdict.code


if __name__ == "__main__":
    sys.exit(main())
