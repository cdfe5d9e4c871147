"""French labels of journal events, for people: the viewer, the access report and its PDF.

The tags themselves (hygie.audit.events) never change; these words may. A test checks that every
tag has a label.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from hygie.access.policy import Role
from hygie.audit.events import Ev, Outcome

LABELS = {
    Ev.LOGIN_SUCCEEDED: _("Connexion"),
    Ev.LOGIN_FAILED: _("Connexion refusée"),
    Ev.LOGIN_LOCKED: _("Compte bloqué après des échecs de connexion"),
    Ev.LOGOUT: _("Déconnexion"),
    Ev.LOGOUT_EVERYWHERE: _("Déconnexion de toutes les sessions"),
    Ev.SESSION_IDLE_LOCKED: _("Session verrouillée après inactivité"),
    Ev.SESSION_LOCKED: _("Session verrouillée"),
    Ev.SESSION_UNLOCKED: _("Session déverrouillée"),
    Ev.REAUTHENTICATED: _("Identité confirmée à nouveau"),
    Ev.PASSWORD_CHANGED: _("Mot de passe changé"),
    Ev.PASSWORD_SET_BY_ADMIN: _("Mot de passe provisoire défini"),
    Ev.PASSWORD_RESET_REQUESTED: _("Lien de réinitialisation du mot de passe demandé par e-mail"),
    Ev.PASSWORD_RESET: _("Mot de passe réinitialisé par le lien reçu par e-mail"),
    Ev.MFA_ENROLLED: _("Second facteur enregistré"),
    Ev.MFA_REMOVED: _("Second facteur retiré"),
    Ev.MFA_RESET: _("Second facteur réinitialisé"),
    Ev.MFA_RECOVERY_CODES_GENERATED: _("Codes de secours générés"),
    Ev.USER_CREATED: _("Compte créé"),
    Ev.USER_CHANGED: _("Compte modifié"),
    Ev.USER_ROLE_CHANGED: _("Rôle modifié"),
    Ev.USER_DEACTIVATED: _("Compte désactivé"),
    Ev.USER_REACTIVATED: _("Compte réactivé"),
    Ev.REPLACEMENT_CREATED: _("Remplacement enregistré"),
    Ev.REPLACEMENT_ENDED: _("Remplacement terminé avant son terme"),
    Ev.GRANT_REQUESTED: _("Demande d'accès aux données d'un titulaire"),
    Ev.GRANT_APPROVED: _("Demande d'accès approuvée"),
    Ev.GRANT_REFUSED: _("Demande d'accès refusée"),
    Ev.GRANT_EXPIRED: _("Demande d'accès expirée"),
    Ev.GRANT_APPLIED: _("Accès accordé après approbation"),
    Ev.PRACTICE_CREATED: _("Cabinet créé"),
    Ev.PATIENT_CREATED: _("Dossier créé"),
    Ev.PATIENT_VIEWED: _("Dossier consulté"),
    Ev.PATIENT_UPDATED: _("Identité modifiée"),
    Ev.PATIENT_SEARCHED: _("Recherche de patients"),
    Ev.PATIENT_LISTED: _("Liste des patients consultée"),
    Ev.PATIENT_ERASED: _("Dossier effacé"),
    Ev.PATIENTS_IMPORTED: _("Import de patients"),
    Ev.CARE_TEAM_ADDED: _("Praticien ajouté à l'équipe de soins"),
    Ev.CARE_TEAM_REMOVED: _("Praticien retiré de l'équipe de soins"),
    Ev.BREAK_GLASS: _("Accès exceptionnel au dossier"),
    Ev.BREAK_GLASS_REVIEWED: _("Accès exceptionnel examiné"),
    Ev.BREAK_GLASS_REQUESTED: _("Accès exceptionnel envisagé (motif pas encore saisi)"),
    Ev.HISTORY_VIEWED: _("Antécédents consultés"),
    Ev.HISTORY_UPDATED: _("Antécédents modifiés"),
    Ev.HISTORY_REVISIONS_VIEWED: _("Historique des antécédents consulté"),
    Ev.CONSULTATION_CREATED: _("Consultation créée"),
    Ev.CONSULTATION_VIEWED: _("Consultation consultée"),
    Ev.CONSULTATION_UPDATED: _("Consultation modifiée"),
    Ev.CONSULTATION_REVISIONS_VIEWED: _("Historique d'une consultation consulté"),
    Ev.DOCUMENT_UPLOADED: _("Document ajouté"),
    Ev.DOCUMENT_DOWNLOADED: _("Document téléchargé"),
    Ev.DOCUMENT_DELETED: _("Document supprimé"),
    Ev.DOCUMENT_ORPHANS_REMOVED: _("Fichiers de documents orphelins supprimés (envois interrompus)"),
    Ev.APPOINTMENT_CREATED: _("Rendez-vous créé"),
    Ev.APPOINTMENT_UPDATED: _("Rendez-vous modifié"),
    Ev.APPOINTMENT_CANCELLED: _("Rendez-vous annulé"),
    Ev.AGENDA_VIEWED: _("Agenda consulté"),
    Ev.CARE_SHEET_CREATED: _("Feuille de soins créée"),
    Ev.CARE_SHEET_UPDATED: _("Feuille de soins modifiée"),
    Ev.BILLING_VIEWED: _("Facturation consultée"),
    Ev.BILLING_EXPORTED: _("Export comptable téléchargé"),
    Ev.RECEIPT_ISSUED: _("Note d'honoraires éditée"),
    Ev.FAVOURITE_ACT_ADDED: _("Acte habituel ajouté"),
    Ev.FAVOURITE_ACT_REMOVED: _("Acte habituel retiré"),
    Ev.ACCESS_DENIED: _("Accès refusé"),
    Ev.OUT_OF_SCOPE: _("Dossier hors périmètre demandé (refusé)"),
    Ev.JOURNAL_PRUNED: _("Journal purgé (durée de conservation)"),
    Ev.JOURNAL_VIEWED: _("Journal des accès consulté"),
    Ev.JOURNAL_VERIFIED: _("Intégrité du journal vérifiée"),
    Ev.ALERT_RAISED: _("Alerte levée"),
    Ev.ALERT_ACKNOWLEDGED: _("Alerte acquittée"),
    Ev.ACCESS_REPORT_VIEWED: _("Relevé des accès au dossier consulté"),
    Ev.ACCESS_REPORT_EXPORTED: _("Relevé des accès au dossier exporté (PDF)"),
    Ev.KEYS_ROTATED: _("Clé de chiffrement renouvelée"),
    Ev.RECOVERY_KIT_GENERATED: _("Kit de récupération des clés imprimé"),
    Ev.KEYS_RECOVERED: _("Fichier de clés restauré"),
    Ev.ERASURES_REAPPLIED: _("Effacements réappliqués après restauration"),
    Ev.KEYS_PROTECTED: _("Fichier de clés protégé par une phrase de passe"),
    Ev.KEYS_UNPROTECTED: _("Protection du fichier de clés par phrase de passe retirée"),
    Ev.KEYS_UNLOCKED: _("Hygie déverrouillé (phrase de passe)"),
    Ev.KEYS_UNLOCK_FAILED: _("Échec du déverrouillage (phrase de passe incorrecte)"),
    Ev.BACKUP_COMPLETED: _("Sauvegarde chiffrée effectuée"),
    Ev.BACKUP_FAILED: _("Échec de la sauvegarde"),
    Ev.BACKUP_VERIFIED: _("Sauvegarde vérifiée"),
    Ev.RESTORE_COMPLETED: _("Sauvegarde restaurée"),
    Ev.RESTORE_TEST_PASSED: _("Test de restauration réussi"),
    Ev.RESTORE_TEST_FAILED: _("Échec du test de restauration"),
    Ev.BACKUP_PRUNED: _("Anciennes sauvegardes supprimées (générations)"),
    Ev.BACKUP_REQUESTED: _("Sauvegarde ou test de restauration demandé"),
    Ev.BACKUP_TARGET_ADDED: _("Destination de sauvegarde ajoutée"),
    Ev.BACKUP_TARGET_CHANGED: _("Destination de sauvegarde modifiée"),
    Ev.BACKUP_TARGET_REMOVED: _("Destination de sauvegarde supprimée"),
    Ev.BACKUP_TARGET_TESTED: _("Destination de sauvegarde testée"),
    Ev.CHECKLIST_DECLARED: _("Point de la check-list de sécurité déclaré"),
    Ev.CHECKLIST_PROOF_DOWNLOADED: _("Justificatif de la check-list téléchargé"),
    Ev.CHECKLIST_POSTER_EXPORTED: _("Affiche de la check-list de sécurité imprimée"),
    Ev.CHECKLIST_SCORED: _("Score de sécurité du jour enregistré"),
    Ev.TRAINING_RECORDED: _("Formation à la sécurité enregistrée"),
    Ev.DIAGNOSTIC_RECORDED: _("Diagnostic de sécurité du serveur enregistré"),
    Ev.EXPORT_UNJOURNALED: _("Téléchargement sans événement de journal détecté"),
    Ev.RETENTION_HOLD_SET: _("Conservation suspendue (réclamation ou recours)"),
    Ev.RETENTION_HOLD_LIFTED: _("Suspension de la conservation levée"),
    Ev.ARCHIVE_OPENED: _("Dossier archivé ouvert (motif saisi)"),
    Ev.RETENTION_VIEWED: _("Page de conservation consultée"),
    Ev.RETENTION_DUE: _("Dossiers arrivés au terme de leur conservation recensés"),
    Ev.RETENTION_NOTICE: _("Préavis de destruction automatique"),
    Ev.RETENTION_PURGE_APPROVED: _("Destruction de dossiers échus approuvée"),
    Ev.RETENTION_DATA_PURGED: _("Données échues supprimées (durée de conservation)"),
    Ev.RIGHTS_REQUEST_RECORDED: _("Demande d'exercice d'un droit enregistrée"),
    Ev.RIGHTS_REQUEST_EXTENDED: _("Délai de réponse à une demande prolongé (patient informé)"),
    Ev.RIGHTS_REQUEST_ANSWERED: _("Réponse à une demande d'exercice d'un droit"),
    Ev.RIGHTS_REQUEST_REFUSED: _("Demande d'exercice d'un droit refusée"),
    Ev.RIGHTS_EXPORTED: _("Dossier exporté en réponse à une demande"),
    Ev.RIGHTS_ERASURE_ACCEPTED: _("Demande d'effacement acceptée"),
    Ev.RIGHTS_RESTRICTION_SET: _("Traitement bloqué (limitation ou opposition)"),
    Ev.RIGHTS_RESTRICTION_LIFTED: _("Limitation ou opposition levée"),
    Ev.RIGHTS_REGISTER_VIEWED: _("Registre des demandes consulté"),
    Ev.ACCOUNT_PERSONAL_DATA_PURGED: _("Données personnelles d'un ancien compte effacées"),
    Ev.LOCKDOWN_STARTED: _("Hygie isolé (interrupteur d'urgence)"),
    Ev.LOCKDOWN_LIFTED: _("Isolement de Hygie levé"),
    Ev.LOCKDOWN_ALLOWED: _("Administrateur autorisé pendant l'isolement (sur la machine)"),
    Ev.LOCKDOWN_REFUSED: _("Refusé : Hygie est isolé"),
    Ev.BREACH_OPENED: _("Incident ouvert au registre"),
    Ev.BREACH_UPDATED: _("Incident mis à jour"),
    Ev.BREACH_ENTRY_ADDED: _("Chronologie d'un incident complétée"),
    Ev.BREACH_SCOPED: _("Personnes concernées par un incident recensées dans le journal"),
    Ev.BREACH_NOTIFICATION_DECIDED: _("Décision sur la notification à la CNIL"),
    Ev.BREACH_NOTIFIED: _("Notification à la CNIL enregistrée"),
    Ev.BREACH_ART34_DECIDED: _("Décision sur l'information des patients (art. 34)"),
    Ev.BREACH_PATIENT_NOTICE: _("Lettre d'information d'un patient sur une violation"),
    Ev.BREACH_DEADLINE: _("Délai de 72 heures d'une violation : avertissement"),
    Ev.BREACH_CLOSED: _("Incident clos"),
    Ev.BREACH_EVIDENCE_EXPORTED: _("Preuves d'un incident exportées"),
    Ev.INCIDENT_CONTACTS_CHANGED: _("Contacts de la fiche réflexe modifiés"),
    Ev.FICHE_REFLEXE_EXPORTED: _("Fiche réflexe imprimée"),
    Ev.EXERCISE_STARTED: _("Exercice d'incident commencé"),
    Ev.EXERCISE_STEP: _("Étape d'un exercice d'incident"),
    Ev.EXERCISE_ENDED: _("Exercice d'incident terminé"),
    Ev.COMPLIANCE_PROFILE_CHANGED: _("Profil RGPD du cabinet modifié"),
    Ev.COMPLIANCE_PROCESSOR_ADDED: _("Sous-traitant ajouté au registre"),
    Ev.COMPLIANCE_PROCESSOR_CHANGED: _("Sous-traitant modifié"),
    Ev.COMPLIANCE_PROCESSOR_REMOVED: _("Sous-traitant retiré du registre"),
    Ev.COMPLIANCE_CONTRACT_DOWNLOADED: _("Contrat de sous-traitance téléchargé"),
    Ev.COMPLIANCE_REGISTER_GENERATED: _("Registre des traitements généré"),
    Ev.COMPLIANCE_NOTICE_EXPORTED: _("Note d'information RGPD imprimée"),
    Ev.COMPLIANCE_PACK_EXPORTED: _("Dossier « contrôle CNIL » produit"),
    Ev.PSC_LOGIN_REFUSED: _("Connexion Pro Santé Connect refusée"),
    Ev.PSC_LOGIN_UNKNOWN: _("Connexion Pro Santé Connect d'un professionnel non relié"),
    Ev.PSC_LINKED: _("Compte relié à Pro Santé Connect"),
    Ev.PSC_UNLINKED: _("Compte détaché de Pro Santé Connect"),
    Ev.PSC_ONLY_CHANGED: _("Connexion par Pro Santé Connect uniquement : réglage modifié"),
    Ev.EXCHANGE_ARCHIVE_CREATED: _("Archive chiffrée créée (envoi à un confrère)"),
    Ev.EXCHANGE_ARCHIVE_DOWNLOADED: _("Archive chiffrée téléchargée"),
    Ev.EXCHANGE_FILES_ARCHIVED: _("Export remis en archive chiffrée"),
    Ev.EXCHANGE_MESSAGE_SENT: _("Message MSSanté envoyé"),
    Ev.EXCHANGE_RECEIVED: _("Documents reçus classés dans le dossier"),
    Ev.EXCHANGE_RECEPTION_REFUSED: _("Archive ou message reçu refusé"),
    Ev.MSSANTE_INBOX_VIEWED: _("Boîte MSSanté consultée"),
    Ev.MSSANTE_ACCOUNT_CHANGED: _("Compte MSSanté du cabinet configuré"),
    Ev.MSSANTE_ACCOUNT_REMOVED: _("Compte MSSanté du cabinet retiré"),
    Ev.MSSANTE_RECIPIENT_MARKED: _("Adresse déclarée comme MSSanté"),
    Ev.MSSANTE_RECIPIENT_UNMARKED: _("Adresse MSSanté retirée"),
    Ev.RECORD_ITEM_ADDED: _("Allergie, traitement ou alerte ajouté au dossier"),
    Ev.RECORD_ITEM_ENDED: _("Allergie, traitement ou alerte arrêté"),
    Ev.DOCUMENT_VIEWED: _("Document ouvert dans le navigateur"),
    Ev.DRAFT_SAVED: _("Brouillon de consultation enregistré"),
    Ev.DRAFT_RESUMED: _("Brouillon de consultation repris"),
    Ev.DRAFT_DISCARDED: _("Brouillon de consultation abandonné"),
    Ev.LETTER_CREATED: _("Courrier ou certificat rédigé et classé au dossier"),
    Ev.LETTER_TEMPLATE_SAVED: _("Modèle de courrier enregistré"),
    Ev.LETTER_TEMPLATE_DELETED: _("Modèle de courrier supprimé"),
    Ev.PSC_UNLOCK_REFUSED: _("Déverrouillage par Pro Santé Connect refusé : un autre professionnel"),
}

OUTCOMES = {
    Outcome.SUCCESS: _("réussi"),
    Outcome.FAILURE: _("échec"),
    Outcome.DENIED: _("refusé"),
}


def action_label(tag: str) -> str:
    """The label of a tag; an unknown tag (from a later version) is shown as is."""
    try:
        return str(LABELS[Ev(tag)])
    except (ValueError, KeyError):
        return tag


def outcome_label(outcome: str) -> str:
    try:
        return str(OUTCOMES[Outcome(outcome)])
    except ValueError:
        return outcome


def role_label(role: str) -> str:
    try:
        return str(Role(role).label)
    except ValueError:
        return role or "—"


def action_choices() -> list[tuple[str, str]]:
    """For the viewer's select, sorted by label."""
    return sorted(((tag.value, str(label)) for tag, label in LABELS.items()), key=lambda c: c[1].lower())
