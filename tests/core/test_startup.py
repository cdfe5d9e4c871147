"""What a `hygie` process imports when it starts (docs/performance.md, « Démarrage »).

Every process pays Django's start-up: the commands, `hygie backup restore` and its helper
processes, the worker, the server. Libraries that only some pages or actions use are imported
where they are used: psycopg with the PostgreSQL backend, `requests` and PyJWT with the Pro Santé
Connect login, reportlab when a PDF is made, py7zr when a 7z archive is written or read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["psycopg", "requests", "urllib3", "jwt", "reportlab", "py7zr"]

CODE = f"""
import json, sys, django
django.setup()
heavy = {HEAVY!r}
after_setup = [m for m in heavy if m in sys.modules]
from django.urls import get_resolver
get_resolver().url_patterns  # what Django's system checks load before most commands
after_urls = [m for m in heavy if m in sys.modules]
print(json.dumps([after_setup, after_urls]))
"""


def test_start_up_on_sqlite_and_the_url_patterns_import_none_of_the_heavy_libraries():
    env = {k: v for k, v in os.environ.items() if k != "HYGIE_DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="hygie.settings", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CODE], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    after_setup, after_urls = json.loads(out.splitlines()[-1])
    assert after_setup == []
    assert after_urls == []
