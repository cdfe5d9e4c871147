"""SftpStore against a real OpenSSH sshd on 127.0.0.1 (tests/backups/servers.py); and the
store contract shared with DirectoryStore."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import time
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hygie.backups.stores import StoreError
from hygie.backups.stores.directory import DirectoryStore
from hygie.backups.stores.sftp import SftpStore, fetch_host_key, fingerprint, generate_client_key
from tests.backups.servers import (
    BACKUP,
    PACK,
    MiB,
    SftpServer,
    check_contract,
    free_port,
    read,
    start_sshd,
    stop,
    write,
)


def remote_files(server: SftpServer) -> list[str]:
    """Everything on the server's disk under the target directory, hidden files included."""
    return sorted(str(p.relative_to(server.directory)) for p in server.directory.rglob("*") if p.is_file())


def test_contract_directory(tmp_path):
    check_contract(DirectoryStore(tmp_path))


def test_contract_sftp(sftp_server):
    check_contract(sftp_server.make_store())
    assert remote_files(sftp_server) == []


def test_round_trip_and_layout(sftp_server):
    store = sftp_server.make_store()
    data = os.urandom(5 * MiB + 7)
    write(store, BACKUP, data, chunk=1_000_003)
    write(store, PACK, b"")  # an empty file is a file too
    assert store.list() == {BACKUP: len(data), PACK: 0}
    assert read(store, BACKUP, chunk=4096) == data
    assert read(store, PACK) == b""
    # Plain files on the server, private to the account, nothing else left behind.
    assert remote_files(sftp_server) == [BACKUP, PACK]
    assert (sftp_server.directory / BACKUP).read_bytes() == data
    assert (sftp_server.directory / BACKUP).stat().st_mode & 0o777 == 0o600
    # One connection for all of this.
    transport = store._transport
    assert transport is not None and transport.is_active()
    store.list()
    assert store._transport is transport
    store.close()
    assert not transport.is_active()


def test_failed_write_leaves_no_partial_file(sftp_server):
    store = sftp_server.make_store()
    with pytest.raises(RuntimeError), store.writer(PACK) as out:
        out.write(os.urandom(2 * MiB))
        assert remote_files(sftp_server) == [f"packs/.{PACK.split('/')[1]}.partial"]
        raise RuntimeError("the archive could not be built")
    assert store.list() == {}
    assert remote_files(sftp_server) == []
    # The store is still usable afterwards.
    write(store, PACK, b"ok")
    assert store.list() == {PACK: 2}


def test_hidden_and_partial_files_are_not_listed(sftp_server):
    (sftp_server.directory / ".hygie-backup-20261122T020000000000Z.age.partial").write_bytes(b"half")
    (sftp_server.directory / ".hidden").mkdir()
    (sftp_server.directory / ".hidden" / "x.age").write_bytes(b"x")
    (sftp_server.directory / "packs").mkdir()
    (sftp_server.directory / "packs" / ".pack.age.partial").write_bytes(b"half")
    assert sftp_server.make_store().list() == {}


def test_refuses_to_overwrite(sftp_server):
    store = sftp_server.make_store()
    write(store, BACKUP, b"first")
    with pytest.raises(StoreError, match="existe déjà"):
        write(store, BACKUP, b"second")
    assert (sftp_server.directory / BACKUP).read_bytes() == b"first"
    assert remote_files(sftp_server) == [BACKUP]


def test_reader_closed_early_leaves_the_connection_usable(sftp_server):
    store = sftp_server.make_store()
    data = os.urandom(3 * MiB)
    write(store, BACKUP, data)
    with store.reader(BACKUP) as stream:
        assert stream.read(10) == data[:10]  # requests for the next MiB are in flight
    write(store, PACK, b"next")
    assert store.list() == {BACKUP: len(data), PACK: 4}
    assert read(store, BACKUP) == data


def test_missing_directory(sftp_server):
    store = sftp_server.make_store(path=str(sftp_server.directory / "absent"))
    for action in (store.check, store.list):
        with pytest.raises(StoreError, match="le dossier de destination n'existe pas"):
            action()
    with pytest.raises(StoreError, match="n'existe pas"):
        write(store, PACK, b"x")
    assert not (sftp_server.directory / "absent").exists()


def test_destination_is_a_file(sftp_server):
    (sftp_server.directory / "file").write_bytes(b"")
    with pytest.raises(StoreError, match="n'est pas un dossier"):
        sftp_server.make_store(path=str(sftp_server.directory / "file")).check()


