"""No patient id and no query string in the server log (issue 18 item 12)."""

from __future__ import annotations

import io
import logging
import re

import pytest
from django.test import Client

from hygie.web import logfilters

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@pytest.fixture
def server_log():
    """What the configured console handler (settings.LOGGING) writes, filters included."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)
                   and any(isinstance(f, logfilters.RedactFilter) for f in h.filters))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_a_csrf_failure_on_a_patient_page_logs_a_short_id_not_the_uuid(personas, server_log):
    patient = personas.alice_patient
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.alice, backend="hygie.accounts.backends.HygieBackend")

    response = client.post(f"/patients/{patient.public_id}/?onglet=documents", {"x": "1"})

    assert response.status_code == 403
    line = server_log.getvalue()
    assert "Forbidden (CSRF" in line and "/patients/" in line
    assert str(patient.public_id) not in line and not UUID.search(line)
    assert logfilters.short_id(str(patient.public_id)) in line
    assert "onglet" not in line


def test_the_same_uuid_gets_the_same_short_id_within_a_run():
    value = "0b7e7a52-6b7e-4c1e-9d1b-2f8f0e3f4a11"
    assert logfilters.short_id(value) == logfilters.short_id(value.upper())
    assert logfilters.short_id(value) != logfilters.short_id("1b7e7a52-6b7e-4c1e-9d1b-2f8f0e3f4a11")
    assert re.fullmatch(r"id:[0-9a-f]{8}", logfilters.short_id(value))


def test_it_redacts_arguments_and_tracebacks(server_log):
    value = "0b7e7a52-6b7e-4c1e-9d1b-2f8f0e3f4a11"
    log = logging.getLogger("hygie.test")
    try:
        raise LookupError(f"UUID('{value}') introuvable")
    except LookupError:
        log.exception("Échec sur %s", f"/patients/{value}/documents/?q=x")
    text = server_log.getvalue()
    assert value not in text and "q=x" not in text
    assert text.count(logfilters.short_id(value)) == 2  # the message and the traceback


def test_it_leaves_other_hex_alone():
    request_id, digest = "a" * 32, "b" * 64
    assert logfilters.redact(f"requête {request_id} empreinte {digest}") == f"requête {request_id} empreinte {digest}"
