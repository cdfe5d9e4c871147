"""deploy/: what can be checked on this machine without a container runtime.

- the systemd units pass `systemd-analyze verify` (with ExecStart pointed at this checkout's
  hygie, which must exist for the check);
- the Caddyfiles pass `caddy validate`, the nginx site passes `nginx -t` (Debian's binaries);
- compose.yaml parses and has the layout docs/operations.md describes (PostgreSQL, Redis, an
  S3-compatible store, two app servers, a worker, the proxy), with secrets only as files.
The same layout runs for real, as local processes, in tests/core/test_several_servers.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.core.test_serve_proxy import _certificate

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
HYGIE_BIN = ROOT / ".venv" / "bin" / "hygie"


def test_the_systemd_units_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None or not HYGIE_BIN.exists():
        pytest.skip("systemd-analyze or .venv/bin/hygie missing")
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        text = unit.read_text().replace("/opt/hygie/.venv/bin/hygie", str(HYGIE_BIN))
        (tmp_path / unit.name).write_text(text)
        units.append(str(tmp_path / unit.name))
    assert [Path(u).name for u in units] == ["hygie-serve.service", "hygie-worker.service"]
    result = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_the_units_run_the_right_commands_hardened_with_secrets_as_credentials():
    serve = (DEPLOY / "systemd" / "hygie-serve.service").read_text()
    worker = (DEPLOY / "systemd" / "hygie-worker.service").read_text()
    assert re.search(r"^ExecStart=\S+/hygie serve .*--no-worker$", serve, re.M)
    assert re.search(r"^ExecStart=\S+/hygie worker$", worker, re.M)
    for unit in (serve, worker):
        for line in ("NoNewPrivileges=true", "ProtectSystem=strict", "ReadWritePaths=/var/lib/hygie", "User=hygie",
                     "Environment=HYGIE_DOCUMENT_STORE_SECRET_KEY_FILE=%d/s3-secret-key"):
            assert line in unit.splitlines(), line
        assert not re.search(r"(SECRET|PASSWORD)[A-Z_]*=(?!%d/)", unit), "a secret in a unit"


def test_the_caddyfiles_validate(tmp_path):
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed")
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    for name in ("Caddyfile", "compose.Caddyfile"):
        text = (DEPLOY / "caddy" / name).read_text().replace("/var/log/caddy/", f"{tmp_path}/")
        (tmp_path / name).write_text(text)
        result = subprocess.run([caddy, "validate", "--config", str(tmp_path / name), "--adapter", "caddyfile"],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
        assert result.returncode == 0 and "Valid configuration" in result.stdout + result.stderr, result.stderr
        assert "reverse_proxy" in text and "lb_policy" in text and "health_uri /auth/login/" in text


def test_the_nginx_site_passes_nginx_t(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed")
    cert, key = _certificate(tmp_path)
    site = (
        (DEPLOY / "nginx" / "hygie.conf").read_text()
        .replace("/etc/ssl/certs/cabinet.pem", str(cert))
        .replace("/etc/ssl/private/cabinet.key", str(key))
        .replace("/var/log/nginx/", f"{tmp_path}/")
    )
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"    {kind}_temp_path {tmp_path / kind};" for kind in kinds)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'} warn;\nevents {{}}\nhttp {{\n{temp}\n"
        f"{(DEPLOY / 'nginx' / 'log-format.conf').read_text()}\n{site}\n}}\n"
    )
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                             "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_the_compose_file_has_the_documented_layout():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "s3", "app1", "app2", "worker", "proxy"} <= set(services)
    for name in ("app1", "app2", "worker"):
        service = services[name]
        env = service["environment"]
        assert env["HYGIE_DATABASE_URL"].startswith("postgresql://") and "@postgres:" in env["HYGIE_DATABASE_URL"]
        assert env["HYGIE_CACHE_URL"].startswith("redis://redis:")
        assert env["HYGIE_DOCUMENT_STORE"].startswith("s3://") and env["HYGIE_DOCUMENT_STORE_ENDPOINT"] == "http://s3:9000"
        assert env["HYGIE_BEHIND_PROXY"] == "true"
        assert env["HYGIE_TRUSTED_PROXY"] == services["proxy"]["networks"]["private"]["ipv4_address"]
        # Each host its own data dir; keys and secrets from files, never inline.
        assert any(v.endswith(":/var/lib/hygie") for v in service["volumes"])
        assert not any(k.endswith(("SECRET_KEY", "ACCESS_KEY", "PASSWORD")) for k in env), env
    assert services["worker"]["command"] == ["hygie", "worker"]
    assert "--no-worker" in (DEPLOY / "Dockerfile").read_text()
    assert all("file" in s for s in compose["secrets"].values())
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")
    # The settings the app servers are given are the ones Hygie reads.
    documented = set(re.findall(r"^(HYGIE_[A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    for name in ("app1", "worker"):
        used = {k if k in documented else k.removesuffix("_FILE")
                for k in services[name]["environment"] if k.startswith("HYGIE_")}
        assert used <= documented, used - documented