def test_permission_denied(sftp_server):
    if os.geteuid() == 0:
        # Root is refused nothing on a normal directory; sysfs refuses creating files even to root.
        target = Path("/sys/kernel")
        try:
            (target / "hygie-probe").open("wb").close()
        except PermissionError:
            pass
        else:  # pragma: no cover - depends on the kernel
            (target / "hygie-probe").unlink()
            pytest.skip("sysfs accepts new files here")
    else:
        target = sftp_server.directory / "read-only"
        target.mkdir(mode=0o500)
    store = sftp_server.make_store(path=str(target))
    with pytest.raises(StoreError, match="pas accessible en écriture"):
        store.check()
    with pytest.raises(StoreError, match="permission refusée"):
        write(store, BACKUP, b"x")


def test_wrong_host_key_is_refused(sftp_server, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = (tmp_path / "other.pub").read_text().strip()
    store = sftp_server.make_store(host_key=other)
    with pytest.raises(StoreError) as caught:
        store.check()
    message = str(caught.value)
    assert "la clé du serveur a changé" in message and "possible interception" in message
    assert fingerprint(sftp_server.host_key) in message and fingerprint(other) in message
    assert store.label in message
    # Nothing was sent: not even authenticated.
    assert "Accepted publickey" not in sftp_server.log.read_text()


def test_pinned_key_of_another_type_is_refused(sftp_server):
    # The admin saved an ECDSA key; the server now only has an Ed25519 one.
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    with pytest.raises(StoreError, match="la clé du serveur a changé.*possible interception"):
        sftp_server.make_store(host_key=line).list()


def test_invalid_host_key_line(sftp_server):
    for line in ("", "not a key", "ssh-ed25519 !!!", "ssh-rsa " + sftp_server.host_key.split()[1]):
        with pytest.raises(StoreError, match="Clé du serveur SFTP invalide"):
            sftp_server.make_store(host_key=line).check()


def test_wrong_client_key_is_refused(sftp_server):
    other, _public = generate_client_key()
    store = sftp_server.make_store(private_key=other)
    with pytest.raises(StoreError) as caught:
        store.check()
    message = str(caught.value)
    assert "authentification refusée" in message and sftp_server.username in message
    assert "authorized_keys" in message
    assert "PRIVATE KEY" not in message and other.splitlines()[1] not in message


def test_password_is_never_shown(sftp_server):
    # The test server refuses passwords.
    store = sftp_server.make_store(private_key="", password="Motdepasse-tres-secret")
    with pytest.raises(StoreError, match="authentification refusée") as caught:
        store.check()
    assert "Motdepasse-tres-secret" not in str(caught.value)


def test_no_credentials(sftp_server):
    with pytest.raises(StoreError, match="ni clé privée ni mot de passe"):
        sftp_server.make_store(private_key="").check()


def test_unreadable_private_key(sftp_server):
    with pytest.raises(StoreError, match="Clé privée SFTP illisible"):
        sftp_server.make_store(private_key="-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n").check()


def test_refused_port_fails_fast():
    store = SftpStore(
        host="127.0.0.1",
        port=free_port(),
        username="u",
        path="/srv",
        host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        private_key=generate_client_key()[0],
    )
    started = time.monotonic()
    with pytest.raises(StoreError, match="connexion refusée") as caught:
        store.check()
    assert time.monotonic() - started < 3
    assert str(caught.value).startswith(f"sftp://u@127.0.0.1:{store.port}/srv :")


def test_silent_server_times_out():
    # A port that accepts connections but never speaks SSH.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        store = SftpStore(
            host="127.0.0.1",
            port=listener.getsockname()[1],
            username="u",
            path="hygie",
            host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
            private_key=generate_client_key()[0],
            timeout=1.0,
        )
        assert store.label == f"sftp://u@127.0.0.1:{store.port}/~/hygie"
        started = time.monotonic()
        with pytest.raises(StoreError, match="ne répond pas en SSH"):
            store.list()
        assert time.monotonic() - started < 5


def test_unknown_host_name():
    store = SftpStore(
        host="nas.invalid",
        username="u",
        path="/srv",
        host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        private_key=generate_client_key()[0],
    )
    with pytest.raises(StoreError, match="serveur introuvable"):
        store.check()


