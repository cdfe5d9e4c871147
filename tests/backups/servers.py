"""Real servers for the store tests: OpenSSH's sshd for SFTP, moto for S3. No database.

Imported by tests/backups/conftest.py so that the fixtures are visible to every backup test.
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import hashlib
import logging
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from hygie.backups.stores import Store, StoreError
from hygie.backups.stores.s3 import S3Store
from hygie.backups.stores.sftp import SftpStore, generate_client_key

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# --- SFTP --------------------------------------------------------------------------------------


@dataclass
class SftpServer:
    host: str
    port: int
    username: str
    directory: Path  # the remote directory: a local tmp dir, as the server runs here
    host_key: str
    private_key: str
    public_key: str
    log: Path

    def make_store(self, **overrides: Any) -> SftpStore:
        options: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "path": str(self.directory),
            "host_key": self.host_key,
            "private_key": self.private_key,
            "timeout": 5.0,
        }
        options.update(overrides)
        return SftpStore(**options)


def start_sshd(root: Path, *, file_size_limit: int | None = None) -> tuple[SftpServer, subprocess.Popen]:
    """sshd on 127.0.0.1 (free port) accepting only a new client key, for the current user.

    `file_size_limit` (bytes) makes every write beyond it fail on the server (RLIMIT_FSIZE with
    SIGXFSZ ignored): the SFTP server then answers "Failure", as on a full disk."""
    if not Path(SSHD).exists():
        pytest.skip(f"{SSHD} is not installed")
    root.mkdir(parents=True, exist_ok=True)
    host_key_file = root / "ssh_host_ed25519_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test-host", "-f", str(host_key_file)],
        check=True,
    )
    private_key, public_key = generate_client_key()
    authorized = root / "authorized_keys"
    authorized.write_text(public_key + "\n")
    authorized.chmod(0o600)
    directory = root / "remote"
    directory.mkdir()
    user = getpass.getuser()
    port = free_port()
    config = root / "sshd_config"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key_file}",
                f"PidFile {root / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}",
                f"AllowUsers {user}",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "Subsystem sftp internal-sftp",
                "LogLevel VERBOSE",
                "",
            ]
        )
    )
    if os.geteuid() == 0:
        # Privilege separation directory, normally created by the Debian service unit.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    def limits() -> None:  # in the child, before exec; inherited by the session processes
        if file_size_limit is not None:
            import resource

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    log = root / "sshd.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config), "-p", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=limits if file_size_limit is not None else None,  # noqa: PLW1509 - test helper
        )
    try:
        wait_for_port(port, 10.0, process)
    except RuntimeError as exc:
        process.kill()
        process.wait()
        raise RuntimeError(f"sshd did not start: {exc}\n{log.read_text()}") from None
    server = SftpServer(
        host="127.0.0.1",
        port=port,
        username=user,
        directory=directory,
        host_key=(root / "ssh_host_ed25519_key.pub").read_text().strip(),
        private_key=private_key,
        public_key=public_key,
        log=log,
    )
    return server, process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SftpServer]:
    server, process = start_sshd(tmp_path / "sshd")
    try:
        yield server
    finally:
        stop(process)


# --- S3 ----------------------------------------------------------------------------------------

# moto is an S3 *emulator* (in-process, werkzeug): it is the only S3-compatible server that can be
# installed here (MinIO is neither in Debian nor on PyPI). It implements buckets, multipart
# uploads, versioning and object lock retention well enough for the store's logic, but says
# nothing about the quirks of a real MinIO/Garage/Ceph/AWS endpoint.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


@dataclass
class S3Server:
    endpoint_url: str
    bucket: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    client: Any = field(default=None, repr=False)

    def make_store(self, **overrides: Any) -> S3Store:
        options: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "bucket": self.bucket,
            "region": self.region,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "timeout": 10.0,
        }
        options.update(overrides)
        return S3Store(**options)

    def create_bucket(self, *, object_lock: bool = False) -> str:
        """A new bucket (unique name); with object lock enabled (hence versioning) if asked."""
        name = f"test-{uuid.uuid4().hex[:20]}"
        if object_lock:
            self.client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            self.client.create_bucket(Bucket=name)
        return name

    def make_locked_store(self, lock_days: int = 1, **overrides: Any) -> S3Store:
        return self.make_store(bucket=self.create_bucket(object_lock=True), lock_days=lock_days, **overrides)


_moto: list[Any] = []  # [server, endpoint URL] once started


def moto_endpoint() -> str:
    """moto's server, started on first use and kept for the whole session (it takes a while to
    start). Not a session fixture, so that importing `s3_server` alone is enough."""
    if not _moto:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        wait_for_port(port)
        atexit.register(server.stop)
        _moto.extend([server, f"http://127.0.0.1:{port}"])
    return _moto[1]


@pytest.fixture
def s3_server() -> S3Server:
    """The session's moto server and a new bucket of this test (no object lock)."""
    endpoint = moto_endpoint()
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}),
    )
    server = S3Server(endpoint_url=endpoint, bucket="", client=client)
    server.bucket = server.create_bucket()
    return server


