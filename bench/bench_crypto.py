"""Cost of encryption at rest, against a plaintext baseline measured in the same run.

Run: .venv/bin/python bench/bench_crypto.py [--patients 100000] [--rounds 200]

Two workloads, each on Hygie's encrypted models and on plaintext twin tables created for the
run (same columns in clear, same indexes a plaintext application would use):
- open a patient record with 20 consultations (the rows, every field read, as the page does);
- search by last-name prefix among N patients: encrypted = blind indexes, then decrypt and
  filter the candidates (hygie.patients.search); plaintext = an indexed table of folded name
  words queried with LIKE 'prefix%', then the same matching and sorting in Python.
Prints medians and ratios. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SYLLABLES = ["ba", "ber", "bou", "ca", "cha", "da", "de", "di", "dou", "fa", "fon", "ga", "gi", "la", "le", "lou",
             "ma", "mar", "me", "mo", "na", "ne", "pa", "pe", "pi", "ra", "re", "ri", "ro", "sa", "se", "ta", "te",
             "ti", "va", "vi", "zé", "lé", "mè", "nô"]  # fmt: skip
FIRST = ["Jean", "Marie", "Léa", "Louis", "Chloé", "Hugo", "Inès", "Paul", "Élise", "Noé", "Zoé", "René", "Anaïs"]


def _median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
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
    from django.db import connection, models, transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from hygie.accounts.models import User
    from hygie.keys import service
    from hygie.lib.text import fold
    from hygie.patients import indexes
    from hygie.patients.models import BlindIndex, CareTeamMember, Consultation, Patient
    from hygie.patients.search import _matches, parse, search

    # --- Plaintext twins, created for this run only ------------------------------------------
    class PlainPatient(models.Model):  # noqa: DJ008
        birth_name = models.CharField(max_length=100)
        usage_name = models.CharField(max_length=100, blank=True)
        first_names = models.CharField(max_length=150)
        birth_date = models.DateField()
        sex = models.CharField(max_length=1)
        ins = models.CharField(max_length=15, blank=True)
        phone = models.CharField(max_length=30, blank=True)
        email = models.CharField(max_length=100, blank=True)
        address = models.TextField(blank=True)
        death_date = models.DateField(null=True)
        history = models.TextField(blank=True)

        class Meta:
            app_label = "keys"

        @property
        def last_name(self) -> str:
            return self.usage_name or self.birth_name

    class PlainWord(models.Model):  # noqa: DJ008
        patient = models.ForeignKey(PlainPatient, on_delete=models.CASCADE)
        word = models.CharField(max_length=100, db_index=True)

        class Meta:
            app_label = "keys"

    class PlainConsultation(models.Model):  # noqa: DJ008
        patient = models.ForeignKey(PlainPatient, on_delete=models.CASCADE, related_name="consultations")
        date = models.DateTimeField()
        motif = models.CharField(max_length=200)
        observations = models.TextField()

        class Meta:
            app_label = "keys"
            ordering = ["-date"]

    with connection.schema_editor() as editor:
        for model in (PlainPatient, PlainWord, PlainConsultation):
            editor.create_model(model)

    # --- Data ------------------------------------------------------------------------------
    rng = random.Random(7)
    last_names = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
                         for _ in range(8000)})  # fmt: skip
    alice = User.objects.create(username="alice", role="titulaire")
    t0 = time.perf_counter()
    batch = 2000
    identities = []
    for _ in range(args.patients):
        identities.append({
            "birth_name": rng.choice(last_names), "first_names": rng.choice(FIRST),
            "birth_date": date(1930, 1, 1) + timedelta(days=rng.randint(0, 33000)), "sex": rng.choice("FM"),
            "phone": "06 12 34 56 78", "address": "12 rue des Lilas\n69003 Lyon", "history": "HTA. Allergie.",
        })  # fmt: skip
    for start in range(0, args.patients, batch):
        chunk = identities[start : start + batch]
        with transaction.atomic():
            patients = Patient.objects.bulk_create(
                Patient(**ident, identity_fingerprint=f"f{start + i}", code=f"P-{start + i:08d}")
                for i, ident in enumerate(chunk)
            )
            service.save_new_keys(patients)
            CareTeamMember.objects.bulk_create(CareTeamMember(patient=p, practitioner=alice) for p in patients)
            BlindIndex.objects.bulk_create(row for p in patients for row in indexes.rows_for(p))
            plains = PlainPatient.objects.bulk_create(PlainPatient(**ident) for ident in chunk)
            PlainWord.objects.bulk_create(
                PlainWord(patient=p, word=w)
                for p in plains
                for w in set(fold(f"{p.birth_name} {p.usage_name} {p.first_names}").split())
            )
    print(f"{args.patients} patients créés (chiffrés + témoin en clair) en {time.perf_counter() - t0:.0f} s")

    # A record with 20 consultations, in both worlds.
    now = timezone.now()
    enc_patient = Patient.objects.order_by("pk").first()
    plain_patient = PlainPatient.objects.order_by("pk").first()
    for i in range(20):
        Consultation.objects.create(patient=enc_patient, practitioner=alice, date=now - timedelta(days=i),
                                    motif="Suivi", observations="TA 13/8. Examen normal. " * 8)  # fmt: skip
        PlainConsultation.objects.create(patient=plain_patient, date=now - timedelta(days=i), motif="Suivi",
                                         observations="TA 13/8. Examen normal. " * 8)  # fmt: skip

    fields = ("birth_name", "usage_name", "first_names", "birth_date", "sex", "ins", "phone", "email", "address",
              "death_date", "history")  # fmt: skip

    def open_record(model, pk) -> int:
        service.clear_cache()  # a new request: the data key is unwrapped again
        patient = model.objects.get(pk=pk)
        n = len([getattr(patient, f) for f in fields])
        for c in patient.consultations.all():
            n += len((c.date, c.motif, c.observations))
        return n

    enc_open = _median_ms(lambda: open_record(Patient, enc_patient.pk), args.rounds)
    plain_open = _median_ms(lambda: open_record(PlainPatient, plain_patient.pk), args.rounds)

    # The whole page (access checks, journal event, template), encrypted. Its plaintext
    # counterpart is the same page minus the encryption overhead measured just above.
    import base64

    from allauth.mfa.totp.internal.auth import TOTP
    from django.test import Client

    TOTP.activate(alice, base64.b32encode(os.urandom(20)).decode())  # no page without a second factor
    client = Client(HTTP_HOST="localhost")
    client.force_login(alice, backend="hygie.accounts.backends.HygieBackend")
    page_url = f"/patients/{enc_patient.public_id}/"
    first = client.get(page_url)
    assert first.status_code == 200, (first.status_code, first.get("Location"))
    page = _median_ms(lambda: client.get(page_url), args.rounds)
    page_plain = page - (enc_open - plain_open)

    # Search: 4-letter prefixes of existing last names.
    queries = [fold(rng.choice(last_names))[:4] for _ in range(args.rounds)]
    scope = Patient.objects.filter(care_team__practitioner=alice)

    def plain_search(q: str) -> list:
        parsed = parse(q)
        ids = PlainWord.objects.filter(word__startswith=parsed.names[0]).values("patient_id")
        found = [p for p in PlainPatient.objects.filter(pk__in=ids) if _matches(p, parsed)]
        found.sort(key=lambda p: (fold(p.last_name), fold(p.first_names), p.birth_date))
        return found

    sizes = []

    def enc_search(q: str) -> None:
        service.clear_cache()
        sizes.append(len(search(scope, q)))

    for q in queries[:5]:  # same answers in both worlds (same identities, same order of creation)
        assert len(search(scope, q)) == len(plain_search(q)), q
    it_enc, it_plain = iter(queries * 2), iter(queries * 2)
    enc_s = _median_ms(lambda: enc_search(next(it_enc)), args.rounds)
    plain_s = _median_ms(lambda: plain_search(next(it_plain)), args.rounds)

    print(f"Ouvrir un dossier (20 consultations), lecture des lignes : chiffré {enc_open:.2f} ms, "
          f"en clair {plain_open:.2f} ms, ratio {enc_open / plain_open:.2f}")  # fmt: skip
    print(f"Ouvrir un dossier (20 consultations), page entière : chiffrée {page:.2f} ms, en clair (estimée) "
          f"{page_plain:.2f} ms, ratio {page / page_plain:.2f} (objectif ≤ 1,15)")  # fmt: skip
    print(f"Recherche par préfixe de nom (4 lettres, {args.patients} patients, {statistics.median(sizes):.0f} "
          f"résultats en médiane) : chiffré {enc_s:.2f} ms, en clair {plain_s:.2f} ms, ratio {enc_s / plain_s:.2f} "
          f"(objectif ≤ 1,5 ; médiane < 30 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
