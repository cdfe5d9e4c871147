"""S3-compatible object storage as a backup target (boto3): AWS, Scaleway, OVH, MinIO, Garage,
Ceph…

Objects are named `prefix + name`. A file is uploaded in parts of 16 MiB (multipart upload),
completed only once the whole file was written without error; otherwise the upload is aborted,
so that neither `list` nor the provider's bill shows anything of it.

With `lock_days > 0` every object is written under object lock retention (COMPLIANCE by
default): nobody, not even with the keys of this machine, can delete or overwrite it before
the date. The bucket must have been created with object lock enabled (`check` verifies it).

Compatibility choices:
- path-style addressing when an endpoint is given (MinIO, Garage, Ceph do not all serve
  virtual-host names);
- botocore's new default checksums (CRC32 sent as an aws-chunked trailer since botocore 1.36)
  are only sent when an operation requires them: several S3-compatible servers reject them.
  Each request carries a Content-MD5 header instead, computed here on the buffered part, which
  every S3 implementation checks and which object lock PUTs require.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from botocore import exceptions as boto_errors
from botocore.config import Config

from hygie.backups.stores import RetentionLocked, StoreError

PART_SIZE = 16 * 1024 * 1024  # bigger than S3's 5 MiB minimum, except for the last part
MAX_PARTS = 10_000  # S3's limit per upload
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")

_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidSecurity"}
_MISSING_BUCKET = {"NoSuchBucket"}
_WRONG_REGION = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}
_QUOTA = {
    "QuotaExceeded",  # Ceph RGW
    "XMinioAdminBucketQuotaExceeded",  # MinIO bucket quota
    "XMinioStorageFull",  # MinIO, disks full
    "StorageFull",
    "InsufficientStorage",
    "StorageQuotaExceeded",
    "StorageCapExceeded",
}


def _md5(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def _check_name(name: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or any(not p or p.startswith(".") for p in parts):
        raise StoreError(f"Nom de fichier de sauvegarde invalide : {name}")
    return name


def _part_size(part_number: int) -> int:
    """16 MiB for the first 1000 parts, then 32 MiB, 48 MiB…: up to ~860 GiB in 10,000 parts,
    while a usual backup never buffers more than 16 MiB."""
    return PART_SIZE * (1 + (part_number - 1) // 1000)


class _Upload(io.RawIOBase):
    """What `S3Store.writer` yields: buffers one part, sends it when full. A file that never
    fills a part is sent as a single PutObject at the end."""

    def __init__(self, store: S3Store, key: str, name: str) -> None:
        self._store = store
        self._key = key
        self._name = name
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._lock = store._lock_arguments()  # the retention date is fixed when the upload starts

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        # Never more than one part in memory, however large the caller's writes.
        while view:
            room = _part_size(len(self._parts) + 1) - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(view) or len(self._buffer) >= _part_size(len(self._parts) + 1):
                part, self._buffer = self._buffer, bytearray()
                self._send_part(part)
        return memoryview(data).nbytes

    def _send_part(self, part: bytes | bytearray) -> None:
        client = self._store._client()
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise StoreError(f"{self._store.label} : {self._name} dépasse la taille maximale d'un objet S3.")
        with self._store._errors(f"envoi de {self._name}", writing=True):
            if self._upload_id is None:
                self._upload_id = client.create_multipart_upload(
                    Bucket=self._store.bucket, Key=self._key, **self._lock
                )["UploadId"]
            answer = client.upload_part(
                Bucket=self._store.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=part,
                ContentMD5=_md5(part),
            )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def finish(self) -> None:
        client = self._store._client()
        if self._upload_id is None:
            body, self._buffer = self._buffer, bytearray()
            with self._store._errors(f"envoi de {self._name}", writing=True):
                answer = client.put_object(
                    Bucket=self._store.bucket, Key=self._key, Body=body, ContentMD5=_md5(body), **self._lock
                )
        else:
            if self._buffer:  # the last part may be smaller than 5 MiB
                part, self._buffer = self._buffer, bytearray()
                self._send_part(part)
            with self._store._errors(f"envoi de {self._name}", writing=True):
                answer = client.complete_multipart_upload(
                    Bucket=self._store.bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
            self._upload_id = None
        if self._lock:
            self._ensure_locked(answer.get("VersionId"))

    def _ensure_locked(self, version: str | None) -> None:
        """Some servers ignore the retention asked for with the upload (moto does for multipart
        uploads): check it, set it afterwards if missing. If that fails too, the object (not
        locked, hence deletable) is removed: a backup without its retention is an error."""
        client = self._store._client()
        where = {"Bucket": self._store.bucket, "Key": self._key, **({"VersionId": version} if version else {})}
        try:
            with self._store._errors(f"verrouillage de {self._name}", writing=True):
                if client.head_object(**where).get("ObjectLockRetainUntilDate") is None:
                    client.put_object_retention(
                        **where,
                        Retention={
                            "Mode": self._lock["ObjectLockMode"],
                            "RetainUntilDate": self._lock["ObjectLockRetainUntilDate"],
                        },
                    )
        except StoreError:
            with contextlib.suppress(Exception):
                client.delete_object(**where)
            raise

    def abort(self) -> None:
        """Best effort: the parts already sent are freed, nothing stays pending."""
        self._buffer = bytearray()
        if self._upload_id is None:
            return
        with contextlib.suppress(Exception):
            self._store._client().abort_multipart_upload(
                Bucket=self._store.bucket, Key=self._key, UploadId=self._upload_id
            )
        self._upload_id = None


class _Body(io.RawIOBase):
    """An object's body as a raw stream, translating network errors midway into StoreError."""

    def __init__(self, store: S3Store, body: Any, name: str) -> None:
        self._store = store
        self._body = body
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        with self._store._errors(f"lecture de {self._name}"):
            return self._body.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class S3Store:
    def __init__(
        self,
        *,
        endpoint_url: str,
        bucket: str,
        prefix: str = "",
        region: str = "",
        access_key: str,
        secret_key: str,
        lock_days: int = 0,
        lock_mode: str = "COMPLIANCE",
        timeout: float = 30.0,
    ) -> None:
        self.endpoint_url = endpoint_url.strip().rstrip("/")
        self.bucket = bucket.strip()
        prefix = prefix.strip().strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self.region = region.strip() or "us-east-1"
        self.lock_days = int(lock_days)
        self.lock_mode = lock_mode.upper()
        if self.lock_mode not in LOCK_MODES:
            raise StoreError(f"Mode de verrouillage S3 inconnu : {lock_mode} (COMPLIANCE ou GOVERNANCE).")
        self.timeout = timeout
        self._access_key = access_key
        self._secret_key = secret_key
        # The endpoint's host only: a URL could carry credentials ("https://user:pass@host").
        split = urlsplit(self.endpoint_url)
        host = split.hostname or ""
        if split.port:
            host = f"{host}:{split.port}"
        self.label = f"s3://{self.bucket}/{self.prefix}" + (f" ({host})" if host else "")
        self._s3: Any = None
        self._bucket_locked: bool | None = None

    # --- client and errors ---------------------------------------------------------------------

    def _client(self) -> Any:
        if self._s3 is None:
            config = Config(
                connect_timeout=self.timeout,
                read_timeout=self.timeout,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path" if self.endpoint_url else "auto"},
                signature_version="s3v4",
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                tcp_keepalive=True,
            )
            # Explicit keys: never the credentials of the machine (environment, ~/.aws).
            session = boto3.session.Session(
                aws_access_key_id=self._access_key,
                aws_secret_access_key=self._secret_key,
                region_name=self.region,
            )
            self._s3 = session.client("s3", endpoint_url=self.endpoint_url or None, config=config)
        return self._s3

    def close(self) -> None:
        client, self._s3 = self._s3, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    @contextlib.contextmanager
    def _errors(self, action: str, *, writing: bool = False) -> Iterator[None]:
        """botocore errors -> StoreError in French, naming the target, never a key."""
        try:
            yield
        except StoreError:
            raise
        except boto_errors.SSLError:
            raise StoreError(
                f"{self.label} : connexion sécurisée (TLS) impossible avec le serveur S3 ({action}) : "
                "certificat invalide ou adresse incorrecte."
            ) from None
        except boto_errors.ConnectionError:
            raise StoreError(
                f"{self.label} : serveur S3 injoignable ({action}) : vérifiez l'adresse du service et la connexion "
                "Internet."
            ) from None
        except (boto_errors.ReadTimeoutError, boto_errors.ConnectionClosedError, boto_errors.ResponseStreamingError):
            raise StoreError(f"{self.label} : le serveur S3 ne répond plus ({action}).") from None
        except boto_errors.IncompleteReadError:
            raise StoreError(f"{self.label} : transfert interrompu ({action}).") from None
        except boto_errors.ClientError as exc:
            raise self._client_error(exc, action, writing=writing) from None
        except boto_errors.BotoCoreError as exc:
            raise StoreError(f"{self.label} : erreur S3 ({action} : {type(exc).__name__}).") from None

    def _client_error(self, exc: boto_errors.ClientError, action: str, *, writing: bool = False) -> StoreError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _CREDENTIALS:
            return StoreError(
                f"{self.label} : identifiants S3 refusés ({action}) : clé d'accès ou clé secrète incorrecte."
            )
        if code in _WRONG_REGION or status == 301:
            return StoreError(
                f"{self.label} : le compartiment n'est pas dans la région « {self.region} » ({action}) : "
                "corrigez la région."
            )
        if code in _MISSING_BUCKET:
            return StoreError(f"{self.label} : le compartiment « {self.bucket} » n'existe pas.")
        if code in _QUOTA or status == 507 or (writing and "quota" in code.lower()):
            return StoreError(
                f"{self.label} : quota ou espace de stockage S3 épuisé ({action}). L'envoi incomplet a été "
                "annulé ; libérez de la place ou augmentez le quota auprès du fournisseur."
            )
        if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
            return StoreError(
                f"{self.label} : accès refusé ({action}) : identifiants incorrects ou droits insuffisants sur le "
                "compartiment."
            )
        if code in ("NoSuchKey", "404") or status == 404:
            return StoreError(f"{self.label} : introuvable ({action}).")
        return StoreError(f"{self.label} : erreur du serveur S3 ({action} : {code or status}).")

    def _key(self, name: str) -> str:
        return self.prefix + _check_name(name)

    def _exists(self, key: str) -> bool:
        try:
            self._client().head_object(Bucket=self.bucket, Key=key)
        except boto_errors.ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise
        return True

    def _lock_arguments(self) -> dict[str, Any]:
        if self.lock_days <= 0:
            return {}
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.lock_days)
        return {"ObjectLockMode": self.lock_mode, "ObjectLockRetainUntilDate": until}

    # --- Store ---------------------------------------------------------------------------------

    def check(self) -> None:
        client = self._client()
        with self._errors("vérification du compartiment"):
            try:
                client.head_bucket(Bucket=self.bucket)
            except boto_errors.ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if status == 404:
                    raise StoreError(f"{self.label} : le compartiment « {self.bucket} » n'existe pas.") from None
                if status == 403:
                    # A HEAD answer carries no error code: ask again with a request whose error
                    # says whether the keys or the rights are wrong.
                    client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
                raise
        if self.lock_days > 0 and not self._object_lock_enabled():
            raise StoreError(
                f"{self.label} : le compartiment n'a pas le verrouillage d'objets (object lock) activé. "
                "Il doit être créé avec cette option (elle ne s'active pas toujours après coup), ou réglez la "
                "durée de conservation verrouillée à 0."
            )

    def _object_lock_enabled(self) -> bool:
        if self._bucket_locked is None:
            with self._errors("vérification du verrouillage d'objets"):
                try:
                    answer = self._client().get_object_lock_configuration(Bucket=self.bucket)
                except boto_errors.ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "")
                    if code not in ("ObjectLockConfigurationNotFoundError", "NotImplemented"):
                        raise
                    answer = {}
            self._bucket_locked = answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
        return self._bucket_locked

    def list(self) -> dict[str, int]:
        found: dict[str, int] = {}
        with self._errors("liste des sauvegardes"):
            pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"][len(self.prefix) :]
                    parts = name.split("/")
                    # Folder markers ("packs/") and hidden names are not backups.
                    if not name or any(not p or p.startswith(".") for p in parts):
                        continue
                    found[name] = int(item.get("Size", 0))
        return found

    @contextlib.contextmanager
    def writer(self, name: str) -> Iterator[BinaryIO]:
        key = self._key(name)
        with self._errors(f"envoi de {name}", writing=True):
            if self._exists(key):
                raise StoreError(f"{self.label} : {name} existe déjà.")
        upload = _Upload(self, key, name)
        try:
            yield upload  # type: ignore[misc]
            upload.finish()
        except BaseException:
            upload.abort()
            raise

    def remove_leftovers(self, older_than: float = 6 * 3600) -> int:
        """Abort the multipart uploads of runs killed midway (never listed, but their parts
        are stored and billed) once old enough not to belong to a run still going."""
        limit = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than)
        client = self._client()
        removed = 0
        with self._errors("nettoyage des envois interrompus"):
            pages = client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for upload in page.get("Uploads", ()):
                    if upload["Initiated"] < limit:
                        client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        removed += 1
        return removed

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[BinaryIO]:
        key = self._key(name)
        with self._errors(f"lecture de {name}"):
            try:
                body = self._client().get_object(Bucket=self.bucket, Key=key)["Body"]
            except boto_errors.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                    raise StoreError(f"{self.label} : sauvegarde introuvable : {name}.") from None
                raise
        with io.BufferedReader(_Body(self, body, name), buffer_size=1024 * 1024) as stream:
            yield stream  # type: ignore[misc]

    def delete(self, name: str) -> None:
        """Delete every version of the object (in a versioned bucket, which object lock implies,
        a plain DELETE only hides the object behind a delete marker and frees nothing)."""
        key = self._key(name)
        client = self._client()
        with self._errors(f"suppression de {name}"):
            versions: list[str | None] = []
            try:
                pages = client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key)
                for page in pages:
                    for item in [*page.get("Versions", ()), *page.get("DeleteMarkers", ())]:
                        if item["Key"] == key:
                            versions.append(item.get("VersionId"))
            except boto_errors.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("AccessDenied", "NotImplemented"):
                    raise
                # No right to list versions (or no versioning support): a plain DELETE.
                versions = [None]
            locked: list[str | None] = []
            for version in versions:
                arguments = {"VersionId": version} if version else {}
                try:
                    client.delete_object(Bucket=self.bucket, Key=key, **arguments)
                except boto_errors.ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code")
                    if code in ("NoSuchKey", "NoSuchVersion"):
                        continue
                    if code != "AccessDenied" or not self._retained(key, version):
                        raise
                    locked.append(version)
            if locked:
                raise RetentionLocked(self._retention_message(name, key, locked[0]))

    def _retained(self, key: str, version: str | None) -> bool:
        """Whether an AccessDenied on deleting this version comes from object lock."""
        until, hold = self._retention(key, version)
        if hold or (until is not None and until > dt.datetime.now(dt.UTC)):
            return True
        if until is None:
            # Retention headers are only shown with the GetObjectRetention right: rely on the
            # bucket's configuration then.
            with contextlib.suppress(StoreError):
                return self.lock_days > 0 or self._object_lock_enabled()
        return False

    def _retention(self, key: str, version: str | None) -> tuple[dt.datetime | None, bool]:
        arguments = {"VersionId": version} if version else {}
        try:
            head = self._client().head_object(Bucket=self.bucket, Key=key, **arguments)
        except (boto_errors.ClientError, boto_errors.BotoCoreError):
            return None, False
        return head.get("ObjectLockRetainUntilDate"), head.get("ObjectLockLegalHoldStatus") == "ON"

    def _retention_message(self, name: str, key: str, version: str | None) -> str:
        until, hold = self._retention(key, version)
        if hold:
            why = "sous conservation légale (legal hold)"
        elif until is not None:
            why = f"verrouillé jusqu'au {until.astimezone(dt.UTC):%d/%m/%Y %H:%M} UTC"
        else:
            why = "sous verrouillage d'objets"
        return f"{self.label} : {name} est {why} ; il ne peut pas encore être supprimé."
