"""An SFTP server as a backup target (paramiko).

The server's host key is pinned: the admin saves its public line once (after checking its
fingerprint, see `fetch_host_key` and `fingerprint`), and any other key is refused, never
accepted on the fly. The client authenticates with its own key (`generate_client_key`) or a
password.

Files are written under a hidden temporary name (`.NAME.partial`) in their final folder, then
renamed with `posix-rename@openssh.com`, so `list` never shows an unfinished upload. Writes are
pipelined and reads requested ahead: a multi-GB file streams at network speed with a
bounded amount of memory.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hashlib
import io
import posixpath
import socket
import stat
from collections import deque
from collections.abc import Iterator
from typing import BinaryIO

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from paramiko.sftp import CMD_DATA, CMD_READ, CMD_STATUS, int64

from hygie.backups.stores import StoreError

PARTIAL = ".partial"
# Client-side write buffer: paramiko cuts it into 32 KiB SFTP requests sent without waiting for
# each answer (pipelining).
WRITE_BUFFER = 1024 * 1024
# Read requests of 32 KiB kept in flight: enough to hide the round trip, small enough to bound
# memory (2 MiB) whatever the reader's pace. More is slower: paramiko's channel buffer
# shifts all its pending bytes on every packet read.
READ_AHEAD = 64
# Data per SFTP read or write request. OpenSSH takes SSH packets of 32 KiB on a session channel and
# paramiko keeps 64 bytes of them for itself: a 32 KiB write (paramiko's default) plus its SFTP
# header takes two packets, this fits in one, whatever the length of the server's file handle
# (at most 256 bytes). Fewer packets to encrypt and send from Python.
REQUEST_SIZE = 32 * 1024 - 512
# SSH channel window: how much the peer may send before we acknowledge. Larger than paramiko's
# 2 MiB default, to keep READ_AHEAD requests answered without waiting.
CHANNEL_WINDOW = 4 * 1024 * 1024

# Host key algorithms to offer for each pinned key type, so that the server presents the key
# we know (a server usually has several, one per type).
_HOST_KEY_ALGORITHMS = {
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
}


# --- keys --------------------------------------------------------------------------------------


def _parse_host_key(line: str) -> tuple[str, bytes]:
    """(type, blob) of an OpenSSH public key line ("ssh-ed25519 AAAA… comment"). A
    known_hosts line ("host ssh-ed25519 AAAA…") is accepted too."""
    tokens = line.strip().split()
    for i, token in enumerate(tokens[:-1]):
        if token not in _HOST_KEY_ALGORITHMS:
            continue
        try:
            blob = base64.b64decode(tokens[i + 1], validate=True)
        except (binascii.Error, ValueError):
            break
        # The blob starts with its own type name (SSH string): both must agree.
        size = int.from_bytes(blob[:4], "big")
        if blob[4 : 4 + size] == token.encode():
            return token, blob
        break
    raise StoreError(
        "Clé du serveur SFTP invalide : collez une ligne de clé publique OpenSSH "
        "(« ssh-ed25519 AAAA… », « ecdsa-sha2-nistp256 AAAA… » ou « ssh-rsa AAAA… »)."
    )


def _key_line(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"


def fingerprint(host_key_line: str) -> str:
    """`SHA256:…` fingerprint of a public key line, as `ssh-keygen -l` shows it."""
    _type, blob = _parse_host_key(host_key_line)
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def generate_client_key() -> tuple[str, str]:
    """A new Ed25519 key for Hygie to log in with: (private key in OpenSSH format, public
    line to add to the server's `~/.ssh/authorized_keys`)."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, f"{public.decode()} hygie-backup"


def _load_private_key(text: str) -> paramiko.PKey:
    """A paramiko key from an OpenSSH or PEM private key text (Ed25519, ECDSA or RSA)."""
    data = text.strip().encode() + b"\n"
    try:
        try:
            loaded = serialization.load_ssh_private_key(data, password=None)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        # cryptography raises TypeError when the key needs a password.
        raise StoreError(
            "La clé privée SFTP est protégée par une phrase secrète : fournissez une clé sans phrase "
            "secrète (elle est conservée chiffrée par Hygie)."
        ) from None
    except (ValueError, binascii.Error):
        raise StoreError("Clé privée SFTP illisible : format OpenSSH ou PEM attendu.") from None
    key_class: type[paramiko.PKey]
    if isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    elif isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    else:
        raise StoreError("Type de clé privée SFTP non pris en charge : utilisez Ed25519, ECDSA ou RSA.")
    # paramiko reads the OpenSSH format for every key type, but not PKCS#8 PEM ("BEGIN PRIVATE
    # KEY"): hand it the key re-encoded by cryptography.
    text = loaded.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    try:
        return key_class.from_private_key(io.StringIO(text))
    except (paramiko.SSHException, ValueError):
        raise StoreError("Clé privée SFTP illisible : format OpenSSH ou PEM attendu.") from None


def _open_socket(host: str, port: int, timeout: float, where: str) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror:
        raise StoreError(f"{where} : serveur introuvable (nom « {host} » inconnu).") from None
    except ConnectionRefusedError:
        raise StoreError(f"{where} : connexion refusée (aucun service SSH n'écoute sur le port {port}).") from None
    except TimeoutError:
        raise StoreError(f"{where} : pas de réponse du serveur après {timeout:g} s (hors ligne ou filtré).") from None
    except OSError as exc:
        raise StoreError(f"{where} : serveur injoignable ({exc.strerror or exc}).") from None


def _start_transport(
    sock: socket.socket, timeout: float, where: str, key_types: tuple[str, ...] = ()
) -> paramiko.Transport:
    transport = paramiko.Transport(sock, default_window_size=CHANNEL_WINDOW)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    if key_types:
        transport.get_security_options().key_types = key_types
    try:
        transport.start_client(timeout=timeout)
    except paramiko.IncompatiblePeer as exc:
        transport.close()
        if "host key" in str(exc).lower():
            # The server has no key of the pinned type any more (only reachable here because
            # we offer nothing else): as suspicious as a different key.
            raise StoreError(
                f"{where} : le serveur ne présente plus la clé enregistrée : la clé du serveur a changé "
                "(réinstallation ou possible interception). Connexion refusée ; vérifiez auprès de "
                "l'administrateur du serveur avant d'enregistrer la nouvelle clé."
            ) from None
        raise StoreError(f"{where} : serveur SSH incompatible (aucun algorithme commun).") from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        transport.close()
        if "banner" in str(exc).lower():
            raise _silent(where, timeout) from None
        raise StoreError(f"{where} : connexion coupée par le serveur pendant la négociation SSH.") from None
    try:
        # start_client returns without error when its timeout expires: the key exchange is only
        # done if the server's key is known.
        transport.get_remote_server_key()
    except paramiko.SSHException:
        transport.close()
        raise _silent(where, timeout) from None
    return transport


def _silent(where: str, timeout: float) -> StoreError:
    return StoreError(
        f"{where} : le serveur ne répond pas en SSH (délai de {timeout:g} s dépassé) : ce port est-il bien celui "
        "du service SSH/SFTP ?"
    )


def fetch_host_key(host: str, port: int = 22, timeout: float = 10.0) -> str:
    """The host key line the server presents now (Ed25519 preferred), for the admin to compare
    its fingerprint with the one the server's administrator reads on the server
    (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) before saving it."""
    where = f"sftp://{host}:{port}"
    transport = _start_transport(_open_socket(host, port, timeout, where), timeout, where)
    try:
        return _key_line(transport.get_remote_server_key())
    finally:
        transport.close()


# --- names -------------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or any(not p or p.startswith(".") for p in parts):
        raise StoreError(f"Nom de fichier de sauvegarde invalide : {name}")
    return name


# --- the store ---------------------------------------------------------------------------------


class _Reader(io.RawIOBase):
    """Sequential reads of a remote file with READ_AHEAD requests always in flight.

    paramiko's `prefetch()` would do the same from a background thread, but that thread never
    ends when the file is closed before its end (it waits forever for answers nobody reads),
    and `readv` by windows stalls at every window. This is the same mechanism without thread:
    the requests are sent and their answers collected here, through the SFTP client's request
    table (`_async_request` / `_read_response`, the internals `SFTPFile` itself relies on).
    Memory stays bounded by READ_AHEAD answers whatever the consumer's pace."""

    def __init__(self, store: SftpStore, handle: paramiko.SFTPFile, size: int, name: str) -> None:
        self._store = store
        self._sftp = handle.sftp
        self._handle = handle
        self._size = size
        self._name = name
        self._requested = 0  # offset up to which reads are requested
        self._pending: deque[tuple[int, int, int]] = deque()  # (request number, offset, length)
        self._answers: dict[int, tuple[int, paramiko.Message]] = {}
        self._current = memoryview(b"")

    # paramiko's SFTPClient hands us the answers to our requests through this method.
    def _async_response(self, kind: int, message: paramiko.Message, number: int) -> None:
        self._answers[number] = (kind, message)

    def _request(self, offset: int, length: int, *, first: bool = False) -> None:
        number = self._sftp._async_request(self, CMD_READ, self._handle.handle, int64(offset), int(length))
        if first:
            self._pending.appendleft((number, offset, length))
        else:
            self._pending.append((number, offset, length))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        with self._store._errors(f"lecture de {self._name}"):
            while not self._current:
                while len(self._pending) < READ_AHEAD and self._requested < self._size:
                    length = min(REQUEST_SIZE, self._size - self._requested)
                    self._request(self._requested, length)
                    self._requested += length
                if not self._pending:
                    return 0
                number, offset, length = self._pending[0]
                while number not in self._answers:
                    self._sftp._read_response()  # one answer, possibly to another of our requests
                self._pending.popleft()
                kind, message = self._answers.pop(number)
                if kind == CMD_STATUS:
                    self._sftp._convert_status(message)  # raises on an error (EOFError if truncated)
                if kind != CMD_DATA:
                    raise paramiko.SSHException("unexpected SFTP answer")
                data = message.get_string()
                if not data:
                    raise EOFError("file shorter than announced")
                if len(data) < length:  # a server may answer with less: ask for the rest first
                    self._request(offset + len(data), length - len(data), first=True)
                self._current = memoryview(data)
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count

    def close(self) -> None:
        if not self.closed:
            # Answers still in flight are read (and dropped) by the client while it waits for
            # the answer to CLOSE.
            with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                self._handle.close()
            self._answers.clear()
        super().close()


class _Writer(io.RawIOBase):
    """Write side of `SftpStore.writer`: only `write`, so that the caller cannot close or seek
    the remote file behind the store's back."""

    def __init__(self, store: SftpStore, handle: paramiko.SFTPFile, name: str) -> None:
        self._store = store
        self._handle = handle
        self._name = name
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        with self._store._errors(f"écriture de {self._name}", writing=True):
            self._handle.write(data)
        count = len(data) if not isinstance(data, memoryview) else data.nbytes
        self.written += count
        return count


class SftpStore:
    def __init__(
        self,
        *,
        host: str,
        port: int = 22,
        username: str,
        path: str,
        host_key: str,
        private_key: str = "",
        password: str = "",
        timeout: float = 15.0,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.username = username
        # An absolute path, or one relative to the account's home directory (SFTP servers
        # do not expand "~": "~/hygie" is "hygie").
        path = path.strip()
        if path == "~" or path.startswith("~/"):
            path = path[2:] or "."
        self.root = (path.rstrip("/") or "/") if path else "."
        self.timeout = timeout
        self._host_key = host_key
        self._private_key = private_key
        self._password = password
        if self.root.startswith("/"):
            shown = self.root
        else:  # the usual URL notation for the home directory
            shown = "/~" + ("" if self.root == "." else "/" + self.root.removeprefix("./"))
        netloc = f"[{host}]" if ":" in host else host
        self.label = f"sftp://{username}@{netloc}:{self.port}{shown}"
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None

    # --- connection ----------------------------------------------------------------------------

    def _client(self) -> paramiko.SFTPClient:
        """The SFTP session, opened on first use and reused; opened again if it dropped."""
        if self._sftp is not None and self._transport is not None and self._transport.is_active():
            return self._sftp
        self.close()
        key_type, blob = _parse_host_key(self._host_key)
        pkey = _load_private_key(self._private_key) if self._private_key.strip() else None
        if pkey is None and not self._password:
            raise StoreError(f"{self.label} : ni clé privée ni mot de passe configurés.")
        sock = _open_socket(self.host, self.port, self.timeout, self.label)
        transport = _start_transport(sock, self.timeout, self.label, _HOST_KEY_ALGORITHMS[key_type])
        try:
            server_key = transport.get_remote_server_key()
            # Compare the whole public blob, never accept an unknown key.
            if server_key.asbytes() != blob:
                raise StoreError(
                    f"{self.label} : la clé du serveur a changé ({fingerprint(_key_line(server_key))} au lieu de "
                    f"{fingerprint(self._host_key)}) : réinstallation du serveur ou possible interception de la "
                    "connexion. Connexion refusée ; vérifiez auprès de l'administrateur du serveur avant "
                    "d'enregistrer la nouvelle clé."
                )
            self._authenticate(transport, pkey)
            try:
                sftp = paramiko.SFTPClient.from_transport(transport, window_size=CHANNEL_WINDOW)
            except (paramiko.SSHException, OSError, EOFError):
                sftp = None
            if sftp is None:
                raise StoreError(f"{self.label} : le serveur refuse le service SFTP (sous-système « sftp »).")
            sftp.get_channel().settimeout(self.timeout)
        except BaseException:
            transport.close()
            raise
        self._transport, self._sftp = transport, sftp
        return sftp

    def _authenticate(self, transport: paramiko.Transport, pkey: paramiko.PKey | None) -> None:
        refused = paramiko.AuthenticationException
        try:
            if pkey is not None:
                try:
                    transport.auth_publickey(self.username, pkey)
                except refused:
                    if not self._password:
                        raise
            if not transport.is_authenticated() and self._password:
                transport.auth_password(self.username, self._password)
        except refused:
            how = "la clé de Hygie" if pkey is not None else "le mot de passe"
            hint = (
                " Ajoutez la clé publique de Hygie au fichier ~/.ssh/authorized_keys de ce compte sur le serveur."
                if pkey is not None
                else ""
            )
            raise StoreError(
                f"{self.label} : authentification refusée pour l'utilisateur « {self.username} » avec {how}.{hint}"
            ) from None
        except (paramiko.SSHException, OSError, EOFError):
            raise StoreError(f"{self.label} : connexion coupée pendant l'authentification.") from None
        if not transport.is_authenticated():
            raise StoreError(f"{self.label} : authentification refusée pour l'utilisateur « {self.username} ».")

    def close(self) -> None:
        sftp, transport = self._sftp, self._transport
        self._sftp = self._transport = None
        with contextlib.suppress(Exception):
            if sftp is not None:
                sftp.close()
        with contextlib.suppress(Exception):
            if transport is not None:
                transport.close()

    @contextlib.contextmanager
    def _errors(self, action: str, *, writing: bool = False) -> Iterator[None]:
        """paramiko and socket errors of one operation -> StoreError in French. A broken
        connection is dropped, the next call opens a new one."""
        try:
            yield
        except StoreError:
            raise
        except (TimeoutError, paramiko.SSHException, paramiko.SFTPError, EOFError, ConnectionError) as exc:
            self.close()
            if isinstance(exc, TimeoutError):
                raise StoreError(
                    f"{self.label} : le serveur ne répond plus ({action}, délai de {self.timeout:g} s dépassé)."
                ) from None
            raise StoreError(f"{self.label} : connexion perdue ({action}).") from None
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                raise StoreError(f"{self.label} : introuvable sur le serveur ({action}).") from None
            if exc.errno == errno.EACCES:
                raise StoreError(f"{self.label} : permission refusée par le serveur ({action}).") from None
            if writing:
                # SFTP reports ENOSPC/EDQUOT as a bare "Failure" status.
                raise StoreError(
                    f"{self.label} : le serveur a refusé l'écriture ({action}) : disque plein ou quota "
                    "atteint sur le serveur ? L'envoi incomplet a été supprimé."
                ) from None
            detail = exc.strerror or (exc.args[0] if exc.args else "")
            raise StoreError(f"{self.label} : erreur du serveur ({action} : {detail}).") from None

    def _remote(self, name: str) -> str:
        return posixpath.join(self.root, _check_name(name))

    def _stat(self, sftp: paramiko.SFTPClient, path: str) -> paramiko.SFTPAttributes | None:
        try:
            return sftp.stat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise

    # --- Store ---------------------------------------------------------------------------------

    def check(self) -> None:
        sftp = self._client()
        with self._errors("vérification du dossier"):
            attrs = self._stat(sftp, self.root)
            if attrs is None:
                raise StoreError(f"{self.label} : le dossier de destination n'existe pas sur le serveur.")
            if not stat.S_ISDIR(attrs.st_mode or 0):
                raise StoreError(f"{self.label} : la destination sur le serveur n'est pas un dossier.")
            # Writable? The only sure test is to create a (hidden, never listed) file.
            probe = posixpath.join(self.root, f".hygie-check{PARTIAL}")
            try:
                sftp.open(probe, "wb").close()
            except OSError:
                raise StoreError(
                    f"{self.label} : le dossier de destination n'est pas accessible en écriture pour "
                    f"l'utilisateur « {self.username} »."
                ) from None
            with contextlib.suppress(OSError):
                sftp.remove(probe)

    def list(self) -> dict[str, int]:
        sftp = self._client()
        found: dict[str, int] = {}
        with self._errors("liste des sauvegardes"):
            if self._stat(sftp, self.root) is None:
                raise StoreError(f"{self.label} : le dossier de destination n'existe pas sur le serveur.")
            pending = [""]
            while pending:
                folder = pending.pop()
                for entry in sftp.listdir_attr(posixpath.join(self.root, folder) if folder else self.root):
                    # Hidden entries are partial uploads and probes, never backups.
                    if entry.filename.startswith("."):
                        continue
                    rel = f"{folder}/{entry.filename}" if folder else entry.filename
                    mode = entry.st_mode or 0
                    if stat.S_ISDIR(mode):
                        pending.append(rel)
                    elif stat.S_ISREG(mode):
                        found[rel] = entry.st_size or 0
        return found

    @contextlib.contextmanager
    def writer(self, name: str) -> Iterator[BinaryIO]:
        final = self._remote(name)
        folder, base = posixpath.split(final)
        partial = posixpath.join(folder, f".{base}{PARTIAL}")
        sftp = self._client()
        with self._errors(f"écriture de {name}", writing=True):
            if self._stat(sftp, final) is not None:
                raise StoreError(f"{self.label} : {name} existe déjà.")
            self._makedirs(sftp, folder)
            # "w": a partial file left by a run killed midway is simply overwritten.
            handle = sftp.open(partial, "wb", bufsize=WRITE_BUFFER)
        try:
            with contextlib.suppress(OSError):
                handle.chmod(0o600)  # already encrypted, but nobody else needs to read it
            handle.set_pipelined(True)
            handle.MAX_REQUEST_SIZE = REQUEST_SIZE  # read by SFTPFile._write for each request
            out = _Writer(self, handle, name)
            yield out  # type: ignore[misc]
            with self._errors(f"écriture de {name}", writing=True):
                handle.flush()
                _wait_for_writes(handle)
                size = handle.stat().st_size
                handle.close()
                if size is not None and size != out.written:  # writes lost without an error status
                    raise OSError(f"size {size} != {out.written}")
                if self._stat(sftp, final) is not None:
                    raise StoreError(f"{self.label} : {name} existe déjà.")
                try:
                    sftp.posix_rename(partial, final)
                except OSError as exc:
                    if exc.errno is not None:
                        raise
                    # Server without the OpenSSH extension: the plain SFTP rename, which
                    # refuses an existing target.
                    sftp.rename(partial, final)
        except BaseException:
            with contextlib.suppress(Exception):
                handle.close()
            if self._sftp is not None:
                with contextlib.suppress(Exception):
                    self._sftp.remove(partial)
            raise

    def _makedirs(self, sftp: paramiko.SFTPClient, folder: str) -> None:
        if folder == self.root or self._stat(sftp, folder) is not None:
            return
        if self._stat(sftp, self.root) is None:
            raise StoreError(f"{self.label} : le dossier de destination n'existe pas sur le serveur.")
        try:
            sftp.mkdir(folder, 0o700)
        except OSError:
            if self._stat(sftp, folder) is None:  # not created meanwhile by another run
                raise

    def remove_leftovers(self, older_than: float = 6 * 3600) -> int:
        """Partial files of runs cut off midway (connection lost, process killed), never listed,
        once old enough (by the server's clock) not to belong to a run still going."""
        sftp = self._client()
        removed = 0
        with self._errors("nettoyage des envois interrompus"):
            # The server's "now": the time of a file just touched there.
            probe = posixpath.join(self.root, f".hygie-clock{PARTIAL}")
            sftp.open(probe, "wb").close()
            now = sftp.stat(probe).st_mtime or 0
            sftp.remove(probe)
            pending = [self.root]
            while pending:
                folder = pending.pop()
                for entry in sftp.listdir_attr(folder):
                    path = posixpath.join(folder, entry.filename)
                    if stat.S_ISDIR(entry.st_mode or 0) and not entry.filename.startswith("."):
                        pending.append(path)
                    elif (
                        entry.filename.startswith(".")
                        and entry.filename.endswith(PARTIAL)
                        and (entry.st_mtime or 0) < now - older_than
                    ):
                        with contextlib.suppress(OSError):
                            sftp.remove(path)
                            removed += 1
        return removed

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[BinaryIO]:
        path = self._remote(name)
        sftp = self._client()
        with self._errors(f"lecture de {name}"):
            try:
                handle = sftp.open(path, "rb")
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    raise StoreError(f"{self.label} : sauvegarde introuvable : {name}.") from None
                raise
            try:
                size = handle.stat().st_size or 0
            except BaseException:
                handle.close()
                raise
        raw = _Reader(self, handle, size, name)
        with io.BufferedReader(raw, buffer_size=1024 * 1024) as stream:
            yield stream  # type: ignore[misc]

    def delete(self, name: str) -> None:
        path = self._remote(name)
        sftp = self._client()
        with self._errors(f"suppression de {name}"):
            try:
                sftp.remove(path)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise


def _wait_for_writes(handle: paramiko.SFTPFile) -> None:
    """Collect the answers to the pipelined writes still in flight, raising on the first error.

    paramiko's `close()` of a pipelined file discards those answers without looking at them, so
    a write refused at the end of the file (disk full) would pass unnoticed. This reads the
    same queue that paramiko drains itself during `write`; the size check after it is the
    safety net should a future paramiko change these internals."""
    requests = getattr(handle, "_reqs", None)
    read_response = getattr(handle.sftp, "_read_response", None)
    if requests is None or read_response is None:
        return
    while requests:
        read_response(requests.popleft())  # raises IOError on an error status
