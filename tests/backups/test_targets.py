"""Backup destinations: their encrypted secret, their stores, the actions that change them (each
journaled), the warnings, and the requests for a run."""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from hygie.backups import actions, targets
from hygie.backups.models import Run, RunKind, RunStatus, Snapshot, Target, TargetKind
from hygie.backups.stores import StoreError
from hygie.backups.stores.directory import DirectoryStore
from hygie.lib.crypto import DecryptionError
from hygie.worker.models import Job

pytestmark = pytest.mark.django_db

SECRET = "S3cr3t-Qui-Ne-Doit-Jamais-Sortir"


def _now():
    return timezone.now()


def _host_key() -> str:
    from hygie.backups.stores import sftp

    return sftp.generate_client_key()[1]


def _directory(tmp_path, name="Disque", **kw) -> Target:
    return actions.add_target(None, name=name, kind=TargetKind.DIRECTORY, config={"path": str(tmp_path)}, **kw)


def _s3(name="Objets", lock_days=0) -> Target:
    return actions.add_target(
        None, name=name, kind=TargetKind.S3,
        config={"endpoint_url": "https://s3.example.test", "bucket": "cabinet-hygie", "prefix": "hygie",
                "region": "fr-par", "access_key": "AKIAEXEMPLE", "lock_days": lock_days, "lock_mode": "COMPLIANCE"},
        secret={"secret_key": SECRET},
    )


def _sftp(name="NAS", password="") -> Target:
    return actions.add_target(
        None, name=name, kind=TargetKind.SFTP,
        config={"host": "nas.cabinet.test", "port": 2222, "username": "hygie", "path": "sauvegardes",
                "host_key": _host_key()},
        secret={"password": password} if password else {},
    )


# --- The secret -------------------------------------------------------------------------------


def test_the_secret_is_encrypted_and_bound_to_its_target():
    target = _s3()
    raw = bytes(target.secret)
    assert SECRET.encode() not in raw and b"secret_key" not in raw
    assert targets.get_secret(Target.objects.get(pk=target.pk)) == {"secret_key": SECRET}
    # Copied onto another destination's row, it does not open.
    other = _s3(name="Autre")
    other.secret = target.secret
    with pytest.raises(DecryptionError):
        targets.get_secret(other)


def test_an_empty_secret_is_empty(tmp_path):
    target = _directory(tmp_path)
    assert bytes(target.secret) == b"" and targets.get_secret(target) == {}


def test_sftp_gets_its_own_client_key_pair():
    target = _sftp(password="mot-de-passe-du-nas")
    secret = targets.get_secret(target)
    assert "PRIVATE KEY" in secret["private_key"] and secret["password"] == "mot-de-passe-du-nas"
    public = targets.client_public_key(target)
    assert public.startswith("ssh-ed25519 ") and "PRIVATE" not in public
    assert b"PRIVATE" not in bytes(target.secret) and b"mot-de-passe" not in bytes(target.secret)
    assert "private_key" not in target.config and "password" not in target.config


# --- Stores -----------------------------------------------------------------------------------


def test_it_opens_the_store_of_each_kind(tmp_path):
    directory = targets.open_store(_directory(tmp_path))
    assert isinstance(directory, DirectoryStore) and directory.root == tmp_path
    sftp = targets.open_store(_sftp(password="pw"))
    assert type(sftp).__name__ == "SftpStore"
    assert sftp.label == "sftp://hygie@nas.cabinet.test:2222/~/sauvegardes"
    s3 = targets.open_store(_s3(lock_days=30))
    assert type(s3).__name__ == "S3Store" and s3.lock_days == 30 and s3.bucket == "cabinet-hygie"
    assert SECRET not in s3.label


def test_an_unreadable_secret_is_a_store_error():
    target = _s3()
    target.secret = b"\x01" + b"\x00" * 60
    with pytest.raises(StoreError, match="illisible"):
        targets.open_store(target)


def test_descriptions_hold_no_secret(tmp_path):
    assert targets.describe(_directory(tmp_path)) == f"Dossier {tmp_path} (reste branché)"
    removable = _directory(tmp_path, name="USB", always_connected=False)
    assert "débranché après chaque sauvegarde" in targets.describe(removable)
    assert targets.describe(_sftp(password="pw")) == "sftp://hygie@nas.cabinet.test:2222/sauvegardes"
    s3 = targets.describe(_s3(lock_days=30))
    assert s3 == "s3://cabinet-hygie/hygie sur https://s3.example.test, verrouillage 30 jours (COMPLIANCE)"
    for target in Target.objects.all():
        assert SECRET not in targets.describe(target) and "pw" not in targets.describe(target).split()


# --- Warnings ---------------------------------------------------------------------------------


def test_it_warns_when_there_is_no_destination():
    assert targets.warnings() == ["Aucune destination : les sauvegardes ne sont pas faites."]


