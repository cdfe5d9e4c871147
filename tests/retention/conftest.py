from __future__ import annotations

import shutil

import pytest

from hygie.keys import service
from tests.backups.conftest import practice_data, restore_target, vault  # noqa: F401 - fixtures for test_restore


@pytest.fixture
def own_key_file(tmp_path, settings):
    """A copy of the suite's key file: erasures append to the register file next to it."""
    path = tmp_path / "keys" / "keys.json"
    path.parent.mkdir()
    shutil.copy(settings.KEY_FILE, path)
    settings.KEY_FILE = path
    service.reset()
    yield path
    service.reset()
