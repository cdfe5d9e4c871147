"""« Isoler Hygie » across two real `hygie serve` processes on one PostgreSQL database (issue 11):
a titulaire signed in on server A, the referent presses the switch on server B; A cuts her
session at her next click, a new login is refused on A and on B, an export is refused, the lift
(`hygie incident lift` at the machine) restores both servers, and `hygie audit verify` exits 0.

Nothing is shared between the two servers but the database: each has its own data directory
(files, caches), the key file is the practice's. PostgreSQL only: on SQLite one file has one
server (the single-process case is tests/browser/test_incidents.py). The suite's PostgreSQL run
(scripts/test.sh) always runs it — there is no skip on PostgreSQL, an unreachable server fails.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from hygie.lib import keyfile
from tests.accounts.flows import TOTP_PERIOD, totp_code
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]

# Run once against the fresh database, before the servers start: migrate, then a practice,
# alice (titulaire) and her patient, regine (referent), adam (admin); prints the TOTP secrets.
SEED = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygie.settings")
django.setup()
from hygie.core import startup
startup.prepare_database()
from hygie.practices.models import Practice
from tests.factories import enrol_totp, make_patient, make_user
Practice.objects.create(name="Cabinet des Lilas")
people = {name: make_user(name, role, mfa=False)
          for name, role in (("alice", "titulaire"), ("regine", "referent"), ("adam", "admin"))}
secrets = {name: enrol_totp(user) for name, user in people.items()}
patient = make_patient(people["alice"], birth_name="Moreau", first_names="Jeanne")
print(json.dumps({"secrets": secrets, "patient": str(patient.public_id)}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin_url(name: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new empty PostgreSQL database on the suite's server, dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("Deux serveurs sur une même base : PostgreSQL seulement (lancé par la suite PostgreSQL).")
    import psycopg

    name = f"hygie_two_servers_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _admin_url(name)
    finally:
        with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Practice:
    tmp: Path
    database_url: str
    secrets: dict[str, str] = field(default_factory=dict)
    patient: str = ""
    servers: list[subprocess.Popen] = field(default_factory=list)
    used_steps: dict[str, int] = field(default_factory=dict)

    def env(self, data_dir: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HYGIE_")}
        env.update(HYGIE_ENV="production", HYGIE_DATABASE_URL=self.database_url,
                   HYGIE_DATA_DIR=str(self.tmp / data_dir), HYGIE_KEY_FILE=str(self.tmp / "keys.json"),
                   HYGIE_EMAIL_BACKEND="", PYTHONPATH=str(ROOT))
        return env

    def hygie(self, *args: str) -> subprocess.CompletedProcess:
        """A `hygie` command at the machine, against the same database."""
        return subprocess.run([sys.executable, "-m", "hygie.cli", *args], cwd=ROOT, env=self.env("machine"),
                              capture_output=True, text=True, timeout=180)

    def serve(self, data_dir: str, *extra: str) -> str:
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hygie.cli", "serve", "--port", str(port), "--threads", "4", *extra],
            cwd=ROOT, env=self.env(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.servers.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/auth/login/", timeout=5) as response:  # noqa: S310 - http loopback
                    if response.status == 200:
                        return url
            except OSError:
                time.sleep(0.3)
        proc.kill()
        raise AssertionError(f"hygie serve ({data_dir}) n'a pas démarré : {proc.communicate()[1][-2000:]}")

    def code(self, name: str) -> str:
        """A TOTP code for `name`, never one of a time step already used (each code works once)."""
        step = int(time.time() // TOTP_PERIOD)
        if TOTP_PERIOD - time.time() % TOTP_PERIOD < 3 or step <= self.used_steps.get(name, -1):
            time.sleep(TOTP_PERIOD - time.time() % TOTP_PERIOD + 0.1)
            step = int(time.time() // TOTP_PERIOD)
        self.used_steps[name] = step
        return totp_code(self.secrets[name])


@pytest.fixture
def practice(tmp_path, fresh_database) -> Iterator[Practice]:
    keyfile.create(tmp_path / "keys.json")
    p = Practice(tmp_path, fresh_database)
    seeded = subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=p.env("machine"), capture_output=True,
                            text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    data = json.loads(seeded.stdout.strip().splitlines()[-1])
    p.secrets, p.patient = data["secrets"], data["patient"]
    try:
        yield p
    finally:
        for proc in p.servers:
            proc.terminate()
        for proc in p.servers:
            try:
                proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def _sign_in(page: Page, practice: Practice, name: str) -> None:
    page.goto("/auth/login/")
    page.fill("#id_login", name)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/auth/2fa/authenticate/")
    page.fill("#id_code", practice.code(name))
    page.locator("#id_code").press("Enter")
    expect(page.locator("h1")).to_contain_text("Bonjour")


def _login_refused(page: Page, name: str) -> None:
    page.goto("/auth/login/")
    expect(page.locator("#lockdown-banner")).to_contain_text("Hygie est isolé")
    page.fill("#id_login", name)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("form")).to_contain_text("les connexions sont suspendues")
    assert "/auth/2fa/" not in page.url


def test_two_servers_one_database_the_switch_pressed_on_b_cuts_a_and_the_lift_restores_both(browser: Browser,
                                                                                             practice):
    server_a = practice.serve("server-a")
    server_b = practice.serve("server-b", "--no-worker")
    errors: list[str] = []

    def page_on(base_url: str) -> Page:
        ctx = browser.new_context(base_url=base_url, locale="fr-FR", viewport={"width": 1280, "height": 800})
        ctx.set_default_timeout(20_000)
        p = ctx.new_page()
        p.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        return p

    alice_a, regine_b = page_on(server_a), page_on(server_b)
    export = reverse("patient_access_report_pdf", kwargs={"public_id": practice.patient})
    _sign_in(alice_a, practice, "alice")
    response = alice_a.request.get(export)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"

    # The referent presses the switch on server B.
    _sign_in(regine_b, practice, "regine")
    regine_b.get_by_role("link", name="Incidents").click()
    regine_b.fill("#id_reason", "Rançongiciel sur le poste de l'accueil")
    regine_b.locator("#isolate").click()
    expect(regine_b.locator("#lockdown-banner")).to_contain_text("Hygie est isolé")

    # alice's open session on server A ends at her next click; the login page says why.
    alice_a.goto("/patients/")
    expect(alice_a.locator("h1")).to_have_text("Connexion")
    expect(alice_a.locator("#lockdown-banner")).to_contain_text("Hygie est isolé")
    # A new login is refused on A and on B; the export is refused (no session, no file).
    _login_refused(alice_a, "alice")
    alice_b = page_on(server_b)
    _login_refused(alice_b, "alice")
    for p in (alice_a, alice_b):
        response = p.request.get(export, max_redirects=0)
        assert response.status in (302, 423) and "pdf" not in response.headers.get("content-type", "")
    status = practice.hygie("incident", "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["lockdown"] is not None

    # The administrator at the machine lifts it: both servers serve again.
    lifted = practice.hygie("incident", "lift", "--json")
    assert lifted.returncode == 0, lifted.stderr
    _sign_in(alice_a, practice, "alice")
    response = alice_a.request.get(export)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    _sign_in(regine_b, practice, "regine")
    regine_b.get_by_role("link", name="Incidents").click()
    expect(regine_b.locator("#switch-title")).to_have_text("Interrupteur d'urgence")

    verified = practice.hygie("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert errors == []
    for proc in practice.servers:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
