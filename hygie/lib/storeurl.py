"""Reading the settings that point Hygie at shared services (pure, no Django): the document
store (HYGIE_DOCUMENT_STORE=s3://bucket/prefix) and the shared cache (HYGIE_CACHE_URL=redis://…).

Errors are ConfigError with a French message naming the variable, never a secret."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from hygie.lib.env import ConfigError

# S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens (AWS rules; MinIO, Garage
# and Ceph follow them).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_PART = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def document_store(url: str, *, endpoint: str, region: str, access_key: str, secret_key: str) -> dict[str, str]:
    """The document store the settings describe: {"kind": "local"} for an empty URL, else the
    S3 bucket, prefix, endpoint, region and keys."""
    url = url.strip()
    if not url:
        return {"kind": "local"}
    split = urlsplit(url)
    bucket = split.netloc
    parts = [p for p in split.path.split("/") if p]
    if (
        split.scheme != "s3"
        or not _BUCKET.match(bucket)
        or split.query
        or split.fragment
        or any(not _PREFIX_PART.match(p) for p in parts)
    ):
        raise ConfigError(
            "HYGIE_DOCUMENT_STORE doit être vide (documents dans le répertoire de données) ou de la forme "
            "s3://compartiment/préfixe (compartiment en minuscules, chiffres, points et tirets)."
        )
    if not (access_key and secret_key):
        raise ConfigError(
            "HYGIE_DOCUMENT_STORE=s3://… demande HYGIE_DOCUMENT_STORE_ACCESS_KEY et "
            "HYGIE_DOCUMENT_STORE_SECRET_KEY (ou HYGIE_DOCUMENT_STORE_SECRET_KEY_FILE)."
        )
    endpoint = endpoint.strip()
    if endpoint:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname or ep.username or ep.password:
            raise ConfigError(
                "HYGIE_DOCUMENT_STORE_ENDPOINT doit être l'adresse du service S3 (https://s3.exemple.fr), "
                "sans identifiants."
            )
    return {
        "kind": "s3",
        "bucket": bucket,
        "prefix": "/".join(parts),
        "endpoint": endpoint,
        "region": region.strip(),
        "access_key": access_key,
        "secret_key": secret_key,
    }


def cache(url: str) -> dict[str, object]:
    """Django's CACHES["default"] for HYGIE_CACHE_URL: the database (shared by every app server
    on the same database) when empty, Redis for redis:// or rediss:// (TLS)."""
    url = url.strip()
    if not url:
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "hygie_cache"}
    split = urlsplit(url)
    if split.scheme not in ("redis", "rediss", "unix") or not (split.hostname or split.path):
        raise ConfigError(
            "HYGIE_CACHE_URL doit être vide (cache dans la base de données) ou l'adresse d'un serveur Redis : "
            "redis://hôte:6379/0, rediss://… (TLS) ou unix:///chemin/redis.sock."
        )
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        # Every key of this installation under its own prefix: a Redis shared with something else
        # cannot collide with it.
        "KEY_PREFIX": "hygie",
    }
