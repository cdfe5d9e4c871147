"""Which e-mail backends may serve in production (checked when the settings load)."""

from __future__ import annotations

# Backends that deliver nothing: the console one prints each message, reset links included,
# into the server's output and logs; the others keep it in a file or in memory, or drop it.
NON_DELIVERING = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    }
)


def default_backend(env: str) -> str:
    """SMTP in production (HYGIE_EMAIL_HOST…); the console for a developer's machine."""
    if env == "production":
        return "django.core.mail.backends.smtp.EmailBackend"
    return "django.core.mail.backends.console.EmailBackend"


def backend_problem(env: str, backend: str) -> str | None:
    """The French reason why production must not start with this backend, else None."""
    if env == "production" and backend in NON_DELIVERING:
        return (
            f"HYGIE_EMAIL_BACKEND={backend} n'envoie aucun e-mail : il les écrit dans la sortie du "
            "serveur, un fichier ou la mémoire, avec les liens qu'ils contiennent. Hygie ne démarre "
            "pas ainsi en production : retirez HYGIE_EMAIL_BACKEND (envoi SMTP par HYGIE_EMAIL_HOST) "
            "ou indiquez un service d'envoi réel (docs/operations.md, « E-mails »)."
        )
    return None
