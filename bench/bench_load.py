"""Load: N practitioners logged in through the real login, using a real `hygie serve`.

Run: .venv/bin/python bench/bench_load.py [--backend sqlite|postgresql|both] [--users 50]
     [--duration 120] [--saturation 30] [--clients 8] [--compare-processes]
     [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
     [--servers 1,2 [--document-store s3] [--server-processes 1]]

For each database, in a fresh temporary data dir (and a throw-away PostgreSQL database
`bench_load_<pid>`, dropped at the end):
1. a practice with `--users` titulaires, each with `--patients` patients (consultations, an
   agenda), created through the app's own functions (not timed);
2. `hygie serve` (default processes: one per core) on a free loopback port, behind the trusted
   proxy gate: each user comes from its own address (X-Forwarded-For from 127.0.0.1, as Caddy
   would send it), so that the per-address login limits do not see 50 people at one address;
3. every user logs in (password, then the RFC 6238 code computed here from its secret), then
   for `--duration` seconds repeats: think 0.5-3 s, then one action drawn from a practice's mix
   (open a record, search a name, agenda, dashboard, add a consultation, upload and download a
   document, billing). Each action's page views (redirects followed) are timed;
4. saturation: `--clients` logged-in users without think time for `--saturation` seconds,
   pages/s. With --compare-processes, saturation is measured with `--processes 1` and with the
   default, alternately (A B B A), and the ratio printed.

Several servers (issue 15): `--servers 1,2 --document-store s3` (PostgreSQL only) runs, in one
run, 1 server, then 2, then 2, then 1 (the counts listed, then reversed: A B B A), each phase
with its own logins, the think-time load then the saturation. The servers are "hosts" as
tests/cluster.py starts them: one PostgreSQL database, one Redis (HYGIE_CACHE_URL, started here),
the documents on moto's S3 server (in its own process, as bench_document_store.py; MinIO cannot
be installed here), the same key file, each host its own data dir and its own `hygie serve`
(`--server-processes` each, default 1). Round-robin in the client, no proxy: each browser sends
its requests to the servers in turn (the sessions are in the database, so any server serves
any request), each user starting on a different server. The CPU seconds of the servers, moto,
Redis, this database's PostgreSQL backends and the client are printed per phase.

Everything on 127.0.0.1; the client threads share the machine with the server (say so when
quoting the figures). Not part of the test suite; exit code 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "Ecluse-Brume-Falaise-26!"  # noqa: S105 - a throw-away practice in a temporary dir
WEIGHTS = {
    "open_record": 30,
    "search": 15,
    "agenda": 12,
    "dashboard": 10,
    "add_consultation": 10,
    "billing": 8,
    "download_document": 8,
    "upload_document": 4,
}
EXTRA_ENV: dict[str, str] = {}  # the cluster's shared services (Redis, S3), from --env-file
PREFIXES = ("Le", "Bo", "Ma", "Gir", "Fou", "Riv", "Dup", "Lam", "Fon", "Rou", "Mer", "Ché", "Gau", "Per")


# --- Setup (a child process with Django) ---------------------------------------------------


def _django(tmp: Path, db_url: str) -> None:
    os.environ.update(_server_env(tmp, db_url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygie.settings")
    import django

    django.setup()


def setup_practice(tmp: Path, db_url: str, users: int, patients: int) -> None:
    """Child process: the practice, then a JSON of the logins and each one's patients."""
    from hygie.lib import keyfile

    keyfile.load_or_create(tmp / "keys.json")
    _django(tmp, db_url)
    from datetime import timedelta

    from allauth.mfa.totp.internal.auth import TOTP
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from hygie.access import records
    from hygie.access.policy import Role
    from hygie.accounts.actions import create_user
    from hygie.core import demo
    from hygie.core.actions import create_practice
    from hygie.patients.actions import DuplicatePatient, create_patient

    call_command("migrate", verbosity=0)
    rng = random.Random(14)
    now = timezone.now()
    today = timezone.localdate()
    logins = []
    with transaction.atomic():
        create_practice(
            name="Cabinet de charge (mesure)", admin_username="admin.mesure", admin_password=PASSWORD,
            admin_first_name="Alice", admin_last_name="Admin", is_demo=True,
        )
        practitioners = []
        for i in range(users):
            user = create_user(
                actor=None, username=f"dr.mesure{i:02d}", role=Role.TITULAIRE, password=PASSWORD,
                first_name="Praticien", last_name=f"Mesure{i:02d}", email=f"mesure{i:02d}@example.org",
                profession="Médecin généraliste", must_change_password=False,
            )
            secret = base64.b32encode(os.urandom(20)).decode()
            TOTP.activate(user, secret)
            practitioners.append((user, secret))
        stored: list[str] = []
        for user, _ in practitioners:
            for _ in range(patients):
                patient = None
                while patient is None:
                    try:
                        patient = create_patient(actor=None, practitioner=user, data=demo._identity(rng, today))
                    except DuplicatePatient:
                        continue
                demo._medical_content(rng, patient, user, False, now - timedelta(days=1), stored)
        demo._agenda(rng, [u for u, _ in practitioners], now)
    for user, secret in practitioners:
        ids = [str(p) for p in records.patient_scope(user).values_list("public_id", flat=True)]
        logins.append({"username": user.username, "secret": secret, "patients": ids})
    (tmp / "logins.json").write_text(json.dumps(logins))


