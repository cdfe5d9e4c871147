"""Exercise scenarios (seed 002: « simuler un incident de temps en temps »; INC-4). Each runs
the plan's steps (STEPS) on a made-up incident: nothing real is locked or notified."""

from __future__ import annotations

from dataclasses import dataclass

from hygie.incidents.models import Origin


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    origin: str
    confidentiality: bool
    availability: bool
    story: str


SCENARIOS = [
    Scenario("rancongiciel", "Rançongiciel sur le poste de l'accueil", Origin.INTRUSION, True, True,
             "Lundi 8 h 10, l'écran de l'accueil affiche une demande de rançon ; les fichiers du "
             "partage réseau ont une nouvelle extension."),
    Scenario("portable-vole", "Ordinateur portable volé dans la voiture", Origin.DEVICE_LOST, True, False,
             "Le portable d'un praticien, session Hygie ouverte la veille, a été volé ; le disque est-il chiffré ?"),
    Scenario("mauvais-destinataire", "Compte rendu envoyé au mauvais destinataire", Origin.WRONG_RECIPIENT,
             True, False, "Un compte rendu a été envoyé par messagerie à un homonyme du correspondant."),
]

# The plan's steps, in order (fiche réflexe, seed 003), as timed in an exercise.
STEPS = [
    ("isolate", "Isoler : débrancher le poste du réseau, presser « Isoler Hygie » (simulé : rien n'est coupé)"),
    ("call", "Appeler 17Cyber puis le CSIRT régional ou le prestataire"),
    ("evidence", "Préserver les preuves : heure, photos des écrans, journaux"),
    ("register", "Remplir la fiche de l'incident au registre"),
    ("scope", "Recenser dans le journal les personnes concernées"),
    ("cnil", "Préparer la notification CNIL (brouillon prêt à copier)"),
    ("art34", "Décider de l'information des patients (art. 34)"),
    ("lift", "Lever l'isolement (simulé)"),
]
# The steps the exercise runs through the switch itself, in simulation (hygie.incidents.switch).
SIMULATED = frozenset({"isolate", "lift"})


def get(key: str) -> Scenario | None:
    return next((s for s in SCENARIOS if s.key == key), None)
