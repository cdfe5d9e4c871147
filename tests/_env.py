"""Loaded by pytest before Django (see `-p tests._env` in pyproject): a private data dir and
key file per test run, so the suite never touches a real practice."""

import os
import tempfile
from pathlib import Path

_root = Path(tempfile.mkdtemp(prefix="hygie-tests-"))
os.environ["HYGIE_ENV"] = "test"
os.environ.setdefault("HYGIE_DATA_DIR", str(_root / "var"))
os.environ.setdefault("HYGIE_KEY_FILE", str(_root / "keys" / "keys.json"))
os.environ.setdefault("HYGIE_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# Every frozen query (hygie.core.frozen) is checked against a fresh compilation of the ORM.
os.environ["HYGIE_FROZEN_CHECK"] = "1"

from hygie.lib import keyfile  # noqa: E402

keyfile.load_or_create(Path(os.environ["HYGIE_KEY_FILE"]))
TEST_ROOT = _root