def test_server_disk_full(tmp_path):
    # Writes beyond 1 MiB fail on this server (file size limit): the SFTP server answers
    # "Failure", as it does for a full disk or an exhausted quota.
    server, process = start_sshd(tmp_path / "sshd", file_size_limit=MiB)
    try:
        store = server.make_store()
        write(store, PACK, os.urandom(MiB // 2))  # fits
        with pytest.raises(StoreError, match="disque plein ou quota") as caught:
            write(store, BACKUP, os.urandom(3 * MiB))
        assert store.label in str(caught.value)
        assert store.list() == {PACK: MiB // 2}
        assert remote_files(server) == [PACK]
        # The last writes of a file are only answered after the caller is done: still caught.
        with pytest.raises(StoreError, match="disque plein ou quota"):
            write(store, BACKUP, os.urandom(MiB + 1), chunk=MiB + 1)
        assert remote_files(server) == [PACK]
    finally:
        stop(process)


def test_connection_lost_midway_reconnects(sftp_server):
    store = sftp_server.make_store()
    write(store, PACK, b"x")
    store._transport.close()  # as if the server or the network had dropped it
    assert store.list() == {PACK: 1}


def test_delete(sftp_server):
    store = sftp_server.make_store()
    write(store, PACK, b"x")
    store.delete(PACK)
    store.delete(PACK)
    store.delete("hygie-backup-19990101T000000000000Z.age")
    assert store.list() == {}
    assert remote_files(sftp_server) == []


def test_generate_client_key_loads_in_paramiko():
    private, public = generate_client_key()
    assert private.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    kind, blob, comment = public.split()
    assert (kind, comment) == ("ssh-ed25519", "hygie-backup")
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(private))
    assert key.get_base64() == blob


def test_fetch_host_key_and_fingerprint(sftp_server, tmp_path):
    line = fetch_host_key(sftp_server.host, sftp_server.port, timeout=5)
    assert line.split()[:2] == sftp_server.host_key.split()[:2]
    pub = tmp_path / "key.pub"
    pub.write_text(sftp_server.host_key + "\n")
    keygen = subprocess.run(["ssh-keygen", "-l", "-f", str(pub)], check=True, capture_output=True, text=True)
    assert fingerprint(line) == keygen.stdout.split()[1]
    # The fetched line pins the server.
    check_store = sftp_server.make_store(host_key=line)
    check_store.check()
    check_store.close()


def test_fetch_host_key_unreachable():
    with pytest.raises(StoreError, match="connexion refusée"):
        fetch_host_key("127.0.0.1", free_port(), timeout=2)


def test_relative_path_is_under_home(sftp_server):
    name = f"hygie-test-{os.getpid()}-{time.monotonic_ns()}"  # not in the account's home
    store = sftp_server.make_store(path=name)
    assert store.label == f"sftp://{sftp_server.username}@127.0.0.1:{sftp_server.port}/~/{name}"
    with pytest.raises(StoreError, match="n'existe pas"):
        store.check()


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_pem_client_keys(sftp_server, kind):
    """Keys made elsewhere: PKCS#8 PEM ("BEGIN PRIVATE KEY"), RSA or ECDSA."""
    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    with (sftp_server.directory.parent / "authorized_keys").open("a") as authorized:
        authorized.write(public.decode() + "\n")
    store = sftp_server.make_store(private_key=pem)
    store.check()
    store.close()


def test_encrypted_client_key_is_refused(sftp_server):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.BestAvailableEncryption(b"phrase"),
    ).decode()
    with pytest.raises(StoreError, match="phrase secrète"):
        sftp_server.make_store(private_key=pem).check()


def test_tilde_path_is_relative_to_home(sftp_server):
    store = sftp_server.make_store(path="~/sauvegardes/")
    assert store.root == "sauvegardes"
    assert store.label.endswith(f":{sftp_server.port}/~/sauvegardes")
    assert sftp_server.make_store(path="~").label.endswith(f":{sftp_server.port}/~")


def test_remove_leftovers(sftp_server):
    store = sftp_server.make_store()
    write(store, PACK, b"kept")
    old = [
        sftp_server.directory / ".hygie-backup-x.age.partial",
        sftp_server.directory / "packs" / ".pack-x.age.partial",
    ]
    fresh = sftp_server.directory / "packs" / ".pack-y.age.partial"
    for path in [*old, fresh]:
        path.write_bytes(b"half")
    for path in old:
        os.utime(path, (time.time() - 7 * 3600,) * 2)
    assert store.remove_leftovers() == 2
    assert remote_files(sftp_server) == [f"packs/{fresh.name}", PACK]
