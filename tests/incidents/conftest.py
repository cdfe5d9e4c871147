from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path):
    """Each test its own checkpoint file: the file outlives the test database, and checkpoints
    of another test would rightly look like a journal cut from its end."""
    path = tmp_path / "journal-checkpoints.jsonl"
    settings.JOURNAL_CHECKPOINT_FILE = str(path)
    return path