def test_it_warns_when_the_only_destination_stays_connected(tmp_path):
    _directory(tmp_path)
    [warning] = targets.warnings()
    assert "disque qui reste branché" in warning and "rançongiciel" in warning


def test_an_sftp_destination_ends_the_warning(tmp_path):
    _directory(tmp_path)
    _sftp()
    assert targets.warnings() == []


def test_a_removable_disk_counts_as_offsite(tmp_path):
    _directory(tmp_path, always_connected=False)
    assert targets.warnings() == []


def test_a_disabled_offsite_destination_does_not_count(tmp_path):
    _directory(tmp_path)
    actions.change_target(None, _sftp(), enabled=False)
    assert len(targets.warnings()) == 1
    Target.objects.update(enabled=False)
    assert targets.warnings() == ["Aucune destination active : les sauvegardes ne sont pas faites."]


# --- Actions, each journaled ------------------------------------------------------------------


def test_adding_a_destination_is_journaled(personas, tmp_path):
    target = actions.add_target(
        personas.adam, name="Disque", kind=TargetKind.DIRECTORY, config={"path": str(tmp_path)}, always_connected=True
    )
    event = Event.objects.get(action=Ev.BACKUP_TARGET_ADDED)
    assert event.actor == personas.adam and event.actor_role == "admin"
    assert event.target_type == "backups.target" and event.target_id == str(target.pk)
    assert event.details == {"target": str(target.public_id), "kind": "directory", "offsite": False}


def test_the_command_line_is_journaled_as_such():
    _s3()
    event = Event.objects.get(action=Ev.BACKUP_TARGET_ADDED)
    assert event.actor is None and event.actor_role == "cli"
    assert SECRET not in str(event.details)


@pytest.mark.parametrize(
    ("kind", "config", "secret", "message"),
    [
        ("directory", {"path": "sauvegardes"}, {}, "chemin absolu"),
        ("directory", {"path": ""}, {}, "Indiquez le dossier"),
        ("sftp", {"host": "nas", "port": 0, "username": "u", "host_key": "x"}, {}, "entre 1 et 65535"),
        ("sftp", {"host": "nas", "port": 22, "username": "u", "host_key": ""}, {}, "Récupérez la clé du serveur"),
        ("s3", {"endpoint_url": "ftp://s3.test", "bucket": "abc", "access_key": "k"}, {"secret_key": "s"}, "https://"),
        ("s3", {"endpoint_url": "https://s3.test", "bucket": "abc", "access_key": "k", "lock_days": 4000},
         {"secret_key": "s"}, "entre 0 et 3650"),
        ("s3", {"endpoint_url": "https://s3.test", "bucket": "abc", "access_key": "k", "lock_mode": "STRICT"},
         {"secret_key": "s"}, "COMPLIANCE ou GOVERNANCE"),
        ("s3", {"endpoint_url": "https://s3.test", "bucket": "abc", "access_key": "k"}, {}, "clé secrète"),
        ("ftp", {}, {}, "inconnu"),
    ],
)
def test_it_refuses_a_bad_configuration(kind, config, secret, message):
    with pytest.raises(actions.ActionError, match=message):
        actions.add_target(None, name="X", kind=kind, config=config, secret=secret)
    assert not Target.objects.exists()


def test_it_refuses_a_directory_inside_the_data_dir(settings):
    with pytest.raises(actions.ActionError, match="répertoire de données"):
        actions.add_target(None, name="X", kind="directory", config={"path": str(settings.DATA_DIR / "sauv")})


def test_names_are_unique_whatever_the_case(tmp_path):
    _directory(tmp_path)
    with pytest.raises(actions.ActionError, match="s'appelle déjà"):
        _directory(tmp_path, name="DISQUE")


def test_changing_a_destination_keeps_a_secret_left_blank(personas):
    target = _s3()
    actions.change_target(personas.adam, target, name="Objets S3", config={"bucket": "autre-compartiment"},
                          secret={"secret_key": ""})
    target.refresh_from_db()
    assert target.name == "Objets S3" and target.config["bucket"] == "autre-compartiment"
    assert targets.get_secret(target) == {"secret_key": SECRET}
    event = Event.objects.get(action=Ev.BACKUP_TARGET_CHANGED)
    assert event.details["fields"] == ["name", "bucket"] and event.actor == personas.adam

    actions.change_target(personas.adam, target, secret={"secret_key": "Nouveau-Secret"})
    target.refresh_from_db()
    assert targets.get_secret(target) == {"secret_key": "Nouveau-Secret"}
    last = Event.objects.filter(action=Ev.BACKUP_TARGET_CHANGED).order_by("-id").first()
    assert last.details["fields"] == ["secret"] and "Nouveau-Secret" not in str(last.details)


def test_changing_nothing_writes_nothing():
    target = _s3()
    actions.change_target(None, target, name="Objets", secret={"secret_key": SECRET})
    assert not Event.objects.filter(action=Ev.BACKUP_TARGET_CHANGED).exists()


