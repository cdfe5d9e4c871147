"""Tiny typed helpers to read settings from the environment (healthchecks style)."""

from __future__ import annotations

import os
from pathlib import Path


class ConfigError(Exception):
    """A setting has a value Hygie cannot use. The message is French: it reaches the user."""


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on", "oui"}:
        return True
    if value in {"0", "false", "no", "off", "non"}:
        return False
    raise ConfigError(f"{name} doit valoir true ou false (reçu : {raw!r}).")


def envint(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} doit être un nombre entier (reçu : {raw!r}).") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} doit être au moins {minimum} (reçu : {value}).")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} doit être au plus {maximum} (reçu : {value}).")
    return value


def envsecret(name: str) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker/systemd secrets)."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError:
            raise ConfigError(f"{name}_FILE désigne un fichier illisible : {path}") from None
    return None


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]
