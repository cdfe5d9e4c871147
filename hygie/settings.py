"""Hygie settings, read from the environment with secure defaults.

Every variable is documented in .env.example. Nothing here needs changing for a practice
to be safe: the defaults are the compliant choice.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from hygie.lib import keyfile, mailconfig, openinghours, proxies, storeurl
from hygie.lib.env import ConfigError, envbool, envint, envlist, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parent

# "production" (default), "development" or "test". Production refuses to start without keys.
HYGIE_ENV = envstr("HYGIE_ENV", "production")
if HYGIE_ENV not in {"production", "development", "test"}:
    raise ConfigError("HYGIE_ENV doit valoir production, development ou test.")

DEBUG = envbool("HYGIE_DEBUG", False)

# --- Where things live -------------------------------------------------------------------
DATA_DIR = Path(envstr("HYGIE_DATA_DIR", "var")).expanduser().resolve()
DOCUMENTS_DIR = DATA_DIR / "documents"
# The data dir and its parts exist from the first start, readable by the owner only.
for _d in (DATA_DIR, DOCUMENTS_DIR, DATA_DIR / "tmp", DATA_DIR / "logs", DATA_DIR / "static"):
    _d.mkdir(parents=True, exist_ok=True, mode=0o700)
KEY_FILE = Path(envstr("HYGIE_KEY_FILE", "") or keyfile.default_key_file()).expanduser()

# --- Secrets -----------------------------------------------------------------------------
# The secret key comes from HYGIE_SECRET_KEY(_FILE) or from the key file that `hygie init`
# creates outside the data dir. Without either, `hygie serve` refuses to start in production
# (see hygie.core.startup); management commands may still run, e.g. to create the keys.
HYGIE_KEYS_MISSING = False
# Passphrase mode: only the Django secret key is readable in the key file; the other keys wait
# for the unlock (hygie.keys.service, docs/encryption.md).
HYGIE_KEYS_PROTECTED = False
_file_secret = ""
try:
    _keys: keyfile.KeyMaterial | None = keyfile.load(KEY_FILE)
except keyfile.KeyFileLocked as _exc:
    _keys = None
    HYGIE_KEYS_ERROR = ""
    HYGIE_KEYS_PROTECTED = True
    _file_secret = _exc.header.secret_key
except keyfile.KeyFileError as _exc:
    _keys = None
    HYGIE_KEYS_ERROR = str(_exc)
    HYGIE_KEYS_MISSING = True
else:
    HYGIE_KEYS_ERROR = ""
    _file_secret = _keys.secret_key

SECRET_KEY = envsecret("HYGIE_SECRET_KEY") or _file_secret
if not SECRET_KEY:
    # Ephemeral: sessions die with the process. Only management commands run in this state.
    import secrets as _secrets

    SECRET_KEY = _secrets.token_urlsafe(50)
HYGIE_FINGERPRINT_KEY = _keys.fingerprint_key if _keys else b""

# --- HTTP --------------------------------------------------------------------------------
# localhost, not 127.0.0.1: security keys (WebAuthn) name the site by its host name and browsers
# refuse an IP address. In production, a host name in https:// (docs/operations.md).
BASE_URL = envstr("HYGIE_BASE_URL", "http://localhost:8000").rstrip("/")
_base = urlsplit(BASE_URL)
HTTPS = _base.scheme == "https"
ALLOWED_HOSTS = envlist("HYGIE_ALLOWED_HOSTS", [_base.hostname or "127.0.0.1", "localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = [f"{_base.scheme}://{_base.netloc}"]
# Behind a TLS reverse proxy, `hygie serve` believes the X-Forwarded-For / X-Forwarded-Proto of
# the proxy named here (addresses or networks, comma separated) and drops them from anyone else
# (hygie.lib.proxies). Django itself trusts no forwarding header: REMOTE_ADDR (journal, login
# throttle) and the scheme (HTTPS redirect, HSTS) reach it already right.
BEHIND_PROXY = envbool("HYGIE_BEHIND_PROXY", False)
TRUSTED_PROXIES = proxies.parse_trusted(envlist("HYGIE_TRUSTED_PROXY", ["127.0.0.1"])) if BEHIND_PROXY else ()

INSTALLED_APPS = [
    "hygie.web",  # first: its templates override allauth's
    "hygie.accounts",
    "hygie.practices",
    "hygie.keys",  # encryption at rest: key hierarchy, encrypted fields (docs/encryption.md)
    "hygie.patients",
    "hygie.agenda",
    "hygie.billing",
    "hygie.audit",
    "hygie.backups",
    "hygie.approvals",  # approval of anything that opens a titulaire's medical data
    "hygie.checklist",  # the practice's security checklist (docs/checklist.md)
    "hygie.retention",  # legal retention, archive, purge (docs/retention.md)
    "hygie.incidents",  # emergency switch, breach register, 72-hour clock (docs/incidents.md)
    "hygie.rights",  # patients' rights requests, their deadlines and answers (docs/rights.md)
    "hygie.compliance",  # GDPR register, processors, notices, « contrôle CNIL » pack (docs/compliance.md)
    "hygie.psc",  # Pro Santé Connect login (docs/operations.md « Pro Santé Connect »)
    "hygie.exchange",  # secure exchange: 7z AES archives, MSSanté (docs/exchange.md)
    "hygie.clinical",  # record: allergies, treatments, vitals charts, drafts, letters (docs/record.md)
    "hygie.worker",
    "hygie.core",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",  # Pro Santé Connect only (hygie.psc)
]

MIDDLEWARE = [
    "hygie.web.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "hygie.web.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Passphrase mode: a locked server answers the unlock page only (after CSRF, before users).
    "hygie.keys.middleware.KeysLockedMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "hygie.accounts.middleware.SessionGuardMiddleware",
    # « Isoler Hygie »: sessions, pages and downloads refused while a lockdown is in force.
    "hygie.incidents.middleware.LockdownMiddleware",
    "hygie.accounts.middleware.RequireSecondFactorMiddleware",
    # Journals 404s on existing patients outside the user's scope (probing), after the rollback.
    "hygie.web.middleware.OutOfScopeJournalMiddleware",
    # A download that wrote no journal event turns the checklist's "exports journaled" item red.
    "hygie.checklist.middleware.ExportWatchMiddleware",
]

ROOT_URLCONF = "hygie.urls"
WSGI_APPLICATION = "hygie.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hygie.web.context.hygie",
                "hygie.incidents.context.lockdown",
            ],
            # {% url %} and literal {% translate %} with their answers remembered per process
            # (hygie/web/templatetags/urls_memo.py, i18n_memo.py).
            "builtins": ["hygie.web.templatetags.urls_memo"],
            "libraries": {"i18n": "hygie.web.templatetags.i18n_memo"},
        },
    },
]

# Form fields (labels, widgets, errors) rendered by Django's Jinja2 templates of the same markup
# (django/forms/jinja2) rather than by the template language: a field cost ~0.4 ms, about half
# of the consultation form's page (issue 14). The pages themselves stay Django templates. One
# visible difference: an apostrophe in a form's text is escaped as &#39; instead of &#x27;.
FORM_RENDERER = "django.forms.renderers.Jinja2"

# --- Database ----------------------------------------------------------------------------
DATABASE_URL = envstr("HYGIE_DATABASE_URL", "")


# Values sent apart from the statement (server-side binding), and a statement run 5 times on a
# connection prepared by psycopg: the server then parses and plans it once per connection, not
# once per page (docs/performance.md: 43 % less PostgreSQL processor time per page). Off
# (HYGIE_DATABASE_PREPARED=false) for a pooler that cannot keep prepared statements, such as
# PgBouncer before 1.21 in transaction mode.
_PREPARED = (
    {"server_side_binding": True, "prepare_threshold": 5} if envbool("HYGIE_DATABASE_PREPARED", True) else {}
)


def _database_from_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ConfigError("HYGIE_DATABASE_URL doit commencer par postgresql://")
    return {
        "ENGINE": "hygie.core.postgresql",  # Django's, read views without a transaction
        "NAME": unquote(parts.path.lstrip("/")) or "hygie",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
        "ATOMIC_REQUESTS": True,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5, **_PREPARED},
        "TEST": {"NAME": envstr("HYGIE_TEST_DATABASE_NAME", "") or None},
    }


if DATABASE_URL:
    DATABASES = {"default": _database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            # Django's backend, writers of a process queued in order (hygie/core/sqlite/base.py).
            "ENGINE": "hygie.core.sqlite",
            "NAME": DATA_DIR / "hygie.sqlite3",
            # One transaction per request: an action and its journal event commit together.
            "ATOMIC_REQUESTS": True,
            # Each server thread keeps its connection between requests. Closing it cost more
            # than the request itself: the last connection to close checkpoints and deletes
            # the WAL (an fsync, then the WAL recreated by the next request), and a new one
            # runs the PRAGMAs below again. Same lifetime as on PostgreSQL.
            "CONN_MAX_AGE": 60,
            "OPTIONS": {
                # WAL lets readers and the writer work at once; IMMEDIATE avoids
                # "database is locked" upgrades from read to write inside a transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                " PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A cache shared by every process and every app server of the practice: TOTP codes are used
# once, rate limits and login throttles count across servers. The database serves (shared by
# every server on the same PostgreSQL) unless HYGIE_CACHE_URL names a Redis server
# (HYGIE_REDIS_URL, its former name, is still read).
CACHES = {"default": storeurl.cache(envstr("HYGIE_CACHE_URL", "") or envstr("HYGIE_REDIS_URL", ""))}

# --- Authentication ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["hygie.accounts.backends.HygieBackend"]
# Argon2id first: salted and memory-hard (CNIL délibération 2022-100).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if HYGIE_ENV == "test":
    PASSWORD_HASHERS = ["hygie.accounts.hashers.TestArgon2PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "hygie.accounts.validators.CnilPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "hygie.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
# Password reset by e-mail: off, the administrator sets a provisional password. On, each request
# and completion is journaled and the link works once, for 30 minutes (hygie.accounts.reset_urls).
PASSWORD_RESET_BY_EMAIL = envbool("HYGIE_PASSWORD_RESET_BY_EMAIL", False)
PASSWORD_RESET_TIMEOUT = 30 * 60
# No "someone asked a reset for this address" e-mail to addresses that match no account.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Brute force (hygie.lib.loginthrottle, hygie.accounts.throttle): no global lock that anyone
# could use to keep a practitioner out. Per (login, address) pair, the first failures are free,
# then each attempt waits twice as long, up to the maximum delay; beyond the account-wide
# ceiling (all addresses, 24 h) the login asks the password and the second-factor code together.
LOGIN_FAILURES_PER_PAIR = envint("HYGIE_LOGIN_FAILURES", 5, minimum=3, maximum=20)
LOGIN_MAX_DELAY_MINUTES = envint("HYGIE_LOGIN_MAX_DELAY_MINUTES", 15, minimum=1, maximum=1440)
LOGIN_FAILURES_PER_ACCOUNT = envint("HYGIE_LOGIN_ACCOUNT_FAILURES", 20, minimum=5, maximum=1000)
ACCOUNT_FORMS = {
    "login": "hygie.accounts.forms.LoginForm",
    "change_password": "hygie.accounts.forms.ChangePasswordForm",
}
ACCOUNT_RATE_LIMITS = {
    # A flood ceiling only (every request to the login view counts, failed or not); failed
    # logins per address are Hygie's rule above (30 in 10 min), which must trigger first.
    "login": "60/m/ip",
    # The password step is throttled by Hygie (above); allauth's "login_failed" still guards the
    # second-factor step (wrong codes after a right password, per user and per address).
    "login_failed": "20/10m/ip,5/15m/key",
    "reauthenticate": "5/5m/user",
    "change_password": "5/m/user",
    "reset_password": "5/m/ip",
    "signup": "0/m/ip",
}

MFA_ADAPTER = "hygie.accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "Hygie"
MFA_RECOVERY_CODE_COUNT = 10
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not HTTPS
MFA_RATE_LIMITS = {"authenticate": "5/5m/user", "activate_totp": "10/5m/user"}
MFA_TRUST_ENABLED = False
# Hygie's wording: a reused TOTP code says « wait for the next one », the key's name is French.
MFA_FORMS = {
    "authenticate": "hygie.accounts.forms.AuthenticateForm",
    "reauthenticate": "hygie.accounts.forms.ReauthenticateForm",
    "add_webauthn": "hygie.accounts.forms.AddWebAuthnForm",
}

# --- Pro Santé Connect (hygie/psc, docs/operations.md « Pro Santé Connect ») -------------------
# The practice's client (DataPass). Without both, no button and the flow answers 404.
PSC_CLIENT_ID = envstr("HYGIE_PSC_CLIENT_ID", "")
PSC_CLIENT_SECRET = envsecret("HYGIE_PSC_CLIENT_SECRET") or ""
# "bas" (sandbox, test identities) or "production"; the sandbox by default outside production.
PSC_ENVIRONMENT = envstr("HYGIE_PSC_ENVIRONMENT", "production" if HYGIE_ENV == "production" else "bas")
if PSC_ENVIRONMENT not in {"bas", "production"}:
    raise ConfigError("HYGIE_PSC_ENVIRONMENT doit valoir bas ou production.")
# Another discovery document (the tests' local provider); empty: the ANS's for PSC_ENVIRONMENT.
PSC_DISCOVERY_URL = envstr("HYGIE_PSC_DISCOVERY_URL", "")
# Logging out of Hygie also ends the PSC session (end-session endpoint), if the practice wants.
PSC_END_SESSION = envbool("HYGIE_PSC_END_SESSION", False)
SOCIALACCOUNT_ADAPTER = "hygie.psc.adapter.PscSocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False

# --- Sessions ----------------------------------------------------------------------------
IDLE_LOCK_MINUTES = envint("HYGIE_IDLE_LOCK_MINUTES", 5, minimum=1, maximum=15)
SESSION_MAX_HOURS = envint("HYGIE_SESSION_MAX_HOURS", 12, minimum=1, maximum=24)
SESSION_ENGINE = "hygie.accounts.sessionstore"
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
SESSION_COOKIE_NAME = "__Host-hygie_session" if HTTPS else "hygie_session"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_FAILURE_VIEW = "hygie.web.views.csrf_failure"

# --- Security headers --------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = HTTPS and envbool("HYGIE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0

# --- Uploads -----------------------------------------------------------------------------
UPLOAD_MAX_MB = envint("HYGIE_UPLOAD_MAX_MB", 50, minimum=1, maximum=2048)

# Where the encrypted document blobs are kept (hygie/patients/blobstore.py). Empty: DOCUMENTS_DIR
# on this machine. "s3://bucket/prefix": S3-compatible object storage, for several app servers;
# the endpoint (empty: AWS), region and keys as a backup target takes them, the keys from the
# environment or from *_FILE (systemd credentials, Docker secrets). Blobs are sealed before
# they leave: the provider sees ciphertext under random names.
DOCUMENT_STORE = storeurl.document_store(
    envstr("HYGIE_DOCUMENT_STORE", ""),
    endpoint=envstr("HYGIE_DOCUMENT_STORE_ENDPOINT", ""),
    region=envstr("HYGIE_DOCUMENT_STORE_REGION", ""),
    access_key=envsecret("HYGIE_DOCUMENT_STORE_ACCESS_KEY") or "",
    secret_key=envsecret("HYGIE_DOCUMENT_STORE_SECRET_KEY") or "",
)
# A blob no Document row names (upload whose transaction rolled back, process killed between the
# upload and the commit) is deleted by the worker once older than this (hours, 1-720): an upload
# still in progress is never taken for an orphan.
DOCUMENT_ORPHAN_GRACE_HOURS = envint("HYGIE_DOCUMENT_ORPHAN_GRACE_HOURS", 24, minimum=1, maximum=720)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "tmp")
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Largest CSV file `hygie patients import` reads, refused before reading a byte. 100 MB is about
# a million rows: far beyond any practice's patientèle (hygie.lib.blindindex plans for 100,000).
IMPORT_MAX_MB = envint("HYGIE_IMPORT_MAX_MB", 100, minimum=1, maximum=2048)

# --- Access ------------------------------------------------------------------------------
BREAK_GLASS_HOURS = envint("HYGIE_BREAK_GLASS_HOURS", 24, minimum=1, maximum=72)
# Grants over a titulaire's medical data (hygie.approvals): when the titulaire cannot approve
# (their own credentials are being reset, or they do not answer), the referent may approve only
# after this many hours, during which the titulaire is alerted and may refuse.
GRANT_FALLBACK_HOURS = envint("HYGIE_GRANT_FALLBACK_HOURS", 48, minimum=24, maximum=24 * 14)
# A request nobody decided on expires after this many days (it must then be made again).
GRANT_REQUEST_DAYS = envint("HYGIE_GRANT_REQUEST_DAYS", 7, minimum=3, maximum=30)

# --- Retention (docs/retention.md; legal figures and sources: hygie/lib/retention.py) ------
# RET-7: years without an intervention before a record leaves the active base for the archive.
RETENTION_ACTIVE_YEARS = envint("HYGIE_RETENTION_ACTIVE_YEARS", 5, minimum=1, maximum=20)
# Destroy expired records without a titulaire's approval, after a 30-day notice. Off by default.
RETENTION_AUTO_PURGE = envbool("HYGIE_RETENTION_AUTO_PURGE", False)
# RET-6: appointments older than this many months are deleted (the record keeps its consultations).
APPOINTMENT_RETENTION_MONTHS = envint("HYGIE_APPOINTMENT_RETENTION_MONTHS", 12, minimum=1, maximum=120)
# RET-8: billing entries are kept for the accounting period (10 years; 6 for tax purposes).
ACCOUNTING_RETENTION_YEARS = envint("HYGIE_ACCOUNTING_RETENTION_YEARS", 10, minimum=6, maximum=30)
# Hours an archived record stays open after its titulaire gave a reason.
ARCHIVE_ACCESS_HOURS = envint("HYGIE_ARCHIVE_ACCESS_HOURS", 12, minimum=1, maximum=72)

# --- Secure exchange (docs/exchange.md) -----------------------------------------------------
# MSSanté operators' domains outside mssante.fr (ANS « liste blanche »), comma separated.
MSSANTE_DOMAINS = envlist("HYGIE_MSSANTE_DOMAINS", [])
# Largest MSSanté message Hygie sends (MB): operators refuse larger ones, often above 10 MB.
MSSANTE_MAX_MB = envint("HYGIE_MSSANTE_MAX_MB", 10, minimum=1, maximum=100)
MSSANTE_TIMEOUT_SECONDS = envint("HYGIE_MSSANTE_TIMEOUT_SECONDS", 30, minimum=5, maximum=300)
# A received archive or message, once decompressed (MB): above it, refused (decompression bomb).
EXCHANGE_MAX_MB = envint("HYGIE_EXCHANGE_MAX_MB", 500, minimum=1, maximum=4096)
# How long an archive made from a record waits to be downloaded (hours), then deleted.
EXCHANGE_OUTBOX_HOURS = envint("HYGIE_EXCHANGE_OUTBOX_HOURS", 24, minimum=1, maximum=168)

# --- Journal -----------------------------------------------------------------------------
# Rolling retention window of the access journal, in days: 6 months to 3 years (CNIL 2021-122).
JOURNAL_RETENTION_DAYS = envint("HYGIE_JOURNAL_RETENTION_DAYS", 365, minimum=183, maximum=1096)  # see hygie.audit.conf
# Minutes between automatic signed checkpoints of the journal.
JOURNAL_CHECKPOINT_MINUTES = envint("HYGIE_JOURNAL_CHECKPOINT_MINUTES", 5, minimum=1, maximum=60)
# Signed checkpoints are also appended here, outside the data dir (include it in backups).
JOURNAL_CHECKPOINT_FILE = Path(
    envstr("HYGIE_CHECKPOINT_FILE", "") or KEY_FILE.parent / "journal-checkpoints.jsonl"
).expanduser()

# --- Backups (hygie.backups) ---------------------------------------------------------------
# Extra age recipients (age1…, comma separated) every backup is also encrypted to, e.g. a key
# kept offline by the practitioner; the practice's own backup identity is always a recipient.
BACKUP_RECIPIENTS = envlist("HYGIE_BACKUP_RECIPIENTS", [])
# The dashboard turns red when the last successful backup, off-site copy or restore test is
# older than this (hygie.backups.status).
BACKUP_LATE_HOURS = envint("HYGIE_BACKUP_LATE_HOURS", 26, minimum=1, maximum=24 * 90)
OFFSITE_LATE_HOURS = envint("HYGIE_OFFSITE_LATE_HOURS", 26, minimum=1, maximum=24 * 90)
RESTORE_TEST_LATE_DAYS = envint("HYGIE_RESTORE_TEST_LATE_DAYS", 35, minimum=1, maximum=366)
# The worker backs up to every enabled destination once this many hours have passed since the
# last successful backup (checked every 15 minutes; a failed run is tried again after an hour).
BACKUP_INTERVAL_HOURS = envint("HYGIE_BACKUP_INTERVAL_HOURS", 24, minimum=1, maximum=168)
# Generations kept on each destination (like restic's --keep-daily/--keep-weekly/--keep-monthly).
BACKUP_KEEP_DAILY = envint("HYGIE_BACKUP_KEEP_DAILY", 7, minimum=1, maximum=366)
BACKUP_KEEP_WEEKLY = envint("HYGIE_BACKUP_KEEP_WEEKLY", 4, minimum=0, maximum=520)
BACKUP_KEEP_MONTHLY = envint("HYGIE_BACKUP_KEEP_MONTHLY", 12, minimum=0, maximum=240)
# The worker restores the newest backup into a scratch directory this often (days).
RESTORE_TEST_INTERVAL_DAYS = envint("HYGIE_RESTORE_TEST_INTERVAL_DAYS", 30, minimum=1, maximum=90)
# PostgreSQL: an empty database for restore tests (created and dropped by the test if unset:
# the account then needs CREATEDB).
RESTORE_TEST_DATABASE_URL = envstr("HYGIE_RESTORE_TEST_DATABASE_URL", "")

# --- Anomaly alerts on the journal (hygie.audit.alerts) ------------------------------------
# Opening hours of the practice: accesses to records outside them raise an alert.
OPENING_HOURS = openinghours.parse(
    envstr("HYGIE_OPENING_HOURS", "07:00-20:00"), envstr("HYGIE_OPENING_DAYS", "1-6")
)
# The agenda's grid: free slots of this many minutes within the opening hours (hygie.agenda).
AGENDA_SLOT_MINUTES = envint("HYGIE_AGENDA_SLOT_MINUTES", 20, minimum=5, maximum=120)
# A user opening more distinct records in one hour than max(this, factor x their usual hourly
# median over 30 days).
ALERT_RECORDS_PER_HOUR = envint("HYGIE_ALERT_RECORDS_PER_HOUR", 30, minimum=5, maximum=1000)
ALERT_RECORDS_FACTOR = envint("HYGIE_ALERT_RECORDS_FACTOR", 3, minimum=2, maximum=20)
# Failed logins from one address or on one account within a few minutes.
ALERT_FAILED_LOGINS = envint("HYGIE_ALERT_FAILED_LOGINS", 10, minimum=3, maximum=1000)
ALERT_FAILED_LOGINS_MINUTES = envint("HYGIE_ALERT_FAILED_LOGINS_MINUTES", 5, minimum=1, maximum=60)
# Document downloads and report exports by one user within an hour.
ALERT_EXPORTS_PER_HOUR = envint("HYGIE_ALERT_EXPORTS_PER_HOUR", 50, minimum=5, maximum=10000)
# Requests for existing patients outside one's scope (404) by one user in an hour: probing.
ALERT_OUT_OF_SCOPE_PER_HOUR = envint("HYGIE_ALERT_OUT_OF_SCOPE_PER_HOUR", 3, minimum=1, maximum=1000)
# Addresses (comma separated) that receive each new alert by email; none by default.
ALERT_EMAIL = envlist("HYGIE_ALERT_EMAIL", [])

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = envstr("HYGIE_TIME_ZONE", "Europe/Paris")
USE_TZ = True

# --- Static files: served by Hygie itself, never from a CDN ------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail (alerts; password reset links if turned on) ------------------------------------
EMAIL_BACKEND = envstr("HYGIE_EMAIL_BACKEND", "") or mailconfig.default_backend(HYGIE_ENV)
if _mail_problem := mailconfig.backend_problem(HYGIE_ENV, EMAIL_BACKEND):
    raise ConfigError(_mail_problem)
EMAIL_HOST = envstr("HYGIE_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("HYGIE_EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = envstr("HYGIE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = envsecret("HYGIE_EMAIL_PASSWORD") or ""
EMAIL_USE_TLS = envbool("HYGIE_EMAIL_STARTTLS", True)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = envstr("HYGIE_EMAIL_FROM", "hygie@localhost")

# --- Logging: never a patient name, never a URL query, never a request body ---------------
LOG_DIR = DATA_DIR / "logs"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "hygie.web.logfilters.RedactFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": sys.stderr,
            "formatter": "plain",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": envstr("HYGIE_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logger prints the path of failing requests: redacted by the filter.
        "django.request": {"level": "ERROR"},
        "django.security": {"level": "WARNING"},
        "waitress": {"level": "WARNING"},
    },
}
