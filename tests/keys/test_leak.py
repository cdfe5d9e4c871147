"""The acceptance test of encryption at rest: no patient data in clear anywhere on disk.

A real server (`python -m hygie.cli serve`) with its own data dir and HOME (the key file in its
default place, ~/.config/hygie). Patients with unique canary names are imported from a CSV,
then used as a practitioner would over HTTP: search, open, edit identity and antécédents, a
consultation, a document upload and download, the agenda's patient picker and a booking, a care
sheet, the accountant's export and the note d'honoraires. Then every file under the data dir and HOME
(database, WAL and journal files, documents, temporary files, logs, key dir), what the server
printed, and on PostgreSQL a pg_dump of the database, are searched for each canary: UTF-8,
UTF-16 LE/BE, any letter case, composed and decomposed accents, and folded.

Run twice: documents on the local disk, and on S3-compatible object storage (moto's server,
HYGIE_DOCUMENT_STORE=s3://…): then every object's key and content is searched as well.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unicodedata
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.db import connection

from hygie.lib.text import fold

ROOT = Path(__file__).resolve().parents[2]

CANARIES = {
    "birth_name": "Quenélisquâ",
    "first_names": "Xaviérondïx",
    "usage_name": "Ombrelïnque",
    "address": "Impasse Vûlcanorbe",
    "phone_hint": "Téléphonarque",
    "history": "Pathölogicanar",
    "motif": "Motifcanarïe",
    "observations": "Obsérvacanar",
    "document": "Docucanarzèbre",
    "edited": "Nouvocanarôm",
    "ins": "283057512345624",
    "agenda_reason": "Rendezcanarïo",
    "acts": "Actecanarüs",
}


def variants(text: str) -> set[bytes]:
    forms = set()
    for base in (text, fold(text)):
        for cased in (base, base.upper(), base.lower(), base.title()):
            for norm in ("NFC", "NFD"):
                value = unicodedata.normalize(norm, cased)
                for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                    forms.add(value.encode(encoding))
    return forms


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """Just enough of a browser: cookies, CSRF tokens, forms, multipart upload."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.geturl(), r.read().decode("utf-8", errors="replace")

    def get_bytes(self, path: str) -> bytes:
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.read()

    def csrf(self, page: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def post(self, path: str, data: dict, page: str | None = None) -> tuple[str, str]:
        page = page if page is not None else self.get(path)[1]
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.csrf(page), **data}).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path})  # noqa: S310
        with self.opener.open(request, timeout=30) as r:
            return r.geturl(), r.read().decode("utf-8", errors="replace")

    def upload(self, path: str, fields: dict, filename: str, content: bytes) -> str:
        page = self.get(path)[1]
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in {"csrfmiddlewaretoken": self.csrf(page), **fields}.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: application/pdf\r\n\r\n".encode() + content + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        request = urllib.request.Request(  # noqa: S310
            self.base + path,
            data=b"".join(parts),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": self.base + path},
        )
        with self.opener.open(request, timeout=60) as r:
            return r.geturl()


def _pdf_with(text: str) -> bytes:
    from hygie.core.demo import tiny_pdf

    # tiny_pdf folds its title: put the canary in clear bytes too, as a scanner would.
    return tiny_pdf(text) + f"\n% {text} {text.upper()}\n".encode()


@pytest.fixture
def postgres_database():
    """On PostgreSQL, a database of its own for the server (dropped at the end)."""
    if connection.vendor != "postgresql":
        yield None
        return
    import psycopg

    params = connection.settings_dict
    name = f"hygie_leak_{uuid.uuid4().hex[:8]}"
    conninfo = dict(
        host=params["HOST"] or "127.0.0.1", port=params["PORT"] or "5432", user=params["USER"],
        password=params["PASSWORD"] or None, dbname="postgres",
    )
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    user = urllib.parse.quote(params["USER"] or "")
    password = f":{urllib.parse.quote(params['PASSWORD'])}" if params["PASSWORD"] else ""
    url = f"postgresql://{user}{password}@{conninfo['host']}:{conninfo['port']}/{name}"
    yield url, conninfo, name
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["local", "s3"])
def document_store(request, tmp_path):
    """Environment for where the documents go, and a function listing the objects (key -> body)."""
    if request.param == "local":
        return {}, None
    import boto3
    from botocore.config import Config

    from tests.backups.servers import ACCESS_KEY, REGION, SECRET_KEY, S3Server, moto_endpoint

    endpoint = moto_endpoint()  # the session's moto server (tests/backups/servers.py), a new bucket
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=Config(s3={"addressing_style": "path"}),
    )
    server = S3Server(endpoint_url=endpoint, bucket="", client=client)
    server.bucket = server.create_bucket()
    secret = tmp_path / "s3-secret"
    secret.write_text(server.secret_key + "\n")
    env = {
        "HYGIE_DOCUMENT_STORE": f"s3://{server.bucket}/hygie/documents",
        "HYGIE_DOCUMENT_STORE_ENDPOINT": server.endpoint_url,
        "HYGIE_DOCUMENT_STORE_REGION": server.region,
        "HYGIE_DOCUMENT_STORE_ACCESS_KEY": server.access_key,
        "HYGIE_DOCUMENT_STORE_SECRET_KEY_FILE": str(secret),
    }

    def objects() -> dict[str, bytes]:
        found = {}
        for item in server.client.list_objects_v2(Bucket=server.bucket).get("Contents", ()):
            found[item["Key"]] = server.client.get_object(Bucket=server.bucket, Key=item["Key"])["Body"].read()
        return found

    return env, objects