def test_changing_sftp_keeps_the_client_key():
    target = _sftp()
    public, private = targets.client_public_key(target), targets.get_secret(target)["private_key"]
    actions.change_target(None, target, config={"port": 22, "public_key": "ssh-ed25519 AAAA pirate"})
    target.refresh_from_db()
    assert target.config["port"] == 22
    assert targets.client_public_key(target) == public and targets.get_secret(target)["private_key"] == private


def test_removing_a_destination_keeps_the_run_history(personas, tmp_path):
    target = _directory(tmp_path)
    other = _s3()
    run = Run.objects.create(kind=RunKind.BACKUP, target=target, status=RunStatus.SUCCESS, started_at=_now())
    Snapshot.objects.create(location=str(target.public_id), name="a.age", created_at=_now())
    Snapshot.objects.create(location=str(other.public_id), name="b.age", created_at=_now())
    actions.remove_target(personas.adam, target)
    assert not Target.objects.filter(pk=target.pk).exists()
    run.refresh_from_db()
    assert run.target is None and run.location == "Disque"
    assert list(Snapshot.objects.values_list("name", flat=True)) == ["b.age"]
    event = Event.objects.get(action=Ev.BACKUP_TARGET_REMOVED)
    assert event.details["snapshots"] == 1 and event.details["kind"] == "directory"


def test_testing_a_directory_writes_and_removes_a_probe(personas, tmp_path):
    target = _directory(tmp_path)
    assert actions.test_target(personas.adam, target) is None
    assert list(tmp_path.iterdir()) == []
    event = Event.objects.get(action=Ev.BACKUP_TARGET_TESTED)
    assert event.outcome == Outcome.SUCCESS and event.details["probe"] is True


def test_testing_a_missing_directory_says_why(personas, tmp_path):
    target = _directory(tmp_path / "absent")
    error = actions.test_target(personas.adam, target)
    assert "introuvable" in error
    assert Event.objects.get(action=Ev.BACKUP_TARGET_TESTED).outcome == Outcome.FAILURE


class _FakeStore:
    label = "faux"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.files: dict[str, bytes] = {}

    def check(self) -> None:
        self.calls.append("check")

    @contextlib.contextmanager
    def writer(self, name):
        self.calls.append("write")
        buf = io.BytesIO()
        yield buf
        self.files[name] = buf.getvalue()

    def list(self):
        self.calls.append("list")
        return {k: len(v) for k, v in self.files.items()}

    def delete(self, name):
        self.calls.append("delete")
        self.files.pop(name, None)

    def close(self) -> None:
        self.calls.append("close")


@pytest.mark.parametrize(("lock_days", "calls"), [(0, ["check", "write", "list", "delete", "close"]),
                                                  (30, ["check", "close"])])
def test_with_object_lock_no_probe_is_written(monkeypatch, lock_days, calls):
    store = _FakeStore()
    monkeypatch.setattr(targets, "open_store", lambda target: store)
    target = _s3(lock_days=lock_days)
    assert actions.test_target(None, target) is None
    assert store.calls == calls and store.files == {}
    assert Event.objects.get(action=Ev.BACKUP_TARGET_TESTED).details["probe"] is (lock_days == 0)


def test_an_unexpected_failure_names_its_class_only(monkeypatch):
    class Boom(Exception):
        pass

    def explode(target):
        raise Boom("secret://dans/le/message")

    monkeypatch.setattr(targets, "open_store", explode)
    error = actions.test_target(None, _s3())
    assert "Boom" in error and "secret://" not in error


# --- Requests ---------------------------------------------------------------------------------


def test_a_backup_request_queues_a_run_and_wakes_the_job(personas):
    Job.objects.create(name="backup", next_run_at=_now() + timedelta(hours=10))
    run = actions.request_backup(personas.adam)
    assert run.kind == RunKind.BACKUP and run.status == RunStatus.QUEUED and run.target is None
    assert Job.objects.get(name="backup").next_run_at <= _now()
    event = Event.objects.get(action=Ev.BACKUP_REQUESTED)
    assert event.details == {"kind": "backup", "run": str(run.public_id)} and event.actor == personas.adam


def test_a_second_request_is_refused_while_one_is_queued_or_running(personas):
    run = actions.request_backup(personas.adam)
    with pytest.raises(actions.ActionError, match="déjà demandée ou en cours"):
        actions.request_backup(personas.adam)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    with pytest.raises(actions.ActionError):
        actions.request_backup(None)
    # A restore test is another job: it may be asked for meanwhile.
    test = actions.request_test_restore(None)
    assert test.kind == RunKind.TEST_RESTORE and Job.objects.filter(name="backup-test-restore").exists()
    with pytest.raises(actions.ActionError, match="test de restauration est déjà"):
        actions.request_test_restore(None)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCESS)
    assert actions.request_backup(None).status == RunStatus.QUEUED
    assert Event.objects.filter(action=Ev.BACKUP_REQUESTED, actor_role="cli").count() == 2
