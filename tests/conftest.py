from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import Personas


@pytest.fixture
def personas(db) -> Personas:
    return Personas()


@pytest.fixture
def login(client: Client):
    """Sign a persona in (password and second factor done): `login(personas.alice)`."""

    def _login(user) -> Client:
        client.force_login(user, backend="hygie.accounts.backends.HygieBackend")
        return client

    return _login


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path):
    """Each test its own journal checkpoint file: the file outlives the test database, and
    checkpoints written by another test (a worker run, a key-file test signing with its own
    key) would rightly look, to a later verification, like a journal cut from its end."""
    path = tmp_path / "journal-checkpoints.jsonl"
    settings.JOURNAL_CHECKPOINT_FILE = str(path)
    return path


@pytest.fixture(autouse=True)
def no_background_sealer_left():
    """A test that runs `hygie serve` in this process (waitress mocked) turns background sealing
    on: turned off again after it, so that the database's sealer thread does not go on sealing,
    every 100 ms, the events of the tests that follow."""
    yield
    from hygie.audit import sealer

    if sealer.enabled():
        sealer._enabled = False
        sealer.stop()
