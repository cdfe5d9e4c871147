"""kill -9 on one of two hosts (PostgreSQL, Redis, documents on moto's S3 server: tests/cluster.py).

1. One of two app servers, behind a real Caddy, in the middle of a write-heavy load.

Users logged in through the real login (password, then TOTP code) add consultations, upload
documents and open records through the proxy, which spreads their requests over two `hygie
serve`. One server (every process of it) is killed with SIGKILL mid-way; the proxy sends the next
requests to the survivor. Afterwards: every write acknowledged to a client is in the database,
nothing is half-saved (no document row without its object; the objects without a row are removed
by the orphan cleanup), the journal verifies, nobody had to log in again, and the killed server
restarts and serves the same sessions.

2. A worker in the middle of a job (a backup, six-hour lease): a worker of the other host takes
the job over as soon as PostgreSQL has ended the killed worker's session (its advisory lock,
hygie.worker.runner.JobLocks), not six hours later, and never while the first one lives.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
from dataclasses import dataclass, field

import pytest

from hygie.backups.jobs import INTERRUPTED
from tests.backups.servers import free_port, wait_for_port
from tests.cluster import HYGIE, ROOT, cluster, log_in  # noqa: F401 - cluster is a fixture
from tests.core.test_crash_safety import _journal_verifies, _patient, _remove_orphans_now, _rows, _stored_names
from tests.keys.test_leak import Browser, _pdf_with

pytestmark = pytest.mark.usefixtures("cluster")
USERS = ("dr.martin", "kine.nguyen", "dr.roux")
ACKS_BEFORE_KILL = 4  # acknowledged writes per user before the kill, and again after it
CONSULTATION = re.compile(r"/patients/consultations/([0-9a-f-]{36})/$")


@dataclass
class User:
    """One simulated practitioner: its browser (cookies), its patient, what it was told."""

    name: str
    browser: Browser
    patient: str
    consultations: list[tuple[float, str]] = field(default_factory=list)  # (when, public id)
    documents: list[tuple[float, str]] = field(default_factory=list)  # (when, title)
    reads: list[float] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)  # no answer, 5xx: not acknowledged
    logged_out: list[tuple[float, str]] = field(default_factory=list)

    def acks_since(self, moment: float) -> int:
        return sum(1 for when, _ in self.consultations + self.documents if when > moment)

    def work(self, stop: threading.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if n % 3 == 1:
                    motif = f"Charge {self.name} {n}"
                    url, _ = self.browser.post(self.patient + "consultations/nouvelle/",
                                               {"date": "2026-03-02T09:30", "motif": motif, "observations": "RAS"})
                    if found := CONSULTATION.search(url):
                        self.consultations.append((time.monotonic(), found.group(1)))
                elif n % 3 == 2:
                    title = f"Charge {self.name} {n}"
                    url = self.browser.upload(self.patient + "documents/ajouter/",
                                              {"title": title, "kind": "compte_rendu"}, f"c{n}.pdf", _pdf_with(title))
                    if url.rstrip("/").endswith(self.patient.rstrip("/")):
                        self.documents.append((time.monotonic(), title))
                else:
                    url, page = self.browser.get(self.patient)
                    if "Consultations" in page or "consultation" in page:
                        self.reads.append(time.monotonic())
                if "/auth/" in url:
                    self.logged_out.append((time.monotonic(), url))
            except (urllib.error.URLError, OSError, AttributeError) as exc:
                # A request in flight on the killed server: no answer, or the proxy's 502. Not
                # acknowledged (AttributeError: a form page that did not come, no CSRF token).
                self.failures.append((time.monotonic(), repr(exc)[:200]))
                time.sleep(0.1)


def _start_caddy(cluster, upstreams: list[int]) -> tuple[subprocess.Popen, int]:  # noqa: F811
    """Caddy with the reverse_proxy block of deploy/caddy/Caddyfile (only the two addresses
    change): a request that cannot reach a server (connection refused) goes to the other within
    lb_try_duration, never a request already sent; the active health check on /auth/login/ takes
    a server out, and back in once it answers again. Plain HTTP on loopback (TLS is tested in
    tests/core/test_serve_proxy.py)."""
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy n'est pas installé (scripts/system-deps.sh l'installe)")
    deployed = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    block = re.search(r"^    reverse_proxy 10\.0\.0\.11:8000 10\.0\.0\.12:8000 \{\n.*?^    \}\n", deployed, re.M | re.S)
    assert block, "deploy/caddy/Caddyfile no longer has its two-server reverse_proxy block: update this test"
    reverse_proxy = block.group(0).replace("10.0.0.11:8000", f"127.0.0.1:{upstreams[0]}").replace(
        "10.0.0.12:8000", f"127.0.0.1:{upstreams[1]}")
    port = free_port()
    directory = cluster.root / "caddy"
    directory.mkdir(exist_ok=True)
    (directory / "Caddyfile").write_text(
        f"{{\n    admin off\n    auto_https off\n    storage file_system {directory / 'data'}\n}}\n"
        f"http://127.0.0.1:{port} {{\n{reverse_proxy}}}\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(directory), "XDG_DATA_HOME": str(directory / "data"),
           "XDG_CONFIG_HOME": str(directory / "config")}
    with (directory / "caddy.log").open("w") as log:
        proc = subprocess.Popen([caddy, "run", "--config", str(directory / "Caddyfile"), "--adapter", "caddyfile"],
                                cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=30, process=proc)
    except RuntimeError:
        raise AssertionError((directory / "caddy.log").read_text()) from None
    return proc, port


def test_a_server_killed_under_load_loses_no_acknowledged_write_and_nobody_logs_in_again(cluster):  # noqa: F811
    a = cluster.start_server("a", "--processes", "1")
    b = cluster.start_server("b", "--processes", "1")
    proxy, port = _start_caddy(cluster, [a.port, b.port])
    try:
        rows_before = _rows(cluster)
        users = []
        for name in USERS:
            browser = Browser(f"http://127.0.0.1:{port}")
            url, page = log_in(browser, cluster.accounts[name])
            assert "/auth/" not in url, (name, page[:300])
            users.append(User(name, browser, _patient(browser)))

        stop = threading.Event()
        threads = [threading.Thread(target=user.work, args=(stop,), daemon=True) for user in users]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 180
            while any(user.acks_since(0) < ACKS_BEFORE_KILL for user in users):
                assert time.monotonic() < deadline, [(u.name, u.failures[-3:]) for u in users]
                time.sleep(0.05)
            # kill -9 of server a, every process of it, while the users keep writing.
            cluster.kill(a)
            killed_at = time.monotonic()
            while any(user.acks_since(killed_at + 1) < ACKS_BEFORE_KILL for user in users):
                assert time.monotonic() < deadline, [(u.name, u.failures[-3:]) for u in users]
                time.sleep(0.05)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=90)
        assert not any(thread.is_alive() for thread in threads)

        # Nobody was sent back to the login page, before or after the kill: the sessions opened
        # through a, in Redis/PostgreSQL, are served by b. Failures (no answer, proxy 502) only for
        # the requests in flight around the kill, none once the proxy has put a aside.
        for user in users:
            assert user.logged_out == [], (user.name, user.logged_out)
            late = [f for when, f in user.failures if when > killed_at + 1]
            assert late == [], (user.name, late)
            assert any(when > killed_at for when in user.reads) or user.acks_since(killed_at), user.name

        # Every acknowledged consultation is in the database.
        stored = {str(public_id) for (public_id,) in cluster.sql("SELECT public_id FROM patients_consultation")}
        acknowledged = {public_id for user in users for _, public_id in user.consultations}
        assert acknowledged and acknowledged <= stored, acknowledged - stored

        # Every acknowledged document is listed on its record and reads back (read through b).
        for user in users:
            _, page = user.browser.get(user.patient)
            assert "/auth/" not in _
            for _, title in user.documents:
                assert title in page, (user.name, title)
            for doc in re.findall(r'href="/patients/documents/([0-9a-f-]{36})/"', page)[:3]:
                assert user.browser.get_bytes(f"/patients/documents/{doc}/").startswith(b"%PDF")

        # Nothing half-saved: no document row without its object. An upload cut by the kill may
        # have left an object without a row: the orphan cleanup (here with no grace) removes it.
        new_rows = _rows(cluster) - rows_before
        assert len(new_rows) >= sum(len(user.documents) for user in users)
        assert _rows(cluster) <= _stored_names(cluster)
        _remove_orphans_now(cluster)
        assert _stored_names(cluster) == _rows(cluster)
        _journal_verifies(cluster)

        # The killed server restarts (same port, same data dir) and serves the same sessions:
        # straight, then through the proxy once b stops (its health check takes a back in).
        again = cluster.start_server("a", "--processes", "1", port=a.port)
        for user in users:
            user.browser.base = again.base
            url, page = user.browser.get(user.patient)
            assert url == again.base + user.patient, (user.name, url)
            assert all(title in page for _, title in user.documents)
        cluster.stop(b)
        proxied = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            users[0].browser.base = proxied
            try:
                url, _ = users[0].browser.get(users[0].patient)
                break
            except urllib.error.HTTPError as exc:  # 502/503 until the health check has seen a again
                assert exc.code in {502, 503} and time.monotonic() < deadline, exc
                time.sleep(0.5)
        for user in users:
            user.browser.base = proxied
            url, page = user.browser.get(user.patient)
            assert url == proxied + user.patient, (user.name, url)
        cluster.stop(again)
    finally:
        proxy.terminate()
        proxy.wait(timeout=15)


def test_a_worker_killed_on_one_host_hands_its_job_to_the_other_host_at_once(cluster):  # noqa: F811
    nas = cluster.root / "nas"
    nas.mkdir()
    added = cluster.hygie("backup", "target", "add", "directory", "nas", "--path", str(nas))
    assert added.returncode == 0, added.stderr
    # Test mode only: a pause after each archive member, so that the run is still going when killed
    # (four members: more than ten seconds, the time host b's worker needs to look at the job).
    slow = {"HYGIE_ENV": "test", "HYGIE_BACKUP_TEST_DELAY": "3"}
    log_path = cluster.root / "worker-a.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen([*HYGIE, "worker"], cwd=ROOT, env=cluster.host_env("a", **slow), stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not list(nas.rglob(".*.partial")):
            assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        # As if host a were another machine: the owner in the lease and in the run names another
        # host, so that hygie.worker.runner.owner_dead cannot see from here that its process died.
        [(leased_by, left)] = cluster.sql(
            "UPDATE worker_job SET locked_by = 'autre-hote' || substr(locked_by, strpos(locked_by, ':')) "
            "WHERE name = 'backup' RETURNING locked_by, locked_until - now()")
        assert leased_by.startswith("autre-hote:") and leased_by.endswith("+pg"), leased_by
        assert left.total_seconds() > 5 * 3600  # the backup's six-hour lease
        assert cluster.sql(
            "UPDATE backups_run SET details = jsonb_set(details, '{owner}', to_jsonb('autre-hote' || "
            "substr(details->>'owner', strpos(details->>'owner', ':')))) WHERE status = 'running' RETURNING 1"
        ) == [(1,)]

        # While it lives, a worker of host b leaves the job alone.
        busy = cluster.hygie("worker", "--once", host="b")
        assert busy.returncode == 0, busy.stderr
        assert "backup :" not in busy.stdout, busy.stdout
        assert worker.poll() is None, "the backup finished before it was killed"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    # Killed: PostgreSQL ends its session, which frees the job's lock; host b takes the job over at
    # once, closes the killed run as interrupted (journaled) and backs up.
    after = cluster.hygie("worker", "--once", host="b")
    assert "backup : ok 1 destination(s) sauvegardée(s)" in after.stdout, after.stdout + after.stderr
    runs = cluster.sql("SELECT status, message FROM backups_run WHERE kind = 'backup' ORDER BY started_at")
    assert runs == [("failure", INTERRUPTED), ("success", "")]
    assert cluster.sql("SELECT count(*) FROM audit_event WHERE action = 'backup:completed'") == [(1,)]
    [(status, locked_until)] = cluster.sql("SELECT last_status, locked_until FROM worker_job WHERE name = 'backup'")
    assert (status, locked_until) == ("ok", None)
    # …and runs it once: the next worker, of either host, finds nothing due.
    again = cluster.hygie("worker", "--once", host="a")
    assert "backup :" not in again.stdout, again.stdout
    assert len(cluster.sql("SELECT 1 FROM backups_run WHERE kind = 'backup'")) == 2
    verified = cluster.hygie("backup", "verify", str(nas))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    _journal_verifies(cluster)
