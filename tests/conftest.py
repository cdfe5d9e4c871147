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
