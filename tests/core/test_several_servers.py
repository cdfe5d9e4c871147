"""Two app servers ("hosts" a and b) behind one address: PostgreSQL, Redis, documents on S3
(tests/cluster.py). A user moves from one to the other without noticing; what protects an
account is counted across both; a document stored through one is served by the other; the
worker's jobs run once across hosts."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from tests.cluster import HYGIE, ROOT, cluster, log_in, totp  # noqa: F401 - cluster is a fixture
from tests.keys.test_leak import Browser, _pdf_with

pytestmark = pytest.mark.usefixtures("cluster")


@pytest.fixture(scope="module")
def servers(cluster):  # noqa: F811
    return cluster.start_server("a"), cluster.start_server("b")


def _on(browser: Browser, server) -> Browser:
    browser.base = server.base  # same cookie jar: cookies are per host name, not per port
    return browser


def test_a_session_opened_on_one_server_works_on_the_other(cluster, servers):  # noqa: F811
    a, b = servers
    browser = Browser(a.base)
    url, page = log_in(browser, cluster.accounts["dr.martin"])
    assert "/auth/" not in url, page[:300]
    url, page = _on(browser, b).get("/patients/")
    assert url.endswith("/patients/") and "Patients" in page
    # Locking the session on b locks it on a (the idle lock lives in the session, in the database).
    _, page = browser.get("/")
    browser.post("/session/verrouiller/", {}, page)
    url, _ = _on(browser, a).get("/patients/")
    assert "/session/verrouillee/" in url


def test_a_second_factor_code_used_on_one_server_is_refused_on_the_other(cluster, servers):  # noqa: F811
    a, b = servers
    account = cluster.accounts["kine.nguyen"]
    # A code well inside its 30 s step, so that both logins use the same one.
    while time.time() % 30 > 20:
        time.sleep(1)
    code = totp(account["totp_secret"])
    url, _ = log_in(Browser(a.base), account, code)
    assert "/auth/" not in url
    url, page = log_in(Browser(b.base), account, code)
    assert "/auth/" in url, "the same TOTP code opened a second session on the other server"


def test_a_brute_force_spread_across_servers_is_counted_once(cluster, servers):  # noqa: F811
    a, b = servers
    account = cluster.accounts["dr.roux"]
    browser = Browser(a.base)
    for n in range(5):  # HYGIE_LOGIN_FAILURES: 5 free failures, counted whichever server answers
        _, page = _on(browser, servers[n % 2]).get("/auth/login/")
        browser.post("/auth/login/", {"login": account["username"], "password": "pas-le-bon-mot-de-passe"}, page)
    _, page = _on(browser, b).get("/auth/login/")
    url, page = browser.post("/auth/login/", {"login": account["username"], "password": account["password"]}, page)
    assert "Trop de tentatives de connexion" in page, page[:500]


def test_a_document_uploaded_through_one_server_downloads_from_the_other(cluster, servers):  # noqa: F811
    a, b = servers
    browser = Browser(a.base)
    log_in(browser, cluster.accounts["dr.martin"])
    _, page = browser.get("/patients/")
    patient = "/patients/" + re.search(r'href="/patients/([0-9a-f-]{36})/"', page).group(1) + "/"
    before = set(cluster.objects())
    content = _pdf_with("Compte rendu partagé")
    browser.upload(patient + "documents/ajouter/", {"title": "CR partagé", "kind": "compte_rendu"}, "cr.pdf", content)
    [key] = set(cluster.objects()) - before
    assert re.fullmatch(r"cabinet/documents/[0-9a-f]{32}", key)
    _, page = _on(browser, b).get(patient)
    doc = re.findall(r'href="/patients/documents/([0-9a-f-]{36})/"', page)[0]
    assert browser.get_bytes(f"/patients/documents/{doc}/") == content
    # Neither host kept a copy on its own disk.
    for host in ("a", "b"):
        documents = cluster.root / host / "documents"
        assert not documents.exists() or list(documents.iterdir()) == []


def test_each_job_runs_once_across_hosts(cluster):  # noqa: F811
    cluster.sql("UPDATE worker_job SET next_run_at = now() - interval '1 minute', locked_until = NULL")
    procs = [
        subprocess.Popen([*HYGIE, "worker", "--once"], cwd=ROOT, env=cluster.host_env(host), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for host in ("a", "b", "a", "b")
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    ran = [line.split(" : ")[0] for out, _ in outputs for line in out.splitlines() if " : ok" in line]
    assert sorted(ran) == sorted(set(ran)), f"a job ran twice: {ran}"
    assert "documents-orphans" in ran


def test_the_emergency_switch_thrown_on_one_host_isolates_every_server(cluster, servers):  # noqa: F811
    a, b = servers
    browser = Browser(b.base)
    url, _ = log_in(browser, cluster.accounts["accueil.petit"])
    assert "/auth/" not in url
    thrown = cluster.hygie("incident", "lockdown", "--reason", "Exercice de bascule multi-serveurs", host="a")
    assert thrown.returncode == 0, thrown.stderr
    try:
        # Thrown from host a's command line: the session opened on b is closed, by b and by a.
        for server in (b, a):
            url, _ = _on(browser, server).get("/patients/")
            assert "/auth/login/" in url, (server.host, url)
    finally:
        lifted = cluster.hygie("incident", "lift", host="b")
        assert lifted.returncode == 0, lifted.stderr


def test_servers_started_together_on_a_new_database_migrate_it_once(tmp_path):
    """Both processes run hygie.core.startup.prepare_database (what `hygie serve` does first) on
    the same empty PostgreSQL database at the same moment: both succeed, one schema results."""
    import os
    import sys
    import uuid

    import psycopg

    from tests.cluster import postgres_conninfo, postgres_url

    conninfo = postgres_conninfo()
    name = f"hygie_migrate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "HYGIE_DATABASE_URL": postgres_url(conninfo, name), "PYTHONPATH": str(ROOT),
               "DJANGO_SETTINGS_MODULE": "hygie.settings"}
        start = time.time() + 3
        code = (
            "import time, sys, django; django.setup()\n"
            "from hygie.core import startup\n"
            f"while time.time() < {start}: pass\n"
            "startup.prepare_database()\n"
        )
        procs = [
            subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**env, "HYGIE_DATA_DIR": str(tmp_path / h)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for h in ("a", "b")
        ]
        outputs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
        with psycopg.connect(**conninfo, dbname=name) as conn:
            applied = conn.execute("SELECT app, name, count(*) FROM django_migrations GROUP BY app, name "
                                   "HAVING count(*) > 1").fetchall()
        assert applied == []
    finally:
        with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
