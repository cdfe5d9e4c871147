"""MSSanté reception against a real IMAP server: Debian's dovecot, STARTTLS, a certificate made
for the test (tests/exchange/servers.py). Nothing is mocked."""

from __future__ import annotations

import zipfile
from datetime import datetime
from email.message import EmailMessage
from io import BytesIO

import pytest

from hygie.access import records
from hygie.audit.events import Ev
from hygie.audit.models import Event
from hygie.exchange import actions
from hygie.exchange.models import Direction
from hygie.lib import exchange as rules
from hygie.patients import documents as blobs
from tests.exchange.conftest import PDF, PNG, blobs_in
from tests.exchange.servers import Dovecot, make_ca, server_cert

pytestmark = pytest.mark.django_db

SENDER = "labo.biologie@ch-exemple.mssante.fr"
IMAP_PASSWORD = "secret-imap"  # noqa: S105 (the test server's)


@pytest.fixture(scope="module")
def pki():
    ca = make_ca()
    return ca, server_cert(ca)


@pytest.fixture
def dovecot(pki):
    with Dovecot(pki[1], password=IMAP_PASSWORD) as server:
        yield server


@pytest.fixture(autouse=True)
def _short_timeout(settings):
    settings.MSSANTE_TIMEOUT_SECONDS = 5


def configure(personas, ca_pem: str, port: int) -> None:
    actions.save_account(
        actor=personas.adam,
        data={
            "address": "cabinet.lilas@pro.mssante.fr",
            "smtp_host": "localhost", "smtp_port": 587, "smtp_security": "starttls",
            "imap_host": "localhost", "imap_port": port, "imap_security": "starttls",
            "auth": "password", "username": "cabinet", "password": IMAP_PASSWORD, "ca_pem": ca_pem,
        },
    )


def message(*, ins: str | None, extra: list[tuple[str, bytes]] = (), xdm: bytes | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Laboratoire <{SENDER}>"
    msg["To"] = "cabinet.lilas@pro.mssante.fr"
    msg["Subject"] = "Résultats"
    msg["Date"] = "Mon, 05 Jan 2026 10:00:00 +0100"
    msg.set_content("Veuillez trouver les résultats.")
    package = xdm if xdm is not None else rules.xdm_zip(
        [rules.XdmDocument("Bilan sanguin", "application/pdf", PDF, ".pdf")], ins=ins, author="Labo",
        when=datetime(2026, 1, 5),
    )
    msg.add_attachment(package, maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    for name, data in extra:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def test_a_message_from_the_box_is_filed_in_the_record(personas, record, dovecot, pki):
    patient, before = record
    configure(personas, pki[0].pem, dovecot.port)
    dovecot.deliver(message(ins=patient.ins, extra=[("radio.png", PNG)]), pki[0].pem)

    (received,) = actions.inbox(actor=personas.alice)
    assert received.sender.endswith(f"<{SENDER}>") and received.subject == "Résultats"
    assert received.attachments == 2

    exchange = actions.receive_message(actor=personas.alice, patient=patient, uid=received.uid)
    assert exchange.direction == Direction.RECEIVED and exchange.documents == 2
    assert exchange.correspondent == SENDER
    new = [d for d in records.documents_of(personas.alice, patient) if d not in before]
    contents = set()
    for doc in new:
        with blobs.open_blob(doc.storage_name, patient=patient) as fh:
            contents.add(fh.read())
    assert contents == {PDF, PNG}
    event = Event.objects.get(action=Ev.EXCHANGE_RECEIVED)
    assert event.details["via"] == "mssante" and event.details["documents"] == 2
    assert event.details["ignored"] == 3  # README.TXT, INDEX.HTM, METADATA.XML
    assert "mssante" not in str(event.details).replace("'via': 'mssante'", "")
    # Filed: flagged read on the server, it leaves the list.
    assert actions.inbox(actor=personas.alice) == []


def test_a_message_for_another_ins_is_not_filed(personas, record, dovecot, pki, documents_dir):
    patient, _ = record
    configure(personas, pki[0].pem, dovecot.port)
    dovecot.deliver(message(ins="185057800608436"), pki[0].pem)
    (received,) = actions.inbox(actor=personas.alice)
    before = blobs_in(documents_dir)
    with pytest.raises(actions.ActionError, match="INS"):
        actions.receive_message(actor=personas.alice, patient=patient, uid=received.uid)
    assert blobs_in(documents_dir) == before
    assert len(actions.inbox(actor=personas.alice)) == 1  # still there, to file elsewhere


def test_a_hostile_attachment_is_refused_with_nothing_written(personas, record, dovecot, pki, documents_dir):
    patient, _ = record
    configure(personas, pki[0].pem, dovecot.port)
    hostile = BytesIO()
    with zipfile.ZipFile(hostile, "w") as zf:
        zf.writestr("IHE_XDM/SUBSET01/DOC00001.PDF", PDF)
        zf.writestr("../../../etc/cron.d/x", PDF)
    dovecot.deliver(message(ins=None, xdm=hostile.getvalue()), pki[0].pem)
    (received,) = actions.inbox(actor=personas.alice)
    before = blobs_in(documents_dir)
    with pytest.raises(actions.ActionError, match="nom dangereux"):
        actions.receive_message(actor=personas.alice, patient=patient, uid=received.uid)
    assert blobs_in(documents_dir) == before
    assert Event.objects.get(action=Ev.EXCHANGE_RECEPTION_REFUSED).details["via"] == "mssante"


def test_a_wrong_imap_certificate_is_refused(personas, record, dovecot):
    configure(personas, make_ca("Autre autorité").pem, dovecot.port)
    with pytest.raises(actions.ActionError, match="certificat du serveur"):
        actions.inbox(actor=personas.alice)


def test_only_medical_roles_read_the_box(personas, dovecot, pki):
    configure(personas, pki[0].pem, dovecot.port)
    for who in (personas.sophie, personas.fabien, personas.regine, personas.adam):
        with pytest.raises(actions.ActionError, match="rôle"):
            actions.inbox(actor=who)
