"""Journal event tags: stable strings `object:subject:verb` (Warehouse style).

A tag never changes once released: reports and alerts select on them.
"""

from __future__ import annotations

from enum import StrEnum


class Ev(StrEnum):
    # Authentication and sessions
    LOGIN_SUCCEEDED = "account:login:succeeded"
    LOGIN_FAILED = "account:login:failed"
    LOGIN_LOCKED = "account:login:locked"
    LOGOUT = "account:logout"
    LOGOUT_EVERYWHERE = "account:sessions:revoked"
    SESSION_IDLE_LOCKED = "account:session:idle-locked"
    SESSION_LOCKED = "account:session:locked"
    SESSION_UNLOCKED = "account:session:unlocked"
    REAUTHENTICATED = "account:reauthenticated"
    PASSWORD_CHANGED = "account:password:changed"  # noqa: S105 (a tag, not a password)
    PASSWORD_SET_BY_ADMIN = "account:password:set"  # noqa: S105
    PASSWORD_RESET_REQUESTED = "account:password:reset-requested"  # noqa: S105 (e-mail link asked)
    PASSWORD_RESET = "account:password:reset"  # noqa: S105 (new password set through the e-mail link)
    MFA_ENROLLED = "account:mfa:enrolled"
    MFA_REMOVED = "account:mfa:removed"
    MFA_RESET = "account:mfa:reset"
    MFA_RECOVERY_CODES_GENERATED = "account:mfa:recovery-codes-generated"
    # Users and roles
    USER_CREATED = "user:created"
    USER_CHANGED = "user:changed"
    USER_ROLE_CHANGED = "user:role:changed"
    USER_DEACTIVATED = "user:deactivated"
    USER_REACTIVATED = "user:reactivated"
    REPLACEMENT_CREATED = "user:replacement:created"
    REPLACEMENT_ENDED = "user:replacement:ended"
    # Requests that would open a titulaire's medical data (hygie.approvals)
    GRANT_REQUESTED = "grant:request:created"
    GRANT_APPROVED = "grant:request:approved"
    GRANT_REFUSED = "grant:request:refused"
    GRANT_EXPIRED = "grant:request:expired"
    GRANT_APPLIED = "grant:request:applied"
    PRACTICE_CREATED = "practice:created"
    # Patient records
    PATIENT_CREATED = "patient:record:created"
    PATIENT_VIEWED = "patient:record:viewed"
    PATIENT_UPDATED = "patient:record:updated"
    PATIENT_SEARCHED = "patient:record:searched"
    PATIENT_LISTED = "patient:record:listed"
    PATIENT_ERASED = "patient:record:erased"
    PATIENTS_IMPORTED = "patient:record:imported"
    CARE_TEAM_ADDED = "patient:careteam:added"
    CARE_TEAM_REMOVED = "patient:careteam:removed"
    BREAK_GLASS = "patient:breakglass:opened"
    BREAK_GLASS_REVIEWED = "patient:breakglass:reviewed"
    # The page asking for the reason was shown (it names no one until the reason is given).
    BREAK_GLASS_REQUESTED = "patient:breakglass:requested"
    HISTORY_VIEWED = "patient:history:viewed"
    HISTORY_UPDATED = "patient:history:updated"
    HISTORY_REVISIONS_VIEWED = "patient:history:revisions-viewed"
    CONSULTATION_CREATED = "patient:consultation:created"
    CONSULTATION_VIEWED = "patient:consultation:viewed"
    CONSULTATION_UPDATED = "patient:consultation:updated"
    CONSULTATION_REVISIONS_VIEWED = "patient:consultation:revisions-viewed"
    DOCUMENT_UPLOADED = "patient:document:uploaded"
    DOCUMENT_DOWNLOADED = "patient:document:downloaded"
    DOCUMENT_DELETED = "patient:document:deleted"
    DOCUMENT_ORPHANS_REMOVED = "document:orphans:removed"  # blobs no record names (worker)
    # Agenda and billing
    APPOINTMENT_CREATED = "agenda:appointment:created"
    APPOINTMENT_UPDATED = "agenda:appointment:updated"
    APPOINTMENT_CANCELLED = "agenda:appointment:cancelled"
    AGENDA_VIEWED = "agenda:viewed"
    CARE_SHEET_CREATED = "billing:caresheet:created"
    CARE_SHEET_UPDATED = "billing:caresheet:updated"
    BILLING_VIEWED = "billing:viewed"
    # Access refused by the access module
    ACCESS_DENIED = "access:denied"
    # A page of an existing patient outside the user's scope (answered 404): probing, if repeated.
    OUT_OF_SCOPE = "access:patient:out-of-scope"
    # The journal itself
    JOURNAL_PRUNED = "audit:journal:pruned"
    JOURNAL_VIEWED = "audit:journal:viewed"
    JOURNAL_VERIFIED = "audit:journal:verified"
    ALERT_RAISED = "audit:alert:raised"
    ALERT_ACKNOWLEDGED = "audit:alert:acknowledged"
    # The "accès au dossier" report of one patient (GDPR art. 15)
    ACCESS_REPORT_VIEWED = "patient:access-report:viewed"
    ACCESS_REPORT_EXPORTED = "patient:access-report:exported"
    # Encryption keys
    KEYS_ROTATED = "keys:kek:rotated"
    RECOVERY_KIT_GENERATED = "keys:recovery-kit:generated"
    KEYS_RECOVERED = "keys:keyfile:recovered"
    ERASURES_REAPPLIED = "keys:erasures:reapplied"
    # Passphrase mode (docs/encryption.md)
    KEYS_PROTECTED = "keys:keyfile:protected"
    KEYS_UNPROTECTED = "keys:keyfile:unprotected"
    KEYS_UNLOCKED = "keys:unlocked"
    KEYS_UNLOCK_FAILED = "keys:unlock:failed"
    # Backups (docs/operations.md, « Sauvegarde et restauration »)
    BACKUP_COMPLETED = "backup:completed"
    BACKUP_FAILED = "backup:failed"
    BACKUP_VERIFIED = "backup:verified"
    RESTORE_COMPLETED = "backup:restored"
    RESTORE_TEST_PASSED = "backup:restore-test:passed"
    RESTORE_TEST_FAILED = "backup:restore-test:failed"
    BACKUP_PRUNED = "backup:pruned"
    BACKUP_REQUESTED = "backup:requested"
    BACKUP_TARGET_ADDED = "backup:target:added"
    BACKUP_TARGET_CHANGED = "backup:target:changed"
    BACKUP_TARGET_REMOVED = "backup:target:removed"
    BACKUP_TARGET_TESTED = "backup:target:tested"
    # Security checklist (docs/checklist.md)
    CHECKLIST_DECLARED = "checklist:item:declared"
    CHECKLIST_PROOF_DOWNLOADED = "checklist:proof:downloaded"
    CHECKLIST_POSTER_EXPORTED = "checklist:poster:exported"
    CHECKLIST_SCORED = "checklist:score:recorded"
    TRAINING_RECORDED = "checklist:training:recorded"
    DIAGNOSTIC_RECORDED = "checklist:diagnostic:recorded"
    EXPORT_UNJOURNALED = "checklist:export:unjournaled"
    # Retention (docs/retention.md): holds, archive, purge. Counts and rules only, never data.
    RETENTION_HOLD_SET = "patient:retention:hold-set"
    RETENTION_HOLD_LIFTED = "patient:retention:hold-lifted"
    ARCHIVE_OPENED = "patient:archive:opened"
    RETENTION_VIEWED = "retention:viewed"
    RETENTION_DUE = "retention:due:listed"
    RETENTION_NOTICE = "retention:purge:notice"
    RETENTION_PURGE_APPROVED = "retention:purge:approved"
    RETENTION_DATA_PURGED = "retention:data:purged"
    ACCOUNT_PERSONAL_DATA_PURGED = "user:personal-data:purged"
    # Incidents and breaches (docs/incidents.md): ids and counts only, never the texts typed.
    LOCKDOWN_STARTED = "incident:lockdown:started"
    LOCKDOWN_LIFTED = "incident:lockdown:lifted"
    LOCKDOWN_ALLOWED = "incident:lockdown:admin-allowed"
    LOCKDOWN_REFUSED = "incident:lockdown:refused"
    BREACH_OPENED = "incident:breach:opened"
    BREACH_UPDATED = "incident:breach:updated"
    BREACH_ENTRY_ADDED = "incident:breach:entry-added"
    BREACH_SCOPED = "incident:breach:scoped"
    BREACH_NOTIFICATION_DECIDED = "incident:breach:notification-decided"
    BREACH_NOTIFIED = "incident:breach:notified"
    BREACH_ART34_DECIDED = "incident:breach:art34-decided"
    BREACH_PATIENT_NOTICE = "incident:breach:patient-notice"
    BREACH_DEADLINE = "incident:breach:deadline"
    BREACH_CLOSED = "incident:breach:closed"
    BREACH_EVIDENCE_EXPORTED = "incident:breach:evidence-exported"
    INCIDENT_CONTACTS_CHANGED = "incident:contacts:changed"
    FICHE_REFLEXE_EXPORTED = "incident:fiche-reflexe:exported"
    EXERCISE_STARTED = "incident:exercise:started"
    EXERCISE_STEP = "incident:exercise:step"
    EXERCISE_ENDED = "incident:exercise:ended"
    # Patients' rights (docs/rights.md): requests, deadlines, answers, exports. Codes, rights and
    # dates only: never a name, never what was seen of an identity document.
    RIGHTS_REQUEST_RECORDED = "patient:rights:request-recorded"
    RIGHTS_REQUEST_EXTENDED = "patient:rights:request-extended"
    RIGHTS_REQUEST_ANSWERED = "patient:rights:request-answered"
    RIGHTS_REQUEST_REFUSED = "patient:rights:request-refused"
    RIGHTS_EXPORTED = "patient:rights:exported"
    RIGHTS_ERASURE_ACCEPTED = "patient:rights:erasure-accepted"
    RIGHTS_RESTRICTION_SET = "patient:rights:restriction-set"
    RIGHTS_RESTRICTION_LIFTED = "patient:rights:restriction-lifted"
    RIGHTS_REGISTER_VIEWED = "rights:register:viewed"
    # Proof of compliance (docs/compliance.md): profile, processors, register versions, pack.
    COMPLIANCE_PROFILE_CHANGED = "compliance:profile:changed"
    COMPLIANCE_PROCESSOR_ADDED = "compliance:processor:added"
    COMPLIANCE_PROCESSOR_CHANGED = "compliance:processor:changed"
    COMPLIANCE_PROCESSOR_REMOVED = "compliance:processor:removed"
    COMPLIANCE_CONTRACT_DOWNLOADED = "compliance:contract:downloaded"
    COMPLIANCE_REGISTER_GENERATED = "compliance:register:generated"
    COMPLIANCE_NOTICE_EXPORTED = "compliance:notice:exported"
    COMPLIANCE_PACK_EXPORTED = "compliance:pack:exported"
    # Pro Santé Connect (hygie/psc): channel and assurance level, never a token or a name.
    PSC_LOGIN_REFUSED = "account:psc:refused"
    PSC_LOGIN_UNKNOWN = "account:psc:unknown"
    PSC_LINKED = "user:psc:linked"
    PSC_UNLINKED = "user:psc:unlinked"
    PSC_ONLY_CHANGED = "user:psc:only-changed"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"