def _server_env(tmp: Path, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYGIE_")}
    env.update(
        HYGIE_ENV="production",
        HYGIE_DATA_DIR=str(tmp / "var"),
        HYGIE_KEY_FILE=str(tmp / "keys.json"),
        HYGIE_CHECKPOINT_FILE=str(tmp / "journal-checkpoints.jsonl"),
        HYGIE_EMAIL_BACKEND="",  # production refuses a backend that delivers nothing: SMTP, unused
        HYGIE_BEHIND_PROXY="true",
        HYGIE_TRUSTED_PROXY="127.0.0.1",
    )
    if db_url:
        env["HYGIE_DATABASE_URL"] = db_url
    env.update(EXTRA_ENV)
    return env


# --- The client ------------------------------------------------------------------------------


def totp_code(secret: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class PageError(Exception):
    pass


@dataclass
class Browser:
    port: int
    address: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    conn: http.client.HTTPConnection | None = None
    pages: int = 0  # HTTP requests answered (redirects followed count as pages)
    ports: tuple[int, ...] = ()  # several servers: each request to the next one (round-robin)
    turn: int = 0
    conns: dict[int, http.client.HTTPConnection | None] = field(default_factory=dict)

    def _next_server(self) -> None:
        if len(self.ports) > 1:
            self.conns[self.port] = self.conn
            self.port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
            self.conn = self.conns.get(self.port)

    def _once(self, method: str, path: str, body: bytes | None, content_type: str) -> tuple[int, str, str]:
        self._next_server()
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"X-Forwarded-For": self.address, "X-Forwarded-Proto": "http"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = content_type
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        location, text = self.absorb(response.getheaders(), data)
        return response.status, location, text

    def absorb(self, headers: list[tuple[str, str]], data: bytes) -> tuple[str, str]:
        """One answer as a browser takes it: a page more, its cookies kept (or dropped), the CSRF
        token of its form remembered. Returns its Location and its HTML (empty if not HTML)."""
        self.pages += 1
        location = ctype = ""
        for name, value in headers:
            name = name.lower()
            if name == "set-cookie":
                key, _, rest = value.partition("=")
                kept = rest.split(";", 1)[0]
                if "Max-Age=0" in value or kept in ('""', ""):
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = kept
            elif name == "location":
                location = value
            elif name == "content-type":
                ctype = value
        text = data.decode("utf-8", "replace") if "text/html" in ctype else ""
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
        if found:
            self.csrf = found.group(1)
        return location, text

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> tuple[int, str]:
        """Status and HTML of the final page; redirects followed (as page views of the action)."""
        for _ in range(6):
            try:
                status, location, text = self._once(method, path, body, content_type)
            except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                status, location, text = self._once(method, path, body, content_type)
            if status in (301, 302, 303) and location:
                path, method, body = re.sub(r"^https?://[^/]+", "", location), "GET", None
                continue
            return status, text
        raise PageError("trop de redirections")

    def get(self, path: str) -> str:
        status, text = self.request("GET", path)
        if status != 200:
            raise PageError(f"GET {path.split('/')[1]}: {status}")
        if "/auth/login/" in path or 'name="login"' in text:
            raise PageError("session perdue")
        return text

    def post(self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> str:
        fields = {"csrfmiddlewaretoken": self.csrf, **fields}
        if files:
            boundary = uuid.uuid4().hex
            parts = []
            for name, value in fields.items():
                head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                parts.append(f"{head}{value}\r\n".encode())
            for name, (filename, content, mime) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    f"Content-Type: {mime}\r\n\r\n".encode() + content + b"\r\n"
                )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            from urllib.parse import urlencode

            body = urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        status, text = self.request("POST", path, body, content_type)
        if status != 200:
            raise PageError(f"POST {path.split('/')[1]}: {status}")
        return text

    def login(self, username: str, secret: str) -> None:
        self.request("GET", "/auth/login/")
        status, text = self.request(
            "POST", "/auth/login/",
            _form({"csrfmiddlewaretoken": self.csrf, "login": username, "password": PASSWORD}),
            "application/x-www-form-urlencoded",
        )
        if status != 200 or 'name="code"' not in text:
            raise PageError(f"mot de passe : {status}")
        # A code about to expire would be refused at the boundary: wait for the next step.
        if 30 - time.time() % 30 < 2:
            time.sleep(30 - time.time() % 30 + 0.1)
        status, text = self.request(
            "POST", "/auth/2fa/authenticate/",
            _form({"csrfmiddlewaretoken": self.csrf, "code": totp_code(secret)}),
            "application/x-www-form-urlencoded",
        )
        if status != 200 or 'name="code"' in text or 'name="login"' in text:
            raise PageError(f"second facteur : {status}")


def _form(fields: dict[str, str]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()


def _pdf(rng: random.Random) -> bytes:
    size = rng.randint(20_000, 300_000)
    return b"%PDF-1.7\n" + rng.randbytes(size)


@dataclass
class User:
    username: str
    secret: str
    patients: list[str]
    address: str
    browser: Browser
    documents: dict[str, list[str]] = field(default_factory=dict)


DOC_LINK = re.compile(r'href="/patients/documents/([0-9a-f-]{36})/"')


def act(user: User, action: str, rng: random.Random) -> None:
    b = user.browser
    patient = rng.choice(user.patients)
    if action == "open_record":
        page = b.get(f"/patients/{patient}/")
        user.documents[patient] = DOC_LINK.findall(page)
    elif action == "search":
        if not b.csrf:
            b.get("/patients/")
        b.post("/patients/recherche/", {"q": rng.choice(PREFIXES)})
    elif action == "agenda":
        b.get("/agenda/")
    elif action == "dashboard":
        b.get("/")
    elif action == "billing":
        b.get("/facturation/")
    elif action == "add_consultation":
        b.get(f"/patients/{patient}/consultations/nouvelle/")
        when = time.strftime("%d/%m/%Y %H:%M", time.localtime(time.time() - 3600))
        page = b.post(
            f"/patients/{patient}/consultations/nouvelle/",
            {"date": when, "motif": "Contrôle (mesure de charge)", "observations": "Examen normal. " * 20},
        )
        if "errorlist" in page:
            raise PageError("consultation refusée")
    elif action == "upload_document":
        page = b.post(
            f"/patients/{patient}/documents/ajouter/",
            {"title": "Compte rendu (mesure)", "kind": "compte_rendu"},
            files={"file": ("compte-rendu.pdf", _pdf(rng), "application/pdf")},
        )
        if "errorlist" in page:
            raise PageError("document refusé")
        user.documents[patient] = DOC_LINK.findall(page)
    elif action == "download_document":
        known = [(p, d) for p, docs in user.documents.items() for d in docs]
        if not known:
            page = b.get(f"/patients/{patient}/")
            user.documents[patient] = DOC_LINK.findall(page)
            known = [(patient, d) for d in user.documents[patient]]
            if not known:
                return
        _, doc = rng.choice(known)
        status, _ = b.request("GET", f"/patients/documents/{doc}/")
        if status != 200:
            raise PageError(f"document : {status}")


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    pages: int = 0

    def add(self, action: str, seconds: float, error: str = "") -> None:
        with self.lock:
            if error:
                self.errors.setdefault(action, []).append(error)
            else:
                self.timings.setdefault(action, []).append(seconds)


def run_users(users: list[User], duration: float, think: bool, results: Results, seed: int) -> float:
    """Every user acts until the deadline; returns the wall time of the run."""
    start = time.monotonic()
    deadline = start + duration
    actions, weights = list(WEIGHTS), list(WEIGHTS.values())

    def loop(user: User, n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        if think:
            time.sleep(rng.uniform(0, 3))  # not all at once
        while time.monotonic() < deadline:
            action = rng.choices(actions, weights)[0]
            t0 = time.perf_counter()
            try:
                act(user, action, rng)
                results.add(action, time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - an error is a figure here
                results.add(action, 0.0, f"{type(exc).__name__}: {exc}"[:120])
            if think:
                time.sleep(rng.uniform(0.5, 3.0))

    before = sum(u.browser.pages for u in users)
    threads = [threading.Thread(target=loop, args=(u, n), daemon=True) for n, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.pages = sum(u.browser.pages for u in users) - before
    return time.monotonic() - start


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def report(title: str, results: Results, wall: float) -> dict[str, float]:
    print(f"\n{title}")
    print(f"{'action':<20}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'erreurs':>9}")
    everything: list[float] = []
    for action in WEIGHTS:
        t = results.timings.get(action, [])
        e = len(results.errors.get(action, []))
        everything += t
        if t or e:
            ms = [pct(t, p) * 1e3 for p in (50, 95, 99)]
            print(f"{action:<20}{len(t):>6}{ms[0]:>10.0f}{ms[1]:>10.0f}{ms[2]:>10.0f}{e:>9}")
    errors = sum(len(v) for v in results.errors.values())
    print(f"{'toutes':<20}{len(everything):>6}{pct(everything, 50) * 1e3:>10.0f}{pct(everything, 95) * 1e3:>10.0f}"
          f"{pct(everything, 99) * 1e3:>10.0f}{errors:>9}")
    print(f"actions/s : {len(everything) / wall:.1f} ; pages/s : {results.pages / wall:.1f} ({results.pages} pages)")
    for action, messages in results.errors.items():
        print(f"  erreurs {action} : {sorted(set(messages))[:3]}")
    return {"p50": pct(everything, 50), "p95": pct(everything, 95), "p99": pct(everything, 99),
            "errors": errors, "rate": len(everything) / wall, "n": len(everything), "pages_per_s": results.pages / wall}


# --- Server ----------------------------------------------------------------------------------


class CountingServer:
    """`hygie serve` in a subprocess; counts nothing itself (pages are counted by the clients)."""

    def __init__(self, tmp: Path, db_url: str, processes: int | None, env: dict[str, str] | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        args = [sys.executable, "-m", "hygie.cli", "serve", "--port", str(self.port), "--no-worker"]
        if processes is not None:
            args += ["--processes", str(processes)]
        self.log = (tmp / f"serve-{self.port}.log").open("w")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env={**_server_env(tmp, db_url), **(env or {})}, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"hygie serve s'est arrêté : voir {self.log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/auth/login/")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def logged_in(port: int, logins: list[dict], count: int, offset: int, ports: tuple[int, ...] = ()) -> list[User]:
    users = []
    lock = threading.Lock()

    def one(i: int) -> None:
        spec = logins[i % len(logins)]
        address = f"10.14.{(offset + i) // 250}.{(offset + i) % 250 + 1}"
        user = User(spec["username"], spec["secret"], spec["patients"], address,
                    Browser(port, address, ports=ports, turn=i))
        for attempt in range(3):
            try:
                user.browser.login(user.username, user.secret)
                break
            except PageError:
                if attempt == 2:
                    raise
                time.sleep(31)  # this account's code was used in this time step: the next one
        with lock:
            users.append(user)

    # A few at a time: a practice's morning, not a flood.
    for start in range(0, count, 5):
        batch = [threading.Thread(target=one, args=(i,)) for i in range(start, min(count, start + 5))]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
    if len(users) != count:
        raise SystemExit("connexion impossible pour certains utilisateurs")
    return users


def bench(backend: str, db_url: str, args: argparse.Namespace) -> dict:
    figures: dict = {"backend": backend}
    dbname = db_url.rsplit("/", 1)[1] if db_url else ""
    with tempfile.TemporaryDirectory(prefix="hygie-bench-load-") as tmpdir:
        tmp = Path(tmpdir)
        t0 = time.monotonic()
        subprocess.run(
            [sys.executable, __file__, "--setup", str(tmp), "--db-url", db_url,
             "--users", str(args.users), "--patients", str(args.patients)],
            check=True,
        )
        logins = json.loads((tmp / "logins.json").read_text())
        built = time.monotonic() - t0
        print(f"[{backend}] cabinet : {args.users} titulaires × {args.patients} patients ({built:.0f} s)")

        if args.duration > 0:
            server = CountingServer(tmp, db_url, None)
            try:
                users = logged_in(server.port, logins, args.users, 0)
                results = Results()
                wall = run_users(users, args.duration, True, results, seed=1)
                figures["think"] = report(
                    f"[{backend}] {args.users} utilisateurs, réflexion 0,5–3 s, {args.duration:.0f} s", results, wall
                )
            finally:
                server.stop()

        if args.saturation > 0:
            order = [1, None, None, 1] if args.compare_processes else [None]
            rates: dict[str, list[float]] = {}
            for n, processes in enumerate(order):
                server = CountingServer(tmp, db_url, processes)
                try:
                    users = logged_in(server.port, logins, args.clients, 1000 + 100 * n)
                    results = Results()
                    before = _cpu_snapshot([server], {}, dbname)
                    wall = run_users(users, args.saturation, False, results, seed=100 + n)
                    used = _cpu_report(before, _cpu_snapshot([server], {}, dbname), wall)
                    label = "1 processus" if processes == 1 else "1 processus par cœur"
                    r = report(f"[{backend}] saturation, {args.clients} clients sans réflexion, {label}", results, wall)
                    if results.pages:
                        print("CPU par page : " + ", ".join(
                            f"{k} {1000 * v / results.pages:.2f} ms" for k, v in used.items()))
                    rates.setdefault(label, []).append(r["pages_per_s"])
                finally:
                    server.stop()
            figures["saturation"] = {k: sum(v) / len(v) for k, v in rates.items()}
            if len(rates) == 2:
                one, many = rates["1 processus"], rates["1 processus par cœur"]
                print(f"[{backend}] saturation, pages/s : 1 processus {sum(one) / 2:.1f}, un par cœur "
                      f"{sum(many) / 2:.1f} : rapport {sum(many) / sum(one):.2f}×")
    return figures


# --- Several servers (issue 15) ---------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and of its living descendants."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError, ValueError):
        return 0.0
    return total + sum(_proc_cpu(int(c)) for c in children)


def _postgres_cpu(dbname: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to this database (its title names it)."""
    found: dict[int, float] = {}
    if not dbname:  # SQLite
        return found
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {dbname} " in title:
                found[int(entry.name)] = _proc_cpu(int(entry.name))
    return found


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy (every process and the kernel: /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu_snapshot(servers: list[CountingServer], services: dict[str, int], dbname: str) -> dict:
    usage = os.times()
    snap: dict = {"serveurs": sum(_proc_cpu(s.proc.pid) for s in servers), "postgresql": _postgres_cpu(dbname),
                  "client (ce script)": usage.user + usage.system, "machine": _machine_busy()}
    snap.update({name: _proc_cpu(pid) for name, pid in services.items()})
    return snap


def _cpu_report(before: dict, after: dict, wall: float) -> dict[str, float]:
    # PostgreSQL: the backends still connected at the end (a backend closed during the phase,
    # CONN_MAX_AGE 60 s, takes its seconds with it): a lower bound.
    used = {k: after[k] - before.get(k, 0.0) for k in after if k not in ("postgresql", "machine")}
    pg_before = before["postgresql"]
    if after["postgresql"]:
        used["postgresql (minorant)"] = sum(v - pg_before.get(pid, 0.0) for pid, v in after["postgresql"].items())
    machine = after["machine"] - before["machine"]
    cores = os.cpu_count() or 1
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in used.items())
    print(f"CPU pendant {wall:.0f} s ({cores} cœurs = {cores * wall:.0f} s-CPU) : {parts} ; "
          f"total {sum(used.values()):.1f} s ; toute la machine {machine:.1f} s (autres processus et noyau "
          f"{machine - sum(used.values()):.1f} s) ; charge moyenne {os.getloadavg()[0]:.1f}")
    return used


def cluster_bench(db_url: str, args: argparse.Namespace) -> dict:
    """1 server, then 2, then 2, then 1 (the counts of --servers, then reversed), on PostgreSQL,
    Redis and (with --document-store s3) moto's S3 server."""
    import shutil

    import boto3
    from botocore.config import Config

    from tests.backups.servers import ACCESS_KEY, REGION, SECRET_KEY, free_port, wait_for_port

    counts = [int(n) for n in args.servers.split(",")]
    order = counts + counts[::-1]
    dbname = db_url.rsplit("/", 1)[1]
    figures: dict = {"backend": "postgresql", "servers": order, "document_store": args.document_store, "phases": []}
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        raise SystemExit("redis-server n'est pas installé (apt-get install redis-server)")
    services: dict[str, subprocess.Popen] = {}
    with tempfile.TemporaryDirectory(prefix="hygie-bench-cluster-") as tmpdir:
        tmp = Path(tmpdir)
        try:
            redis_port = free_port()
            services["redis"] = subprocess.Popen(
                [redis_binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            wait_for_port(redis_port, process=services["redis"])
            shared = {"HYGIE_CACHE_URL": f"redis://127.0.0.1:{redis_port}/0"}
            if args.document_store == "s3":
                moto_port = free_port()
                services["moto (S3)"] = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                wait_for_port(moto_port, timeout=60, process=services["moto (S3)"])
                endpoint = f"http://127.0.0.1:{moto_port}"
                bucket = f"bench-{uuid.uuid4().hex[:12]}"
                boto3.client(
                    "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                    aws_secret_access_key=SECRET_KEY, config=Config(s3={"addressing_style": "path"}),
                ).create_bucket(Bucket=bucket)
                (tmp / "s3-secret").write_text(SECRET_KEY)
                shared.update(
                    HYGIE_DOCUMENT_STORE=f"s3://{bucket}/cabinet/documents", HYGIE_DOCUMENT_STORE_ENDPOINT=endpoint,
                    HYGIE_DOCUMENT_STORE_REGION=REGION, HYGIE_DOCUMENT_STORE_ACCESS_KEY=ACCESS_KEY,
                    HYGIE_DOCUMENT_STORE_SECRET_KEY_FILE=str(tmp / "s3-secret"),
                )
            (tmp / "cluster-env.json").write_text(json.dumps(shared))
            EXTRA_ENV.update(shared)
            t0 = time.monotonic()
            subprocess.run(
                [sys.executable, __file__, "--setup", str(tmp), "--db-url", db_url, "--env-file",
                 str(tmp / "cluster-env.json"), "--users", str(args.users), "--patients", str(args.patients)],
                check=True,
            )
            logins = json.loads((tmp / "logins.json").read_text())
            print(f"[grappe] cabinet : {args.users} titulaires × {args.patients} patients, documents "
                  f"{args.document_store} ({time.monotonic() - t0:.0f} s) ; ordre des phases : {order}")
            pids = {name: proc.pid for name, proc in services.items()}
            for n, count in enumerate(order):
                servers: list[CountingServer] = []
                phase: dict = {"servers": count}
                try:
                    for host in "abcdefgh"[:count]:
                        data = tmp / f"host-{host}"
                        (data / "tmp").mkdir(parents=True, exist_ok=True)
                        servers.append(CountingServer(tmp, db_url, args.server_processes, env={
                            "HYGIE_DATA_DIR": str(data), "TMPDIR": str(data / "tmp"),
                            "HYGIE_CHECKPOINT_FILE": str(data / "journal-checkpoints.jsonl"),
                        }))
                    ports = tuple(s.port for s in servers)
                    label = f"{count} serveur{'s' if count > 1 else ''} × {args.server_processes} processus"
                    if args.duration > 0:
                        users = logged_in(ports[0], logins, args.users, 2000 * n, ports)
                        results = Results()
                        before = _cpu_snapshot(servers, pids, dbname)
                        wall = run_users(users, args.duration, True, results, seed=10 * n + 1)
                        phase["think"] = report(
                            f"[phase {n + 1}, {label}] {args.users} utilisateurs, réflexion 0,5–3 s, "
                            f"{args.duration:.0f} s", results, wall,
                        )
                        phase["think"]["by_action"] = {
                            a: {"n": len(t), "p50": pct(t, 50), "p95": pct(t, 95), "p99": pct(t, 99),
                                "errors": len(results.errors.get(a, []))}
                            for a, t in results.timings.items()
                        }
                        phase["think_cpu"] = _cpu_report(before, _cpu_snapshot(servers, pids, dbname), wall)
                    if args.saturation > 0:
                        users = logged_in(ports[0], logins, args.clients, 2000 * n + 1000, ports)
                        results = Results()
                        before = _cpu_snapshot(servers, pids, dbname)
                        wall = run_users(users, args.saturation, False, results, seed=10 * n + 2)
                        phase["saturation"] = report(
                            f"[phase {n + 1}, {label}] saturation, {args.clients} clients sans réflexion",
                            results, wall,
                        )
                        phase["saturation_cpu"] = _cpu_report(before, _cpu_snapshot(servers, pids, dbname), wall)
                finally:
                    for server in servers:
                        server.stop()
                figures["phases"].append(phase)
        finally:
            for proc in services.values():
                proc.kill()
                proc.wait()
    _cluster_summary(figures)
    return figures


def _cluster_summary(figures: dict) -> None:
    """Per server count, the mean over its phases; the ratio of pages/s at saturation."""
    by: dict[int, list[dict]] = {}
    for phase in figures["phases"]:
        by.setdefault(phase["servers"], []).append(phase)
    print("\nRésumé (moyenne des phases de même nombre de serveurs)")
    print(f"{'serveurs':<10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'erreurs':>9}{'pages/s sat.':>14}{'err. sat.':>11}")
    rates: dict[int, float] = {}
    for count, phases in sorted(by.items()):
        think = [p["think"] for p in phases if "think" in p]
        sat = [p["saturation"] for p in phases if "saturation" in p]

        def mean(rows: list[dict], key: str) -> float:
            return sum(r[key] for r in rows) / len(rows) if rows else float("nan")

        rates[count] = mean(sat, "pages_per_s")
        print(f"{count:<10}{mean(think, 'p50') * 1e3:>9.0f}{mean(think, 'p95') * 1e3:>9.0f}"
              f"{mean(think, 'p99') * 1e3:>9.0f}{sum(r['errors'] for r in think):>9}{rates[count]:>14.1f}"
              f"{sum(r['errors'] for r in sat):>11}")
    if len(rates) == 2:
        (a, ra), (b, rb) = sorted(rates.items())
        print(f"saturation, pages/s : {b} serveurs / {a} serveur{'s' if a > 1 else ''} = {rb / ra:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--patients", type=int, default=20, help="patients par titulaire")
    parser.add_argument("--duration", type=float, default=120, help="secondes avec réflexion (0 : sauter)")
    parser.add_argument("--saturation", type=float, default=30, help="secondes sans réflexion (0 : sauter)")
    parser.add_argument("--clients", type=int, default=8, help="clients de la mesure de saturation")
    parser.add_argument("--compare-processes", action="store_true")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--servers", default="", help="grappe : nombres de serveurs, ex. 1,2 (PostgreSQL, Redis)")
    parser.add_argument("--document-store", choices=["local", "s3"], default="local",
                        help="grappe : documents sur le disque de chaque hôte ou sur le serveur S3 de test (moto)")
    parser.add_argument("--server-processes", type=int, default=1, help="grappe : processus par serveur")
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--env-file", default="", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.env_file:
        EXTRA_ENV.update(json.loads(Path(args.env_file).read_text()))
    if args.setup:
        setup_practice(Path(args.setup), args.db_url, args.users, args.patients)
        return
    if not 1 <= args.users <= 500 or not 1 <= args.clients <= 100:
        raise SystemExit("--users : 1 à 500, --clients : 1 à 100")
    print(f"charge moyenne au départ : {os.getloadavg()[0]:.1f} ({os.cpu_count()} cœurs)")
    out = []
    if args.servers:
        if not re.fullmatch(r"[1-8](,[1-8])*", args.servers) or not 1 <= args.server_processes <= 8:
            raise SystemExit("--servers : des nombres de 1 à 8 séparés par des virgules (ex. 1,2) ; "
                             "--server-processes : 1 à 8")
        args.backend = "cluster"
        import psycopg

        dbname = f"bench_cluster_{os.getpid()}"
        with psycopg.connect(args.pg_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {dbname}")
        try:
            out.append(cluster_bench(args.pg_url.rsplit("/", 1)[0] + "/" + dbname, args))
        finally:
            with psycopg.connect(args.pg_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
    elif args.document_store != "local":
        raise SystemExit("--document-store s3 : avec --servers (la grappe)")
    if args.backend in ("sqlite", "both"):
        out.append(bench("sqlite", "", args))
    if args.backend in ("postgresql", "both"):
        import psycopg

        dbname = f"bench_load_{os.getpid()}"
        with psycopg.connect(args.pg_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {dbname}")
        try:
            out.append(bench("postgresql", args.pg_url.rsplit("/", 1)[0] + "/" + dbname, args))
        finally:
            with psycopg.connect(args.pg_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
    print(f"\ncharge moyenne à la fin : {os.getloadavg()[0]:.1f}")
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