# --- the contract every store follows ------------------------------------------------------

BACKUP = "hygie-backup-20261122T020000000000Z.age"
PACK = "packs/pack-20261122T020000000000Z-ab12cd34.age"
MiB = 1024 * 1024


def write(store: Store, name: str, data: bytes, chunk: int = 64 * 1024) -> None:
    with store.writer(name) as out:
        for start in range(0, len(data), chunk):
            out.write(data[start : start + chunk])


def read(store: Store, name: str, chunk: int = 100_000) -> bytes:
    """Read in odd-sized chunks, hashing as it goes as a restore would."""
    parts = []
    with store.reader(name) as stream:
        while block := stream.read(chunk):
            parts.append(block)
    return b"".join(parts)


def check_contract(store: Store) -> None:
    """What the backup code relies on, whatever the target."""
    store.check()
    assert store.list() == {}
    big = os.urandom(3 * MiB + 12345)
    small = b"age-encryption.org/v1\n"
    write(store, BACKUP, big)
    write(store, PACK, small)
    assert store.list() == {BACKUP: len(big), PACK: len(small)}
    assert hashlib.sha256(read(store, BACKUP)).digest() == hashlib.sha256(big).digest()
    assert read(store, PACK) == small

    # Never overwritten.
    try:
        write(store, BACKUP, b"other")
    except StoreError as exc:
        assert "existe déjà" in str(exc)
    else:
        raise AssertionError("an existing backup was overwritten")
    assert store.list()[BACKUP] == len(big)

    # A run that fails midway leaves nothing that `list` would show.
    class Boom(Exception):
        pass

    try:
        with store.writer("packs/pack-20261122T030000000000Z-deadbeef.age") as out:
            out.write(os.urandom(MiB))
            raise Boom
    except Boom:
        pass
    assert store.list() == {BACKUP: len(big), PACK: len(small)}

    for invalid in ("../evil.age", ".hidden.age", "/absolute.age", "packs/../x.age", ""):
        try:
            with store.writer(invalid) as out:
                out.write(b"x")
        except StoreError:
            pass
        else:
            raise AssertionError(f"invalid name accepted: {invalid!r}")

    try:
        with store.reader("hygie-backup-19990101T000000000000Z.age"):
            pass
    except StoreError:
        pass
    else:
        raise AssertionError("reading a missing file did not fail")

    store.delete(PACK)
    store.delete(PACK)  # already gone: not an error
    assert store.list() == {BACKUP: len(big)}
    # Connections are released, and opened again when needed.
    store.close()
    assert store.list() == {BACKUP: len(big)}
    store.delete(BACKUP)
    assert store.list() == {}
    store.close()


__all__ = ["SftpServer", "S3Server", "s3_server", "sftp_server", "start_sshd", "stop", "check_contract"]
