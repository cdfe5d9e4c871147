"""Fixtures, imported by tests/psc/conftest.py and tests/browser/test_psc.py: a real OpenID
Connect provider shaped like Pro Santé Connect (tests/oidc/server.mjs, Node's `oidc-provider`),
started once per test session; the Django side talks to it over real HTTP."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
CLIENT_ID = "hygie-test"
CLIENT_SECRET = "psc-test-secret"  # noqa: S105 (the local test provider's, nothing else)
TEST_SERVER_CALLBACK = "http://testserver/auth/psc/retour/"


@dataclass
class Op:
    issuer: str

    @property
    def discovery(self) -> str:
        return f"{self.issuer}/.well-known/wallet-openid-configuration"

    @property
    def origin(self) -> str:
        return self.issuer.split("/auth/realms/")[0]

    def fault(self, kind: str) -> None:
        requests.post(f"{self.origin}/__test/fault", params={"kind": kind}, timeout=5).raise_for_status()


@pytest.fixture(scope="session")
def psc_op(live_server) -> Iterator[Op]:
    node = shutil.which("node")
    if node is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("Node and tests/oidc/node_modules are needed: make system-deps (npm ci in tests/oidc)")
    env = {
        "PATH": "/usr/bin:/bin",
        "PSC_TEST_CLIENT_ID": CLIENT_ID,
        "PSC_TEST_CLIENT_SECRET": CLIENT_SECRET,
        "PSC_TEST_REDIRECT_URIS": f"{TEST_SERVER_CALLBACK},{live_server.url}/auth/psc/retour/",
        "PSC_TEST_POST_LOGOUT_URIS": f"http://testserver/auth/login/,{live_server.url}/auth/login/",
    }
    proc = subprocess.Popen(  # noqa: S603
        [node, "server.mjs"], cwd=OIDC_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        pytest.fail(f"the local OpenID Connect provider did not start: {line!r}")
    try:
        yield Op(issuer=line.split()[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def psc_settings(settings, psc_op: Op) -> Op:
    settings.PSC_CLIENT_ID = CLIENT_ID
    settings.PSC_CLIENT_SECRET = CLIENT_SECRET
    settings.PSC_DISCOVERY_URL = psc_op.discovery
    psc_op.fault("none")
    return psc_op
