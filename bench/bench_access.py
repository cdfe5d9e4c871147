"""Cost of the access module on the patient list, against a hand-written query.

Run: .venv/bin/python bench/bench_access.py [--patients N]
Both sides run in turn, the order alternating each round; prints the median of each and the
ratio. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=5000, help="patients per titulaire")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hygie-bench-"))
    os.environ.update(HYGIE_ENV="test", HYGIE_DATA_DIR=str(tmp / "var"), HYGIE_KEY_FILE=str(tmp / "keys.json"))
    from hygie.lib import keyfile

    keyfile.create(Path(os.environ["HYGIE_KEY_FILE"]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygie.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from hygie.access import records
    from hygie.accounts.models import User
    from hygie.patients.models import CareTeamMember, Patient

    alice = User.objects.create(username="alice", role="titulaire")
    bob = User.objects.create(username="bob", role="titulaire")
    for owner in (alice, bob):
        patients = Patient.objects.bulk_create(
            Patient(birth_name=f"Nom{i}", first_names="Prénom", birth_date=date(1970, 1, 1), sex="F",
                    identity_fingerprint=f"{owner.pk}-{i}", code=f"P-{owner.pk}{i:07d}")
            for i in range(args.patients)
        )
        CareTeamMember.objects.bulk_create(CareTeamMember(patient=p, practitioner=owner) for p in patients)

    def through_access() -> list:
        return list(records.patient_scope(alice).order_by("-updated_at", "-pk")[:50])

    def baseline() -> list:
        return list(Patient.objects.filter(care_team__practitioner=alice).order_by("-updated_at", "-pk")[:50])

    assert [p.pk for p in through_access()] == [p.pk for p in baseline()]
    timings: dict[str, list[float]] = {"baseline": [], "access": []}
    sides = (("baseline", baseline), ("access", through_access))
    for n in range(args.rounds):
        # The order alternates each round: neither side always runs on a cache the other warmed.
        for name, fn in sides if n % 2 == 0 else sides[::-1]:
            start = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - start)
    base = statistics.median(timings["baseline"])
    acc = statistics.median(timings["access"])
    print(f"patients: {2 * args.patients}, rounds: {args.rounds}, database: {django.db.connection.vendor}")
    print(f"baseline (hand-written query): {base * 1000:.2f} ms median")
    print(f"access module (patient_scope): {acc * 1000:.2f} ms median")
    print(f"ratio access/baseline: {acc / base:.2f}x")


if __name__ == "__main__":
    main()
