"""What a `hygie` process imports when it starts (docs/performance.md, « Démarrage »).

Every process pays Django's start-up: the commands, `hygie backup restore` and its helper
processes, the worker, the server. Libraries that only some pages or actions use are imported
where they are used: psycopg with the PostgreSQL backend, `requests` and PyJWT with the Pro Santé
Connect login.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["psycopg", "requests", "urllib3", "jwt"]

CODE = f"""
import json, sys, django
django.setup()
heavy = {HEAVY!r}
print(json.dumps([m for m in heavy if m in sys.modules]))
"""


def test_start_up_on_sqlite_imports_none_of_the_heavy_libraries():
    env = {k: v for k, v in os.environ.items() if k != "HYGIE_DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="hygie.settings", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CODE], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out.splitlines()[-1]) == []
