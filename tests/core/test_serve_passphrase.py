"""`hygie serve` in passphrase mode, as a real server: unlocked at start from standard input,
or started locked behind its unlock page."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace

from hygie.lib import keyfile
from tests.core.test_serve import ROOT, _free_port

PASSPHRASE = "cheval agrafe batterie correcte soleil lune marée"


def _protected_practice(tmp_path):
    path = tmp_path / "keys.json"
    material = keyfile.create(path)
    # The lowest cost the key file accepts, stored in the file: the server uses it too.
    keyfile.write(path, replace(material, protection=keyfile.Protection.derive(PASSPHRASE, n=2**14)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYGIE_")}
    env.update(HYGIE_ENV="production", HYGIE_DATA_DIR=str(tmp_path / "var"), HYGIE_KEY_FILE=str(path))
    env["HYGIE_EMAIL_BACKEND"] = ""  # SMTP: production refuses a backend that delivers nothing
    return env


def _start(env, tmp_path, *args, stdin_text=""):
    port = _free_port()
    typed = tmp_path / "stdin.txt"
    typed.write_text(stdin_text)
    with typed.open() as stdin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hygie.cli", "serve", "--port", str(port), "--no-worker", *args],
            cwd=ROOT,
            env=env,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    return proc, f"http://127.0.0.1:{port}"


def _get(opener, url, data=None, proc=None):
    """(status, body); waits for the server to listen (migrations first: up to 2 minutes)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            with opener.open(url, data=data, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"the server stopped: {proc.returncode} {proc.stderr.read()}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def test_it_unlocks_at_start_with_the_passphrase_on_stdin(tmp_path):
    env = _protected_practice(tmp_path)
    proc, base = _start(env, tmp_path, "--unlock", "--passphrase-stdin", stdin_text=f"pas la bonne\n{PASSPHRASE}\n")
    try:
        status, body = _get(urllib.request.build_opener(), f"{base}/auth/login/", proc=proc)
        assert status == 200 and "csrfmiddlewaretoken" in body
    finally:
        out, err = _stop(proc)
    assert "Phrase de passe incorrecte." in err and "Clés déverrouillées." in out
    assert PASSPHRASE not in out + err


def test_unlocked_before_forking_every_process_serves(tmp_path):
    """--unlock asks once, before the server processes are forked: each one holds the keys."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.core.test_serve_processes import _children

    env = _protected_practice(tmp_path)
    proc, base = _start(
        env, tmp_path, "--unlock", "--passphrase-stdin", "--processes", "2", stdin_text=f"{PASSPHRASE}\n"
    )
    try:
        assert _get(urllib.request.build_opener(), f"{base}/auth/login/", proc=proc)[0] == 200
        assert len(_children(proc.pid)) == 2  # --no-worker: the two servers only
        with ThreadPoolExecutor(16) as pool:
            opener = urllib.request.build_opener()
            statuses = list(pool.map(lambda _: _get(opener, f"{base}/auth/login/")[0], range(48)))
        assert statuses == [200] * 48  # never the locked page (503) from another process
    finally:
        out, err = _stop(proc)
    assert "Clés déverrouillées." in out and "2 processus de service" in out
    assert PASSPHRASE not in out + err


def test_it_stops_after_three_wrong_passphrases(tmp_path):
    env = _protected_practice(tmp_path)
    proc, _ = _start(
        env, tmp_path, "--unlock", "--passphrase-stdin", stdin_text="un\ndeux\ntrois\n" + PASSPHRASE + "\n"
    )
    try:
        code = proc.wait(timeout=90)
    finally:
        out, err = _stop(proc)
    assert code == 2
    assert err.count("Phrase de passe incorrecte.") == 3 and "Déverrouillage impossible" in err
    assert "disponible" not in out


def test_a_locked_server_shows_its_unlock_page_until_unlocked(tmp_path):
    env = _protected_practice(tmp_path)
    proc, base = _start(env, tmp_path, "--processes", "2")
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    try:
        status, body = _get(opener, f"{base}/", proc=proc)
        assert status == 503 and "Hygie est verrouillé" in body
        assert _get(opener, f"{base}/auth/login/")[0] == 503
        status, body = _get(opener, f"{base}/cles/deverrouiller/")
        assert status == 503
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "passphrase": PASSPHRASE}).encode()
        # Redirected to the dashboard, then to the login page.
        status, body = _get(opener, f"{base}/cles/deverrouiller/", data=form)
        assert status == 200 and "csrfmiddlewaretoken" in body
        assert _get(opener, f"{base}/auth/login/")[0] == 200
    finally:
        out, err = _stop(proc)
    assert "démarre verrouillé" in err and "/cles/deverrouiller/" in err
    # The unlock page unlocks the process that receives it: a locked start keeps one process.
    assert "un seul processus" in err
    assert PASSPHRASE not in out + err
