"""Every item of the practice's security checklist: the 14 lines of seed 003's checklist « à
afficher dans le cabinet », the organisational measures of seeds 000-004, and what Hygie knows
of itself. Each says where it comes from, why it matters and what to do, in plain French.

Three kinds:
- "computed": Hygie reads its own state (accounts, settings, backups, journal…); nobody declares it;
- "declared": a person (administrator or referent) declares it, with a date, a note and maybe a
  proof; `probes` name the `hygie diagnostic` checks that also feed it when run on the server;
- "server": computed from the last `hygie diagnostic` run on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hygie.lib.selfcheck import RISK_HIGH, RISK_LOW, RISK_MEDIUM

COMPUTED = "computed"
DECLARED = "declared"
SERVER = "server"


@dataclass(frozen=True)
class Section:
    id: str
    title: Promise


ACCESS = Section("acces", _("Gestion des accès"))
NETWORK = Section("reseau", _("Réseau et connectivité"))
DATA = Section("donnees", _("Protection des données"))
INCIDENTS = Section("incidents", _("Préparation aux incidents"))
ORGANISATION = Section("organisation", _("Organisation du cabinet"))
HYGIE = Section("hygie", _("Ce que Hygie vérifie lui-même"))
SECTIONS = (ACCESS, NETWORK, DATA, INCIDENTS, ORGANISATION, HYGIE)


@dataclass(frozen=True)
class Item:
    id: str
    section: Section
    label: Promise
    source: str
    why: Promise
    todo: Promise
    risk: int
    kind: str
    # On the poster: the 14 lines of seed 003's checklist.
    poster: bool = False
    # `hygie diagnostic` checks that feed this item when run on the server.
    probes: tuple[str, ...] = ()

    @property
    def computed(self) -> bool:
        return self.kind != DECLARED


ITEMS: tuple[Item, ...] = (
    # --- Seed 003, « Checklist de sécurité (à afficher dans le cabinet) » ---------------------
    Item(
        "mot-de-passe-poste", ACCESS, _("Mot de passe fort et personnel par ordinateur"), "seed 003 ; seed 000",
        _("Un ordinateur sans mot de passe, ou avec un mot de passe partagé, donne accès à tout ce qu'il contient."),
        _("Chaque ordinateur demande un mot de passe d'au moins 12 caractères (lettres, chiffres, symboles), "
          "sans date de naissance ni prénom, propre à chaque personne."),
        RISK_HIGH, DECLARED, poster=True,
    ),
    Item(
        "verrouillage-poste", ACCESS, _("Verrouillage automatique après inactivité"), "seed 003 ; seed 000 ; seed 002",
        _("Un écran resté ouvert pendant une absence laisse le dossier affiché à qui passe."),
        _("Réglez la mise en veille avec mot de passe à 5 minutes au plus sur chaque ordinateur "
          "(1 minute sur téléphone et tablette), et verrouillez l'écran (Windows + L) en vous levant."),
        RISK_MEDIUM, DECLARED, poster=True, probes=("screen_lock",),
    ),
    Item(
        "sessions-separees", ACCESS, _("Sessions professionnelles et personnelles séparées"), "seed 003",
        _("La messagerie ou le streaming personnels sur la session de travail ouvrent la porte aux virus."),
        _("Créez une session « pro » distincte de la session personnelle sur chaque ordinateur utilisé au cabinet."),
        RISK_MEDIUM, DECLARED, poster=True,
    ),
    Item(
        "comptes-nominatifs", ACCESS, _("Accès individualisés par praticien (pas de compte partagé)"),
        "seed 003 ; seed 004 ; REQUIREMENTS AUTH-1",
        _("Avec un compte partagé, le journal ne dit plus qui a ouvert un dossier."),
        _("Un compte Hygie par personne, à son nom (prénom et nom renseignés), jamais « accueil » ou « cabinet »."),
        RISK_HIGH, COMPUTED, poster=True,
    ),
    Item(
        "pas-de-post-it", ACCESS, _("Aucun mot de passe visible (post-it, carnet)"), "seed 003",
        _("Un mot de passe écrit près de l'écran est lu par le premier visiteur."),
        _("Retirez les post-it et carnets ; rangez les mots de passe dans un gestionnaire (KeePass)."),
        RISK_MEDIUM, DECLARED, poster=True,
    ),
    Item(
        "wifi", NETWORK, _("Wi-Fi sécurisé (WPA2/3) avec réseau invité distinct"), "seed 003",
        _("Un patient connecté au même Wi-Fi que les ordinateurs du cabinet peut les atteindre."),
        _("Configurez la box en WPA2 ou WPA3 avec un mot de passe long, et ouvrez un réseau invité séparé "
          "pour la salle d'attente."),
        RISK_MEDIUM, DECLARED, poster=True,
    ),
    Item(
        "mises-a-jour", NETWORK, _("Logiciels et OS maintenus à jour"), "seed 003 ; seed 002",
        _("La plupart des attaques utilisent une faille déjà corrigée par une mise à jour non installée."),
        _("Activez les mises à jour automatiques de Windows ou macOS, du navigateur et des logiciels ; "
          "sur le serveur, unattended-upgrades."),
        RISK_HIGH, DECLARED, poster=True, probes=("security_updates",),
    ),
    Item(
        "antivirus", NETWORK, _("Antivirus actif et actualisé"), "seed 003 ; seed 001 (EDR)",
        _("Un courriel piégé (faux message de la CNAM) installe un virus ou un rançongiciel."),
        _("Vérifiez que l'antivirus (Microsoft Defender suffit) est actif et à jour sur chaque poste ; "
          "un EDR surveille mieux encore."),
        RISK_HIGH, DECLARED, poster=True,
    ),
    Item(
        "sauvegardes", DATA, _("Sauvegardes automatiques, chiffrées, hors site"),
        "seed 003 ; seeds 000, 001 ; REQUIREMENTS BAK-1",
        _("Sans copie hors d'atteinte, un rançongiciel ou un incendie emporte les dossiers."),
        _("Dans Hygie › Sauvegardes, ajoutez une destination hors site (SFTP, S3) ou un disque débranché "
          "après chaque sauvegarde."),
        RISK_HIGH, COMPUTED, poster=True,
    ),
    Item(
        "supports-chiffres", DATA, _("Supports amovibles (USB/disques) chiffrés"), "seed 003 ; seed 001",
        _("Une clé USB perdue avec des dossiers en clair est une violation de données à déclarer."),
        _("Chiffrez clés USB et disques externes (BitLocker To Go, VeraCrypt, FileVault) ou n'en utilisez pas."),
        RISK_MEDIUM, DECLARED, poster=True,
    ),
    Item(
        "pas-de-mail", DATA, _("Aucun envoi de données patients par mail non sécurisé"), "seed 003 ; seeds 001, 002",
        _("Un courriel ordinaire (Gmail, Outlook) peut être lu, mal adressé ou conservé sans contrôle."),
        _("Échangez avec les confrères par MSSanté ou Apicrypt, ou en archive 7-Zip AES avec un mot de passe "
          "transmis à part."),
        RISK_MEDIUM, DECLARED, poster=True,
    ),
    Item(
        "affichage-limite", DATA, _("Affichage patient limité aux écrans nécessaires"), "seed 003 ; REQUIREMENTS ACL-2",
        _("Un écran visible depuis la salle d'attente montre des noms et des motifs de consultation."),
        _("Orientez les écrans de l'accueil hors de la vue du public ; filtre de confidentialité si besoin."),
        RISK_LOW, DECLARED, poster=True,
    ),
    Item(
        "contact-17cyber", INCIDENTS, _("Coordonnées 17Cyber disponibles"), "seed 003",
        _("En cas d'attaque, chaque minute compte : il faut savoir qui appeler sans chercher."),
        _("Affichez cette fiche : 17Cyber (cybermalveillance.gouv.fr, 17cyber.gouv.fr), assistance 24 h/24."),
        RISK_LOW, DECLARED, poster=True,
    ),
    Item(
        "contact-csirt", INCIDENTS, _("Contact prestataire/CSIRT à portée de main"), "seed 003 ; seed 002",
        _("Le CSIRT régional et le prestataire informatique aident à isoler, comprendre et redémarrer."),
        _("Notez sur l'affiche le numéro du prestataire et celui du CSIRT de votre région."),
        RISK_LOW, DECLARED, poster=True,
    ),
    # --- Organisational measures of seeds 000-004 ---------------------------------------------
    Item(
        "chiffrement-postes", ORGANISATION, _("Disques des ordinateurs chiffrés"), "seed 001 ; seed 002",
        _("Un ordinateur volé dont le disque n'est pas chiffré se lit sur n'importe quelle autre machine."),
        _("Activez BitLocker (Windows), FileVault (macOS) ou LUKS (Linux) sur chaque poste et sur le serveur."),
        RISK_HIGH, DECLARED, probes=("disk_encryption", "data_dir_encryption"),
    ),
    Item(
        "pare-feu", ORGANISATION, _("Équipements connectés sécurisés (pare-feu actif)"), "seed 003 § 3",
        _("Un service ouvert sur le réseau sans filtrage est une porte d'entrée."),
        _("Vérifiez que le pare-feu de chaque ordinateur est actif ; changez les mots de passe par défaut "
          "de la box, de l'imprimante et des caméras."),
        RISK_MEDIUM, DECLARED, probes=("firewall",),
    ),
    Item(
        "gestionnaire-mots-de-passe", ORGANISATION, _("Un gestionnaire de mots de passe"),
        "seed 001 ; seed 004 (KeePass)",
        _("Sans gestionnaire, on réutilise le même mot de passe partout ; une fuite ailleurs ouvre le cabinet."),
        _("Installez KeePass (gratuit, recommandé par l'ANSSI) et un mot de passe différent par service."),
        RISK_MEDIUM, DECLARED,
    ),
    Item(
        "materiel-pro", ORGANISATION, _("Matériel professionnel et personnel séparés"), "seed 000 ; seed 003 § 2",
        _("Un téléphone ou une adresse personnels mélangent dossiers et vie privée, et se perdent plus souvent."),
        _("Réservez un ordinateur, un téléphone et une adresse de messagerie à l'activité professionnelle."),
        RISK_LOW, DECLARED,
    ),
    Item(
        "carte-cps", ORGANISATION, _("Carte CPS strictement personnelle"), "seed 004",
        _("La carte CPS atteste l'identité du praticien : la prêter, c'est signer à sa place."),
        _("Ne laissez jamais la carte CPS dans le lecteur et ne communiquez jamais son code, même à la secrétaire."),
        RISK_MEDIUM, DECLARED,
    ),
    Item(
        "papier-sous-cle", ORGANISATION, _("Dossiers papier sous clé"), "seed 002 ; seed 004",
        _("Un dossier papier qui traîne se lit et se photographie sans laisser de trace."),
        _("Rangez les dossiers papier dans un meuble fermé à clé ; détruisez-les au broyeur."),
        RISK_LOW, DECLARED,
    ),
    Item(
        "assistance-distance", ORGANISATION, _("Sessions d'assistance à distance fermées après usage"), "seed 003 § 6",
        _("Une session TeamViewer ou AnyDesk laissée ouverte permet de se reconnecter sans vous."),
        _("Après chaque intervention : fermer la session, vérifier l'arrêt du logiciel (icône), changer ou "
          "désactiver le mot de passe permanent, redémarrer l'ordinateur."),
        RISK_HIGH, DECLARED, probes=("remote_assistance",),
    ),
    Item(
        "outils-ia", ORGANISATION, _("Outils d'IA vérifiés avec la grille de la CNIL"), "seed 004",
        _("Un outil d'IA en ligne peut conserver ou réutiliser les données de santé qu'on lui confie."),
        _("Avant d'utiliser un outil d'IA avec des données patients, remplissez la grille d'auto-évaluation "
          "de la CNIL et gardez-la en preuve."),
        RISK_LOW, DECLARED,
    ),
    Item(
        "formation", ORGANISATION, _("Personnel formé chaque année"),
        "seed 002 ; seed 001 ; seed 003 (SensCyber, SecNumacadémie)",
        _("Les attaques passent d'abord par les personnes : un faux courriel, un faux technicien."),
        _("Chaque personne suit chaque année une courte formation (SensCyber, MOOC SecNumacadémie de l'ANSSI "
          "ou une séance interne) : enregistrez-la ci-dessous."),
        RISK_MEDIUM, COMPUTED,
    ),
    # --- What Hygie knows of itself -------------------------------------------------------------
    Item(
        "second-facteur", HYGIE, _("Un second facteur sur chaque compte actif"), "seeds 000-003 ; REQUIREMENTS AUTH-3",
        _("Un mot de passe deviné ou volé ne suffit plus quand un code ou une clé de sécurité est exigé."),
        _("Chaque personne active un second facteur (application TOTP ou clé de sécurité) à sa prochaine connexion ; "
          "désactivez les comptes qui ne servent plus."),
        RISK_HIGH, COMPUTED,
    ),
    Item(
        "verrouillage-hygie", HYGIE, _("Verrouillage de Hygie après inactivité (5 min au plus)"),
        "seed 003 ; seed 000 ; REQUIREMENTS AUTH-6",
        _("Une session Hygie ouverte sur un poste partagé montre les dossiers à la personne suivante."),
        _("Réglez HYGIE_IDLE_LOCK_MINUTES à 5 au plus (défaut : 5)."),
        RISK_MEDIUM, COMPUTED,
    ),
    Item(
        "sauvegarde-recente", HYGIE, _("Dernière sauvegarde réussie récente"), "seed 003 ; REQUIREMENTS BAK-1",
        _("Une sauvegarde qui échoue sans que personne ne le voie ne sauve rien le jour venu."),
        _("Regardez l'erreur dans Hygie › Sauvegardes et corrigez la destination (disque branché, mot de passe)."),
        RISK_HIGH, COMPUTED,
    ),
    Item(
        "test-restauration", HYGIE, _("Un test de restauration réussi depuis moins de 35 jours"),
        "seed 003 ; REQUIREMENTS BAK-3",
        _("Une sauvegarde jamais restaurée peut se révéler illisible le jour où on en a besoin."),
        _("Dans Hygie › Sauvegardes, « Tester une restauration » (fait aussi chaque mois automatiquement)."),
        RISK_HIGH, COMPUTED,
    ),
    Item(
        "journal-verifie", HYGIE, _("Journal des accès vérifié et intègre"), "seed 002 ; REQUIREMENTS LOG-3",
        _("Un journal modifié ne prouve plus qui a consulté quoi."),
        _("Journal › « Vérifier l'intégrité » (fait aussi chaque jour automatiquement) ; en cas d'altération, "
          "appelez votre prestataire."),
        RISK_MEDIUM, COMPUTED,
    ),
    Item(
        "facturation-pseudonymes", HYGIE, _("Facturation sans noms de patients"),
        "seed 003 ; seed 002 ; REQUIREMENTS ACL-1",
        _("« Noms de patients visibles dans les logiciels de comptabilité » est une faille fréquente (seed 003)."),
        _("Rien à faire : le rôle facturation ne voit que des codes pseudonymes. Si cette ligne est à faire, "
          "la matrice des rôles a été modifiée : prévenez le référent."),
        RISK_MEDIUM, COMPUTED,
    ),
    Item(
        "exports-journalises", HYGIE, _("Aucun export sans trace dans le journal"), "REQUIREMENTS LOG-1",
        _("Un fichier sorti de Hygie sans trace échappe au relevé des accès du patient."),
        _("Signalez au prestataire la page indiquée : chaque téléchargement doit écrire son événement au journal."),
        RISK_MEDIUM, COMPUTED,
    ),
    Item(
        "serveur-https", HYGIE, _("Serveur accessible uniquement en HTTPS"), "REQUIREMENTS ; hygie diagnostic",
        _("Sans HTTPS, mots de passe et dossiers circulent en clair sur le réseau du cabinet."),
        _("Faites écouter « hygie serve » sur 127.0.0.1 derrière un proxy HTTPS (docs/operations.md)."),
        RISK_HIGH, SERVER, probes=("serve_tls",),
    ),
    Item(
        "serveur-fichier-cles", HYGIE, _("Fichier de clés protégé sur le serveur"),
        "REQUIREMENTS ENC-1 ; hygie diagnostic",
        _("Qui lit le fichier de clés et une copie de la base lit les dossiers."),
        _("Droits 600 sur le fichier de clés, hors du répertoire de données (hygie diagnostic dit comment)."),
        RISK_HIGH, SERVER, probes=("key_file",),
    ),
    Item(
        "serveur-horloge", HYGIE, _("Horloge du serveur synchronisée"), "REQUIREMENTS LOG-3 ; hygie diagnostic",
        _("Les heures du journal font foi : une horloge qui dérive les rend contestables."),
        _("Activez la synchronisation NTP (« timedatectl set-ntp true »)."),
        RISK_LOW, SERVER, probes=("time_sync",),
    ),
)

BY_ID = {item.id: item for item in ITEMS}
POSTER = tuple(item for item in ITEMS if item.poster)
DECLARABLE = tuple(item for item in ITEMS if item.kind == DECLARED)


def get(item_id: str) -> Item | None:
    return BY_ID.get(item_id)


class CourseKind:
    SENSCYBER = "senscyber"
    SECNUMACADEMIE = "secnumacademie"
    INTERNAL = "interne"
    OTHER = "autre"
    CHOICES = (
        (SENSCYBER, _("SensCyber (cybermalveillance.gouv.fr)")),
        (SECNUMACADEMIE, _("MOOC SecNumacadémie (ANSSI)")),
        (INTERNAL, _("Séance interne au cabinet")),
        (OTHER, _("Autre formation")),
    )