def test_no_canary_in_clear_anywhere(tmp_path, postgres_database, document_store):
    home, data, outside = tmp_path / "home", tmp_path / "data", tmp_path / "outside"
    for d in (home, data, outside):
        d.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYGIE_", "XDG_"))}
    env.update(HOME=str(home), HYGIE_ENV="production", HYGIE_DATA_DIR=str(data), TMPDIR=str(data / "tmp"))
    env["HYGIE_EMAIL_BACKEND"] = ""  # SMTP: production refuses a backend that delivers nothing
    if postgres_database:
        env["HYGIE_DATABASE_URL"] = postgres_database[0]
    store_env, list_objects = document_store
    env.update(store_env)

    def hygie(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hygie.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )

    printed: list[str] = []
    demo = hygie("demo", "--json", "--patients", "4")
    assert demo.returncode == 0, demo.stderr
    printed += [demo.stdout, demo.stderr]
    accounts = {a["username"]: a for a in json.loads(demo.stdout)}
    key_file = home / ".config" / "hygie" / "keys.json"
    assert key_file.exists()

    c = CANARIES
    csv = outside / "patients.csv"
    csv.write_text(
        "nom;prenom;date_naissance;sexe;nom_usage;ins;telephone;adresse;antecedents\n"
        f"{c['birth_name']};{c['first_names']};17/05/1983;F;{c['usage_name']};{c['ins']};06 11 22 33 44;"
        f"{c['address']};{c['history']}\n"
        f"{c['birth_name']}-Bis;Jean {c['phone_hint']};02/02/1950;M;;;;;\n",
        encoding="utf-8",
    )
    imported = hygie("patients", "import", str(csv), "--practitioner", "dr.martin")
    assert imported.returncode == 0, imported.stderr
    printed += [imported.stdout, imported.stderr]

    port = _free_port()
    server_out, server_err = outside / "server.out", outside / "server.err"
    with server_out.open("w") as out, server_err.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hygie.cli", "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=err
        )
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                _, page = browser.get("/auth/login/")
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, server_err.read_text()
                time.sleep(0.3)
        martin = accounts["dr.martin"]
        url, page = browser.post("/auth/login/", {"login": "dr.martin", "password": martin["password"]}, page)
        code = format_hotp_value(hotp_value(martin["totp_secret"], int(time.time()) // 30))
        url, page = browser.post(urllib.parse.urlsplit(url).path, {"code": code}, page)
        assert "/auth/" not in url, page[:500]

        # Search « quenel » (folded prefix) finds « Quenélisquâ ».
        _, page = browser.post("/patients/recherche/", {"q": "quenel"}, browser.get("/patients/")[1])
        ids = re.findall(r'href="/patients/([0-9a-f-]{36})/"', page)
        assert c["birth_name"].upper() in page or unicodedata.normalize("NFC", c["usage_name"].upper()) in page
        assert ids
        patient = f"/patients/{ids[0]}/"
        _, page = browser.get(patient)
        assert c["history"] in page

        _, form = browser.get(patient + "modifier/")
        browser.post(
            patient + "modifier/",
            {
                "birth_name": c["birth_name"], "usage_name": c["edited"], "first_names": c["first_names"],
                "birth_date": "1983-05-17", "sex": "F", "ins": c["ins"], "phone": "06 11 22 33 44",
                "email": "", "address": c["address"],
            },
            form,
        )
        browser.post(patient + "antecedents/", {"history": c["history"] + " " + c["edited"]})
        browser.post(
            patient + "consultations/nouvelle/",
            {"date": "2026-01-05T10:00", "motif": c["motif"], "observations": c["observations"]},
        )
        browser.upload(patient + "documents/ajouter/", {"title": c["document"], "kind": "compte_rendu"},
                       "scan.pdf", _pdf_with(c["document"]))
        _, page = browser.get(patient)
        assert c["edited"].upper() in page and c["motif"] in page and c["document"] in page
        doc = re.search(r'href="/patients/documents/([0-9a-f-]{36})/"', page).group(1)
        assert c["document"].encode() in browser.get_bytes(f"/patients/documents/{doc}/")
        _, page = browser.post("/patients/recherche/", {"q": "nouvocanar"}, browser.get("/patients/")[1])
        assert ids[0] in page

        # The agenda: the patient picker (the query POSTed: never in a URL or a log line), a
        # booking with a reason, the week grid.
        _, form = browser.get("/agenda/nouveau/")
        martin_id = re.search(r'<option value="([0-9a-f-]{36})" selected>', form).group(1)
        _, found = browser.post("/agenda/patients/", {"q": "quenel", "praticien": martin_id}, form)
        assert ids[0] in [r["id"] for r in json.loads(found)["results"]]
        browser.post("/agenda/nouveau/", {
            "practitioner": martin_id, "patient": ids[0], "day": "2030-01-09", "time": "10:00",
            "duration_minutes": "20", "reason": c["agenda_reason"],
        }, form)
        _, page = browser.get("/agenda/?jour=2030-01-09")
        assert c["agenda_reason"] in page and ids[0] in page
        # Billing: a care sheet, the list, the accountant's export (codes only), the receipt.
        browser.post("/facturation/nouvelle/", {
            "patient": ids[0], "practitioner": martin_id, "date": "05/01/2026", "acts": c["acts"],
            "amount": "1 890,00",
        })
        _, page = browser.get("/facturation/")
        assert c["acts"] in page and "1\u202f890,00" in page
        exported = browser.get_bytes("/facturation/export.csv").decode("utf-8-sig")
        assert "1890,00" in exported and c["birth_name"].upper() not in exported.upper()
        sheet = re.search(r'href="/facturation/([0-9a-f-]{36})/note-honoraires.pdf"', page).group(1)
        assert browser.get_bytes(f"/facturation/{sheet}/note-honoraires.pdf").startswith(b"%PDF")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    printed += [server_out.read_text(), server_err.read_text()]

    haystacks: dict[str, bytes] = {f"printed output {i}": s.encode() for i, s in enumerate(printed)}
    for root in (data, home):
        for path in root.rglob("*"):
            if path.is_file():
                haystacks[str(path)] = path.read_bytes()
    names = set(haystacks)
    assert any(n.endswith("hygie.sqlite3") for n in names) or postgres_database
    assert str(key_file) in names
    if list_objects is None:
        assert any("/documents/" in n for n in names)
    else:
        assert not any(f"{data}/documents/" in n for n in names), "documents left on the local disk"
        stored = list_objects()
        assert len(stored) >= 2  # the demo's documents and the canary upload
        for key, body in stored.items():
            assert re.fullmatch(r"hygie/documents/[0-9a-f]{32}", key), key
            haystacks[f"s3 object {key}"] = body
        haystacks["s3 object keys"] = "\n".join(stored).encode()
    if postgres_database:
        _, conninfo, name = postgres_database
        dump_env = {**os.environ, "PGPASSWORD": conninfo["password"] or ""}
        pg_dump = shutil.which("pg_dump") or "/usr/bin/pg_dump"
        dumped = subprocess.run(
            [pg_dump, "-h", conninfo["host"], "-p", str(conninfo["port"]), "-U", conninfo["user"], name],
            capture_output=True, env=dump_env, check=True, timeout=120,
        ).stdout
        assert b"patients_patient" in dumped
        haystacks["pg_dump"] = dumped

    # The detector works: the CSV handed to the import (kept outside) holds the imported canaries.
    given = csv.read_bytes()
    assert all(any(f in given for f in variants(CANARIES[k])) for k in ("birth_name", "history", "ins", "address"))

    leaks = []
    for field, canary in CANARIES.items():
        for form in variants(canary):
            for where, content in haystacks.items():
                if form in content:
                    leaks.append(f"{field} ({form!r}) in {where}")
    assert leaks == []
