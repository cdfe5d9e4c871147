from __future__ import annotations

import pytest

from hygie.practices.models import Practice


@pytest.fixture
def practice(db) -> Practice:
    return Practice.objects.create(name="Cabinet des Lilas")
