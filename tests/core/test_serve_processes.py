"""`hygie serve` with several processes, as a real server: every process answers, a concurrent
burst that writes gets no 500 ("database is locked"), the background jobs run in one process,
a dead process is replaced."""

from __future__ import annotations

import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from hygie.core import prefork
from hygie.lib import keyfile
from tests.core.test_serve import ROOT, _free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")

PROCESSES = 2


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, split after its closing parenthesis.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _server_side_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the connection from client_port (loopback IPv4)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return inode
    return None


@pytest.fixture
def server(tmp_path):
    keyfile.create(tmp_path / "keys.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYGIE_")}
    env.update(HYGIE_ENV="production", HYGIE_DATA_DIR=str(tmp_path / "var"), HYGIE_KEY_FILE=str(tmp_path / "keys.json"))
    env["HYGIE_EMAIL_BACKEND"] = ""  # SMTP: production refuses a backend that delivers nothing
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hygie.cli", "serve", "--port", str(port), "--processes", str(PROCESSES)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/auth/login/")
            assert conn.getresponse().status == 200
            conn.close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.3)
    output: dict[str, str] = {}
    try:
        yield proc, port, tmp_path / "var" / "hygie.sqlite3", output
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl+C
        try:
            output["out"], output["err"] = proc.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            output["out"], output["err"] = proc.communicate()


def _wait_for_children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while len(children := _children(pid)) != count:
        assert time.monotonic() < deadline, children
        time.sleep(0.2)
    return children


def _job_owners(database: Path) -> set[str]:
    with sqlite3.connect(database, timeout=20) as db:
        return {row[0] for row in db.execute("SELECT locked_by FROM worker_job WHERE last_started_at IS NOT NULL")}


def test_every_process_answers_and_a_burst_gets_no_server_error(server):
    proc, port, database, _ = server
    children = _wait_for_children(proc.pid, PROCESSES + 1)  # the servers and the jobs process

    # Keep-alive connections opened at once: the kernel hands them to the waiting processes.
    connections: list[http.client.HTTPConnection] = []
    lock = threading.Lock()

    def open_one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/auth/login/")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        with lock:
            connections.append(conn)

    threads = [threading.Thread(target=open_one) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(connections) == 40
    answered_by = set()
    for conn in connections:
        inode = _server_side_inode(port, conn.sock.getsockname()[1])
        owners = [pid for pid in children if inode in _socket_inodes(pid)]
        assert len(owners) == 1, (inode, owners)
        answered_by.add(owners[0])
        conn.close()
    assert len(answered_by) == PROCESSES, answered_by

    # A concurrent burst that writes (failed logins: journal events and rate-limit counters).
    statuses: list[int] = []

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(6):
            conn.request("GET", "/auth/login/")
            response = conn.getresponse()
            page = response.read().decode()
            with lock:
                statuses.append(response.status)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            if token is None:  # refused by the flood limit of the login page (429): no form
                continue
            cookie = response.getheader("Set-Cookie", "")
            form = urllib.parse.urlencode(
                {"csrfmiddlewaretoken": token.group(1), "login": f"personne{n}-{i}", "password": "pas-le-bon"}
            )
            conn.request(
                "POST",
                "/auth/login/",
                body=form,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": "; ".join(part.split(";")[0] for part in cookie.split(", ") if "=" in part),
                    "Referer": f"http://127.0.0.1:{port}/auth/login/",
                },
            )
            response = conn.getresponse()
            response.read()
            with lock:
                statuses.append(response.status)
        conn.close()

    burst = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in burst:
        t.start()
    for t in burst:
        t.join()
    assert len(statuses) >= 16 * 6
    assert not [s for s in statuses if s >= 500], statuses
    # Answers, not errors: the login form (200, a wrong password is shown on the form) or the
    # login page's flood limit (429); the limit itself counts in the database, so both write.
    assert set(statuses) <= {200, 429} and 200 in statuses, statuses

    # The jobs ran, in the jobs process only (the lease owner names its process).
    deadline = time.monotonic() + 60
    while not (owners := _job_owners(database)):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    pids = {int(owner.split(":")[-2]) for owner in owners}  # host:boot:pid:thread (worker.runner.owner_id)
    assert len(pids) == 1 and pids < set(children), (pids, children)
    assert pids.isdisjoint(answered_by)


def test_a_dead_process_is_replaced_and_ctrl_c_stops_them_all(server):
    proc, port, _, output = server
    children = _wait_for_children(proc.pid, PROCESSES + 1)
    os.kill(children[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (now := _children(proc.pid)) == children or len(now) != PROCESSES + 1 or children[0] in now:
        assert time.monotonic() < deadline, now
        time.sleep(0.2)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/auth/login/")
    assert conn.getresponse().status == 200
    conn.close()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=40)
    for pid in now:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_the_processes_stop_when_the_supervisor_is_killed_with_minus_9(server):
    # Otherwise they would go on serving, unsupervised, and a restart could not bind the port.
    proc, port, _, _ = server
    children = _wait_for_children(proc.pid, PROCESSES + 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while alive := [pid for pid in children if Path(f"/proc/{pid}").exists()]:
        assert time.monotonic() < deadline, alive
        time.sleep(0.2)
    with pytest.raises(OSError):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/auth/login/")
        conn.getresponse()


def test_one_process_by_default_outside_linux_and_one_per_core_on_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    assert prefork.default_processes() == 1 and not prefork.can_fork()
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert prefork.default_processes() == 3


def test_several_processes_are_refused_where_fork_is_missing(db, monkeypatch):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    monkeypatch.setattr(prefork, "can_fork", lambda: False)
    with pytest.raises(CommandError, match="--processes 1"):
        call_command("serve", "--processes", "2")
    with pytest.raises(CommandError, match="entre 1 et 64"):
        call_command("serve", "--processes", "0")
