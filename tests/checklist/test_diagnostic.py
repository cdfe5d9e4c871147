"""`hygie diagnostic`: run for real on this Linux machine, with real processes and files where a
probe needs one. A fake host answers only what cannot exist here (BitLocker, FileVault, a
Windows firewall), and says so."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.checklist import board
from hygie.checklist.models import Diagnostic
from hygie.lib import hostprobe
from hygie.lib.hostprobe import OK, TODO, UNKNOWN
from tests.checklist.conftest import item

ROOT = Path(__file__).resolve().parents[2]
HYGIE = Path(sys.executable).parent / "hygie"
PROBES = ["disk_encryption", "data_dir_encryption", "security_updates", "firewall", "screen_lock",
          "remote_assistance", "time_sync", "key_file", "serve_tls"]


def test_it_runs_on_this_machine_without_django_and_prints_json(tmp_path):
    # A workstation: no database, no settings, no key file. The CLI must not even import Django.
    env = {**os.environ, "HYGIE_DATA_DIR": str(tmp_path / "nowhere"), "HYGIE_KEY_FILE": str(tmp_path / "none.json"),
           "HYGIE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([str(HYGIE), "diagnostic", "--json"], capture_output=True, env=env, timeout=120)  # noqa: S603
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["system"] == "Linux" and report["host"] == socket.gethostname()
    assert [c["id"] for c in report["checks"]] == PROBES
    for check in report["checks"]:
        assert check["status"] in (OK, TODO, UNKNOWN) and check["detail"] and check["label"]
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["key_file"]["status"] == UNKNOWN  # no key file here: unknown, never ok
    assert by_id["data_dir_encryption"]["status"] == UNKNOWN


def test_it_prints_a_french_report_and_refuses_an_unknown_flag():
    done = subprocess.run([str(HYGIE), "diagnostic"], capture_output=True, timeout=120)  # noqa: S603
    text = done.stdout.decode()
    assert done.returncode == 0 and "Diagnostic de sécurité de" in text and "Chiffrement du disque" in text
    bad = subprocess.run([str(HYGIE), "diagnostic", "--vite"], capture_output=True, timeout=60)  # noqa: S603
    assert bad.returncode == 2 and "option inconnue" in bad.stderr.decode()


def test_key_file_permissions_on_a_real_file(tmp_path):
    host = hostprobe.Host()
    key = tmp_path / "keys.json"
    key.write_text("{}")
    key.chmod(0o644)
    assert hostprobe.key_file(host, key, tmp_path / "var").status == TODO
    key.chmod(0o600)
    assert hostprobe.key_file(host, key, tmp_path / "var").status == OK
    # Inside the data directory: a copy of the data would carry the keys.
    inside = tmp_path / "var"
    inside.mkdir()
    (inside / "keys.json").write_text("{}")
    (inside / "keys.json").chmod(0o600)
    assert hostprobe.key_file(host, inside / "keys.json", inside).status == TODO


@pytest.fixture
def program(tmp_path):
    """Start a real process under a given name (a copy of sleep, or a small Python server)."""
    started: list[subprocess.Popen] = []

    def start(argv: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, **kwargs)  # noqa: S603
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def _wait_for_exec(pid: int, program: str) -> None:
    """Popen returns once forked: wait until the child runs `program` (its /proc cmdline)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    while not cmdline.read_bytes().startswith(program.encode()):
        os.sched_yield()


def test_it_sees_a_remote_assistance_tool_running(tmp_path, program):
    host = hostprobe.Host()
    assert hostprobe.remote_assistance(host).status == OK
    anydesk = tmp_path / "anydesk"
    anydesk.write_bytes(Path("/bin/sleep").read_bytes())
    anydesk.chmod(0o755)
    proc = program([str(anydesk), "30"])
    _wait_for_exec(proc.pid, str(anydesk))
    finding = hostprobe.remote_assistance(host)
    assert finding.status == TODO and "AnyDesk" in finding.detail


SERVER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[2], 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)
"""


@pytest.mark.parametrize(("address", "base_url", "expected"), [
    ("0.0.0.0", "http://cabinet.local:8000", TODO),  # noqa: S104 - the case the probe must catch
    ("0.0.0.0", "https://cabinet.example.org", OK),  # noqa: S104
    ("127.0.0.1", "http://127.0.0.1:8000", OK),
])
def test_it_sees_hygie_serve_listening_beyond_loopback_without_tls(tmp_path, program, address, base_url, expected):
    # A process whose command line is « … hygie serve », listening for real.
    script = tmp_path / "hygie"
    script.write_text(SERVER)
    proc = program([sys.executable, str(script), "serve", address],
                   env={**os.environ, "HYGIE_BASE_URL": base_url})
    port = proc.stdout.readline().decode().strip()
    assert port.isdigit()
    finding = hostprobe.serve_tls(hostprobe.Host())
    assert finding.status == expected, finding.detail
    if expected == TODO:
        assert f"0.0.0.0:{port}" in finding.detail


def test_no_server_running_is_unknown():
    host = hostprobe.Host()
    if any(re.search(r"hygie(\s+\S+)*\s+serve", cmd) for _, cmd in host.processes() or []):
        pytest.skip("un « hygie serve » tourne déjà sur cette machine (hors de ce test)")
    assert hostprobe.serve_tls(host).status == UNKNOWN


class FakeHost(hostprobe.Host):
    """Answers of systems that cannot run here (Windows, macOS): a fake, on purpose."""

    def __init__(self, system: str, answers: dict[str, tuple[int, str] | None]) -> None:
        self._system, self.answers = system, answers

    def system(self) -> str:
        return self._system

    def run(self, argv: list[str]) -> tuple[int, str] | None:
        return self.answers.get(argv[0])


BITLOCKER_ON = """Volume C: [OS]
    Conversion Status:    Fully Encrypted
    Percentage Encrypted: 100.0%
    Protection Status:    Protection On
