"""The demo practice's compliance profile and processors: fictitious, complete, so that the
demo's register has nothing left to fill in (`hygie demo`, hygie/core/demo.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hygie.compliance import actions
from hygie.compliance.models import ContactKind, DataSeen, PracticeType, ProcessorService


def fill(*, today: date, pdf: Any, actor_role: str) -> None:
    """`pdf(title)` makes a one-page PDF (the demo's tiny_pdf), standing for a signed contract."""
    actions.save_profile(
        actor=None, actor_role=actor_role, today=today,
        practice_type=PracticeType.MSP,
        address="12 rue des Tilleuls\n69003 Lyon",
        siret="12345678900012",
        finess="690000000",
        contact_kind=ContactKind.DPO,
        contact_name="Claire Vasseur (DPO mutualisé, démo)",
        contact_email="dpo@example.org",
        contact_phone="04 00 00 00 00",
        dpo_designation="DPO-000000 (démo)",
        hosting="Serveur au cabinet (local technique fermé à clé)",
        hosting_hds=True,
        patients_per_year=2600,
        shared_system=True,
    )
    processors = [
        dict(name="Sauvegardes Exemple HDS (démo)", service=ProcessorService.BACKUP,
             purpose="Stockage des sauvegardes chiffrées hors du cabinet", data_seen=DataSeen.HEALTH,
             location="France", in_eu=True, hds_number="HDS-DEMO-0001", hds_expires_on=today + timedelta(days=500),
             contract_signed_on=today - timedelta(days=200)),
        dict(name="Messagerie sécurisée Exemple (démo)", service=ProcessorService.MESSAGING,
             purpose="Opérateur MSSanté des praticiens", data_seen=DataSeen.HEALTH, location="France", in_eu=True,
             hds_number="HDS-DEMO-0002", hds_expires_on=today + timedelta(days=700),
             contract_signed_on=today - timedelta(days=400)),
        dict(name="Cabinet comptable Exemple (démo)", service=ProcessorService.ACCOUNTANT,
             purpose="Tenue de la comptabilité (recettes, sans données de santé)",
             data_seen=DataSeen.ADMINISTRATIVE, location="France", in_eu=True,
             contract_signed_on=today - timedelta(days=90)),
    ]
    for values in processors:
        actions.add_processor(actor=None, actor_role=actor_role, contract=pdf(f"Contrat {values['name']}"),
                              **values)
