"""The backups pages: administrator only, re-authentication for changing destinations, secrets
never shown back, runs asked for, progress bar data, and the dashboard panel."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from hygie.accounts import session
from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from hygie.backups import targets
from hygie.backups.models import Run, RunKind, RunStatus, Target, TargetKind
from tests.accounts.flows import reauthenticate

pytestmark = pytest.mark.django_db

SECRET = "Cle-Secrete-S3-A-Ne-Jamais-Afficher"
PASSWORD = "Mot-De-Passe-SFTP-Invisible"
INDEX = reverse("backups")
CREATE = reverse("backup_target_create")


def _page(response) -> str:
    return unescape(response.content.decode())


def _host_key() -> str:
    from hygie.backups.stores import sftp

    return sftp.generate_client_key()[1]


@pytest.fixture
def admin(personas, login):
    client = login(personas.adam)
    assert reauthenticate(client).status_code == 302
    return client


def _directory(tmp_path, name="Disque USB") -> Target:
    return Target.objects.create(name=name, kind=TargetKind.DIRECTORY, config={"path": str(tmp_path)})


def _s3_post(**extra) -> dict:
    return {
        "kind": "s3", "name": "Stockage S3", "enabled": "on", "endpoint_url": "https://s3.fr-par.example.test",
        "region": "fr-par", "bucket": "cabinet-hygie", "prefix": "hygie", "access_key": "AKIAEXEMPLE",
        "secret_key": SECRET, "lock_days": "30", "lock_mode": "COMPLIANCE", **extra,
    }


# --- Who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "remi", "sophie", "fabien", "regine"])
def test_other_roles_get_403(who, personas, login, tmp_path):
    client = login(getattr(personas, who))
    target = _directory(tmp_path)
    for url in (INDEX, CREATE, reverse("backup_target_detail", args=[target.public_id]), reverse("backup_progress")):
        assert client.get(url).status_code == 403
    for name in ("backup_request", "restore_test_request"):
        assert client.post(reverse(name)).status_code == 403
    assert client.post(reverse("backup_target_remove", args=[target.public_id])).status_code == 403
    assert Target.objects.count() == 1 and not Run.objects.exists()


def test_anonymous_is_sent_to_the_login(client):
    response = client.get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ["backup_target_create", "backup_target_edit", "backup_target_remove"])
def test_changing_destinations_asks_to_reauthenticate(name, personas, login, tmp_path):
    client = login(personas.adam)
    target = _directory(tmp_path)
    url = reverse(name) if name == "backup_target_create" else reverse(name, args=[target.public_id])
    for response in (client.get(url), client.post(url, {"kind": "directory", "name": "X", "path": str(tmp_path)})):
        assert response.status_code == 302 and "/auth/reauthenticate/" in response["Location"]
    assert Target.objects.count() == 1 and not Event.objects.filter(action__startswith="backup:target").exists()


def test_the_page_and_the_navigation_for_the_admin(personas, login):
    page = login(personas.adam).get(INDEX).content.decode()
    assert f'href="{INDEX}"' in page  # in the top navigation
    for text in ("Sauvegarder maintenant", "Tester une restauration", "Aucune destination : les sauvegardes",
                 "Dernière sauvegarde", "Dernière copie hors site", "Dernier test de restauration"):
        assert text in page


def test_no_navigation_link_for_other_roles(personas, login):
    assert f'href="{INDEX}"' not in login(personas.regine).get("/").content.decode()


# --- Destinations -----------------------------------------------------------------------------


def test_the_admin_adds_a_directory(admin, personas, tmp_path):
    assert "?type=sftp" in admin.get(CREATE).content.decode()
    assert 'name="path"' in admin.get(CREATE + "?type=directory").content.decode()
    response = admin.post(CREATE, {"kind": "directory", "name": "Disque USB", "enabled": "on", "path": str(tmp_path),
                                   "always_connected": "no"})
    target = Target.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("backup_target_detail",
                                                                            args=[target.public_id])
    assert target.config == {"path": str(tmp_path)} and not target.always_connected and target.offsite
    event = Event.objects.get(action=Ev.BACKUP_TARGET_ADDED)
    assert event.actor == personas.adam and event.details["kind"] == "directory"
    page = admin.get(INDEX).content.decode()
    assert "Disque USB" in page and "débranché après chaque sauvegarde" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "directory", "name": "D", "path": "relatif/dossier", "always_connected": "yes"}, "chemin absolu"),
        ({"kind": "sftp", "name": "N", "host": "nas", "port": "0", "username": "u"}, "entre 1 et 65535"),
        ({"kind": "sftp", "name": "N", "host": "nas", "port": "70000", "username": "u"}, "entre 1 et 65535"),
        (_s3_post(endpoint_url="ftp://s3.example.test"), "https://"),
        (_s3_post(lock_days="5000"), "entre 0 et 3650"),
        (_s3_post(lock_mode="STRICT"), "Sélectionnez un choix valide"),
        (_s3_post(secret_key=""), "Ce champ est obligatoire"),
    ],
)
def test_the_forms_explain_what_is_wrong(admin, data, message):
    response = admin.post(CREATE, data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Target.objects.exists()


def test_names_are_unique(admin, tmp_path):
    _directory(tmp_path, name="Disque USB")
    response = admin.post(CREATE, {"kind": "directory", "name": "disque usb", "path": str(tmp_path),
                                   "always_connected": "yes"})
    assert "Une destination porte déjà ce nom." in response.content.decode()


def test_an_s3_secret_is_stored_encrypted_and_never_shown(admin):
    response = admin.post(CREATE, _s3_post())
    assert response.status_code == 302
    target = Target.objects.get()
    assert SECRET.encode() not in bytes(target.secret) and targets.get_secret(target) == {"secret_key": SECRET}
    assert SECRET not in json.dumps(target.config)
    for url in (INDEX, reverse("backup_target_detail", args=[target.public_id]),
                reverse("backup_target_edit", args=[target.public_id])):
        assert SECRET not in admin.get(url).content.decode()
    assert "AKIAEXEMPLE" in admin.get(reverse("backup_target_edit", args=[target.public_id])).content.decode()
    assert SECRET not in json.dumps([e.details for e in Event.objects.all()])


def test_a_secret_left_blank_stays_unchanged(admin):
    admin.post(CREATE, _s3_post())
    target = Target.objects.get()
    url = reverse("backup_target_edit", args=[target.public_id])
    edit = admin.get(url).content.decode()
    assert re.search(r'<input type="password" name="secret_key"[^>]*>', edit)
    assert "Laisser vide pour garder la valeur enregistrée." in edit
    response = admin.post(url, _s3_post(name="S3 du cabinet", secret_key="", bucket="autre-compartiment"))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.name == "S3 du cabinet" and target.config["bucket"] == "autre-compartiment"
    assert targets.get_secret(target) == {"secret_key": SECRET}
    event = Event.objects.get(action=Ev.BACKUP_TARGET_CHANGED)
    assert event.details["fields"] == ["name", "bucket"]


def test_sftp_host_key_is_fetched_then_confirmed(admin, monkeypatch):
    host_key = _host_key()
    seen = []
    monkeypatch.setattr(targets, "fetch_host_key", lambda host, port: seen.append((host, port)) or host_key)
    data = {"kind": "sftp", "name": "NAS", "enabled": "on", "host": "nas.cabinet.test", "port": "2222",
            "username": "hygie", "path": "sauvegardes", "password": PASSWORD}
    fetched = admin.post(CREATE, {**data, "fetch_host_key": "1"})
    page = fetched.content.decode()
    assert fetched.status_code == 200 and seen == [("nas.cabinet.test", 2222)]
    assert targets.fingerprint(host_key) in page and host_key.split()[1] in page
    assert PASSWORD not in page and not Target.objects.exists()
    # Not saved before the administrator confirms the fingerprint.
    refused = admin.post(CREATE, {**data, "host_key": host_key})
    assert "Confirmez que vous avez vérifié l'empreinte" in _page(refused)
    assert PASSWORD not in refused.content.decode() and not Target.objects.exists()
    saved = admin.post(CREATE, {**data, "host_key": host_key, "confirm_host_key": "on"})
    assert saved.status_code == 302
    target = Target.objects.get()
    assert target.config["host_key"] == host_key and target.config["port"] == 2222
    secret = targets.get_secret(target)
    assert secret["password"] == PASSWORD and "PRIVATE KEY" in secret["private_key"]
    detail = admin.get(saved["Location"]).content.decode()
    assert targets.client_public_key(target) in detail and targets.fingerprint(host_key) in detail
    assert PASSWORD not in detail and "PRIVATE" not in detail
    assert PASSWORD not in admin.get(reverse("backup_target_edit", args=[target.public_id])).content.decode()


def test_an_unreachable_sftp_server_is_explained(admin, monkeypatch):
    from hygie.backups.stores import StoreError

    def unreachable(host, port):
        raise StoreError("Serveur SFTP injoignable : nas.cabinet.test:22.")

    monkeypatch.setattr(targets, "fetch_host_key", unreachable)
    page = admin.post(CREATE, {"kind": "sftp", "name": "NAS", "host": "nas.cabinet.test", "port": "22",
                               "username": "hygie", "fetch_host_key": "1"}).content.decode()
    assert "Serveur SFTP injoignable" in page and not Target.objects.exists()


def test_a_changed_host_key_must_be_confirmed_again(admin):
    target = targets_add_sftp()
    url = reverse("backup_target_edit", args=[target.public_id])
    data = {"kind": "sftp", "name": "NAS", "enabled": "on", "host": "nas.cabinet.test", "port": "22",
            "username": "hygie", "path": ""}
    # Unchanged key: no confirmation needed.
    assert admin.post(url, {**data, "host_key": target.config["host_key"]}).status_code == 302
    other = _host_key()
    assert "Confirmez" in admin.post(url, {**data, "host_key": other}).content.decode()
    assert admin.post(url, {**data, "host_key": other, "confirm_host_key": "on"}).status_code == 302
    target.refresh_from_db()
    assert target.config["host_key"] == other


def targets_add_sftp() -> Target:
    from hygie.backups import actions

    return actions.add_target(None, name="NAS", kind="sftp", config={
        "host": "nas.cabinet.test", "port": 22, "username": "hygie", "path": "", "host_key": _host_key()})


def test_the_admin_removes_a_destination(admin, personas, tmp_path):
    target = _directory(tmp_path)
    url = reverse("backup_target_remove", args=[target.public_id])
    assert "Retirer « Disque USB » ?" in admin.get(url).content.decode()
    assert admin.post(url)["Location"] == INDEX
    assert not Target.objects.exists()
    assert Event.objects.get(action=Ev.BACKUP_TARGET_REMOVED).actor == personas.adam


def test_the_admin_tests_a_destination(admin, tmp_path):
    good, bad = _directory(tmp_path), _directory(tmp_path / "absent", name="Absent")
    response = admin.post(reverse("backup_target_test", args=[good.public_id]), follow=True)
    assert "La destination fonctionne" in response.content.decode()
    response = admin.post(reverse("backup_target_test", args=[bad.public_id]), follow=True)
    assert "Échec du test : Dossier de destination introuvable" in response.content.decode()
    tested = Event.objects.filter(action=Ev.BACKUP_TARGET_TESTED).order_by("id")
    assert list(tested.values_list("outcome", flat=True)) == [Outcome.SUCCESS, Outcome.FAILURE]


def test_an_unknown_destination_is_404(admin):
    url = reverse("backup_target_detail", args=["7b0f7c52-5a43-4f55-9a56-7a0d1d3c0000"])
    assert admin.get(url).status_code == 404


# --- Runs -------------------------------------------------------------------------------------


def test_back_up_now(admin, personas):
    response = admin.post(reverse("backup_request"), follow=True)
    assert "Sauvegarde demandée" in response.content.decode()
    run = Run.objects.get()
    assert run.kind == RunKind.BACKUP and run.status == RunStatus.QUEUED
    page = admin.post(reverse("backup_request"), follow=True).content.decode()
    assert "déjà demandée ou en cours" in page and Run.objects.count() == 1
    # The run under way has its progress bar, and the page its script.
    assert f'data-run="{run.public_id}"' in page and "backups/progress.js" in page
    assert re.search(r'<button type="submit" disabled>\s*Sauvegarder maintenant', page)


def test_test_a_restore_now(admin):
    assert "Test de restauration demandé" in admin.post(reverse("restore_test_request"), follow=True).content.decode()
    assert Run.objects.get().kind == RunKind.TEST_RESTORE


def test_the_last_runs_are_listed(admin, tmp_path):
    target = _directory(tmp_path)
    now = timezone.now()
    two_hours_ago = now - timedelta(hours=2)
    Run.objects.create(kind=RunKind.BACKUP, target=target, status=RunStatus.FAILURE, started_at=two_hours_ago,
                       finished_at=two_hours_ago, message="Disque plein : libérez de la place.")
    for n in range(25):
        Run.objects.create(kind=RunKind.BACKUP, target=target, status=RunStatus.SUCCESS,
                           started_at=now - timedelta(days=n + 1), finished_at=now - timedelta(days=n + 1),
                           bytes_total=1_500_000)
    page = admin.get(INDEX).content.decode()
    assert "Disque plein : libérez de la place." in page and "1,4" in page
    assert len(re.findall(r'<tr id="run-', page)) == 20
    assert "backups/progress.js" not in page  # nothing under way


def test_the_progress_data(admin, tmp_path):
    target = _directory(tmp_path)
    now = timezone.now()
    running = Run.objects.create(kind=RunKind.BACKUP, target=target, location="/srv/secret-path",
                                 status=RunStatus.RUNNING, started_at=now, bytes_total=1000, bytes_done=250)
    Run.objects.create(kind=RunKind.BACKUP, target=target, status=RunStatus.SUCCESS, started_at=now - timedelta(days=1))
    response = admin.get(reverse("backup_progress"))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json() == {"runs": [{"id": str(running.public_id), "kind": "backup", "status": "running",
                                         "bytes_done": 250, "bytes_total": 1000}]}
    assert str(tmp_path) not in response.content.decode() and "secret-path" not in response.content.decode()


def test_polling_the_progress_is_not_activity(admin):
    session_before = admin.session[session.SEEN_AT]
    s = admin.session
    s[session.SEEN_AT] = session_before - 60
    s.save()
    admin.get(reverse("backup_progress"), HTTP_X_HYGIE_PASSIVE="1", HTTP_X_REQUESTED_WITH="fetch")
    assert admin.session[session.SEEN_AT] == session_before - 60
    admin.get(reverse("backup_progress"))
    assert admin.session[session.SEEN_AT] > session_before - 60


def test_the_page_in_english(personas, login):
    page = login(personas.adam).get(INDEX, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Back up now" in page and "Sauvegarder maintenant" not in page


# --- Dashboard --------------------------------------------------------------------------------


def test_the_admin_sees_the_panel_with_its_buttons(personas, login):
    page = login(personas.adam).get("/").content.decode()
    panel = page[page.index('id="backups-panel"'):]
    assert "Dernière sauvegarde" in panel and f'href="{INDEX}"' in panel and "Sauvegarder maintenant" in panel
    assert "severity-critical" in page[page.index('id="backups-panel"') - 60:page.index('id="backups-panel"')]


def test_the_referent_sees_the_status_only(personas, login):
    page = login(personas.regine).get("/").content.decode()
    assert 'id="backups-panel"' in page and "Dernier test de restauration" in page
    assert "Sauvegarder maintenant" not in page and reverse("backup_request") not in page


@pytest.mark.parametrize("who", ["sophie", "alice", "fabien"])
def test_others_do_not_see_the_panel(who, personas, login):
    assert 'id="backups-panel"' not in login(getattr(personas, who)).get("/").content.decode()


def test_the_panel_is_not_red_when_all_is_recent(personas, login, tmp_path):
    Target.objects.create(name="NAS", kind=TargetKind.SFTP, config={"host": "nas"})
    now = timezone.now()
    for kind, offsite in ((RunKind.BACKUP, True), (RunKind.TEST_RESTORE, False)):
        Run.objects.create(kind=kind, status=RunStatus.SUCCESS, offsite=offsite, started_at=now, finished_at=now)
    page = login(personas.regine).get("/").content.decode()
    start = page.index('id="backups-panel"')
    assert "severity-critical" not in page[start - 60:start] and "badge ok" in page[start:]