"""
BITLOCKER_OFF = BITLOCKER_ON.replace("Protection On", "Protection Off").replace("Fully Encrypted", "Fully Decrypted")


@pytest.mark.parametrize(("system", "answers", "expected"), [
    ("Windows", {"manage-bde": (0, BITLOCKER_ON)}, OK),
    ("Windows", {"manage-bde": (0, BITLOCKER_OFF)}, TODO),
    ("Windows", {"manage-bde": None}, UNKNOWN),
    ("Windows", {"manage-bde": (1, "ERROR: An attempt to access a required resource was denied.")}, UNKNOWN),
    ("Darwin", {"fdesetup": (0, "FileVault is On.\n")}, OK),
    ("Darwin", {"fdesetup": (0, "FileVault is Off.\n")}, TODO),
])
def test_it_reads_bitlocker_and_filevault(system, answers, expected):
    assert hostprobe.disk_encryption(FakeHost(system, answers)).status == expected


def test_it_reads_the_windows_firewall_and_screen_saver():
    on = "Domain Profile Settings:\nState                                 ON\nPrivate Profile Settings:\nState  ON\n"
    assert hostprobe.firewall(FakeHost("Windows", {"netsh": (0, on)})).status == OK
    off = on.replace("ON\nPrivate", "OFF\nPrivate")
    assert hostprobe.firewall(FakeHost("Windows", {"netsh": (0, off)})).status == TODO
    reg = "    ScreenSaveTimeOut    REG_SZ    900\n"
    finding = hostprobe.screen_lock(FakeHost("Windows", {"reg": (0, reg)}))
    assert finding.status == TODO and "15 min" in finding.detail
    assert hostprobe.screen_lock(FakeHost("Windows", {"reg": (0, reg.replace("900", "300"))})).status == OK


def test_a_check_that_cannot_be_made_is_unknown_never_ok():
    nothing = FakeHost("Plan9", {})
    for probe in (hostprobe.disk_encryption, hostprobe.security_updates, hostprobe.firewall, hostprobe.screen_lock,
                  hostprobe.time_sync):
        assert probe(nothing).status == UNKNOWN, probe.__name__


@pytest.mark.django_db
def test_on_the_server_record_feeds_the_checklist_dated(personas, capsys):
    assert item(board.evaluate(), "serveur-horloge").status == UNKNOWN
    call_command("diagnostic", "--record", "--json")
    report = json.loads(capsys.readouterr().out)
    diagnostic = Diagnostic.objects.get()
    assert [c["id"] for c in diagnostic.checks] == PROBES == [c["id"] for c in report["checks"]]
    event = Event.objects.get(action=Ev.DIAGNOSTIC_RECORDED)
    assert set(event.details) == {"ok", "todo", "unknown"}
    state = board.evaluate()
    today = timezone.localdate().strftime("%d/%m/%Y")
    for item_id, probe in (("serveur-horloge", "time_sync"), ("serveur-fichier-cles", "key_file"),
                           ("serveur-https", "serve_tls")):
        row = item(state, item_id)
        assert row.status == diagnostic.status_of(probe)[0]
        assert f"Serveur, le {today}" in row.detail
    # The test settings' key file is 0600 outside the data dir.
    assert item(state, "serveur-fichier-cles").status == OK
    # This machine's disk is not encrypted: the declared item turns "to do" even if declared.
    if diagnostic.status_of("disk_encryption")[0] == TODO:
        assert item(state, "chiffrement-postes").status == TODO


@pytest.mark.django_db
def test_a_diagnostic_older_than_30_days_says_nothing_any_more(personas):
    from datetime import timedelta

    from hygie.checklist import actions

    actions.record_diagnostic(hostprobe.Report("srv", "Linux", "x", [hostprobe.Finding("time_sync", "H", OK, "NTP")]))
    assert item(board.evaluate(), "serveur-horloge").status == OK
    later = timezone.now() + timedelta(days=31)
    assert item(board.evaluate(now=later), "serveur-horloge").status == UNKNOWN
