"""Several Hygie "hosts" on this machine, as a maison de santé or a host would run them: one
PostgreSQL database, one Redis (HYGIE_CACHE_URL), the documents on S3-compatible storage (moto's
server), the same key file; each host its own data dir (its own local disk), its own
`hygie serve` and `hygie worker` processes.

PostgreSQL only: hosts cannot share a SQLite file across machines. Real processes, real
servers; moto stands for the object store (MinIO cannot be installed here).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.backups.servers import ACCESS_KEY, REGION, SECRET_KEY, free_port, moto_endpoint, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
HYGIE = [sys.executable, "-m", "hygie.cli"]


def postgres_conninfo() -> dict:
    from django.db import connection

    params = connection.settings_dict
    return dict(
        host=params["HOST"] or "127.0.0.1", port=params["PORT"] or "5432", user=params["USER"],
        password=params["PASSWORD"] or None,
    )


def postgres_url(conninfo: dict, name: str) -> str:
    user = urllib.parse.quote(conninfo["user"] or "")
    password = f":{urllib.parse.quote(conninfo['password'])}" if conninfo["password"] else ""
    return f"postgresql://{user}{password}@{conninfo['host']}:{conninfo['port']}/{name}"


@dataclass
class Server:
    host: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    database_url: str
    conninfo: dict
    bucket: str
    s3: object
    accounts: dict[str, dict] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)

    def host_env(self, host: str, **extra: str) -> dict[str, str]:
        data = self.root / host
        (data / "tmp").mkdir(parents=True, exist_ok=True)
        return {**self.env, "HYGIE_DATA_DIR": str(data), "TMPDIR": str(data / "tmp"), **extra}

    def hygie(self, *args: str, host: str = "a", timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*HYGIE, *args], cwd=ROOT, env=self.host_env(host, **extra), capture_output=True, text=True,
            timeout=timeout,
        )

    def start_server(self, host: str, *args: str, port: int | None = None, **extra: str) -> Server:
        """`hygie serve` of `host` (extra `args`, e.g. "--processes", "1"), in a process group of its
        own: `kill` can then take the whole server down at once, as a machine that stops would."""
        port = port or free_port()
        log = self.root / f"serve-{host}-{port}.log"
        with log.open("a") as out:
            process = subprocess.Popen(
                [*HYGIE, "serve", "--port", str(port), "--no-worker", *args], cwd=ROOT,
                env=self.host_env(host, **extra), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        server = Server(host, port, process, log)
        self.servers.append(server)
        try:
            wait_for_port(port, timeout=90, process=process)
        except RuntimeError:
            raise AssertionError(log.read_text()) from None
        return server

    def stop(self, server: Server, sig: int = signal.SIGTERM) -> None:
        if server.process.poll() is None:
            server.process.send_signal(sig)
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()

    def kill(self, server: Server) -> None:
        """kill -9 of the server and of every process it forked (the prefork children too)."""
        try:
            os.killpg(server.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.process.wait()

    def sql(self, query: str, *params: object) -> list[tuple]:
        import psycopg

        with psycopg.connect(postgres_url(self.conninfo, self.database_url.rsplit("/", 1)[1])) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def objects(self) -> dict[str, int]:
        found = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):  # type: ignore[attr-defined]
            for item in page.get("Contents", ()):
                found[item["Key"]] = item["Size"]
        return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("plusieurs hôtes partagent une base PostgreSQL (HYGIE_DATABASE_URL=postgresql://…)")
    import shutil

    import psycopg

    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        pytest.skip("redis-server n'est pas installé")
    root = tmp_path_factory.mktemp("cluster")
    conninfo = postgres_conninfo()
    name = f"hygie_cluster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    redis_port = free_port()
    redis = subprocess.Popen(
        [redis_binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = moto_endpoint()
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=Config(s3={"addressing_style": "path"}),
    )
    bucket = f"cluster-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    (root / "secrets").mkdir()
    (root / "secrets" / "s3-secret").write_text(SECRET_KEY)
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYGIE_", "XDG_"))}
    database_url = postgres_url(conninfo, name)
    env.update(
        HOME=str(home), HYGIE_ENV="production", HYGIE_EMAIL_BACKEND="", PYTHONPATH=str(ROOT),
        HYGIE_DATABASE_URL=database_url,
        HYGIE_CACHE_URL=f"redis://127.0.0.1:{redis_port}/0",
        HYGIE_DOCUMENT_STORE=f"s3://{bucket}/cabinet/documents",
        HYGIE_DOCUMENT_STORE_ENDPOINT=endpoint,
        HYGIE_DOCUMENT_STORE_REGION=REGION,
        HYGIE_DOCUMENT_STORE_ACCESS_KEY=ACCESS_KEY,
        HYGIE_DOCUMENT_STORE_SECRET_KEY_FILE=str(root / "secrets" / "s3-secret"),
    )
    cluster = Cluster(root, env, database_url, conninfo, bucket, s3)
    try:
        wait_for_port(redis_port, process=redis)
        demo = cluster.hygie("demo", "--json", "--patients", "4")
        assert demo.returncode == 0, demo.stderr
        cluster.accounts = {a["username"]: a for a in json.loads(demo.stdout)}
        yield cluster
    finally:
        for server in cluster.servers:
            cluster.kill(server)
        redis.kill()
        redis.wait()
        with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def totp(secret: str, at: float | None = None) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time() if at is None else at) // 30))


_used: set[tuple[str, str]] = set()


def log_in(browser, account: dict, code: str | None = None) -> tuple[str, str]:
    """Password then TOTP code; returns where it landed and the page. Without `code`, a code not
    used yet by this account (each is accepted once: waits for the next 30 s step if needed)."""
    if code is None:
        while (account["username"], totp(account["totp_secret"])) in _used:
            time.sleep(1)
        code = totp(account["totp_secret"])
    _used.add((account["username"], code))
    _, page = browser.get("/auth/login/")
    url, page = browser.post("/auth/login/", {"login": account["username"], "password": account["password"]}, page)
    if "/auth/" not in url:
        return url, page
    return browser.post(urllib.parse.urlsplit(url).path, {"code": code}, page)
