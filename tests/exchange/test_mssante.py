"""MSSanté sending against a real local SMTP server (aiosmtpd) with STARTTLS and a certificate
made for the test: the message arrives with its IHE_XDM.ZIP; a wrong certificate, a server
without STARTTLS, a refused password fail in French with nothing sent; a non-MSSanté address is
refused before any connection."""

from __future__ import annotations

import email
import email.policy
import io
import socket
import zipfile

import pytest
from django.db import connection

from hygie.audit.events import Ev, Outcome
from hygie.audit.models import Event
from hygie.exchange import account as accounts
from hygie.exchange import actions
from hygie.exchange.content import Selection
from hygie.exchange.models import Direction, Exchange, MssanteAccount
from hygie.lib import exchange as rules
from tests.exchange.conftest import PDF, PNG
from tests.exchange.servers import SmtpServer, client_cert, free_port, key_pem, make_ca, server_cert

pytestmark = pytest.mark.django_db

RECIPIENT = "dr.martin@medecin.mssante.fr"


@pytest.fixture(scope="module")
def pki():
    ca = make_ca()
    return ca, server_cert(ca)


SMTP_PASSWORD = "secret-de-test-smtp"  # noqa: S105 (the test server's)


def configure(personas, ca_pem: str, port: int, *, password: str = SMTP_PASSWORD) -> MssanteAccount:
    return actions.save_account(
        actor=personas.adam,
        data={
            "address": "cabinet.lilas@pro.mssante.fr",
            "smtp_host": "localhost", "smtp_port": port, "smtp_security": "starttls",
            "imap_host": "localhost", "imap_port": 143, "imap_security": "starttls",
            "auth": "password", "username": "cabinet", "password": password, "ca_pem": ca_pem,
        },
    )


@pytest.fixture(autouse=True)
def _short_timeout(settings):
    settings.MSSANTE_TIMEOUT_SECONDS = 5


@pytest.fixture
def smtp(tmp_path, pki):
    with SmtpServer(tmp_path, pki[1]) as server:
        yield server


def _selection(record) -> Selection:
    patient, docs = record
    return Selection(patient=patient, documents=docs)


def test_the_message_arrives_with_its_xdm_package(personas, record, smtp, pki):
    configure(personas, pki[0].pem, smtp.port)
    exchange = actions.send_message(actor=personas.alice, selection=_selection(record), recipient=RECIPIENT,
                                    note="Pour avis, merci.")
    (raw,) = smtp.mailbox.messages
    assert smtp.mailbox.envelopes == [("cabinet.lilas@pro.mssante.fr", [RECIPIENT])]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == actions.SUBJECT and "Moreau" not in raw.decode("latin-1")
    assert "Pour avis, merci." in msg.get_body(("plain",)).get_content()
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "IHE_XDM.ZIP"
    with zipfile.ZipFile(io.BytesIO(attachment.get_payload(decode=True))) as zf:
        assert zf.read("IHE_XDM/SUBSET01/DOC00001.PDF") == PDF
        assert zf.read("IHE_XDM/SUBSET01/DOC00002.PNG") == PNG
        assert {"README.TXT", "INDEX.HTM"} <= set(zf.namelist())
        assert rules.ins_from_metadata(zf.read("IHE_XDM/SUBSET01/METADATA.XML")) == "285057800608432"

    assert exchange.direction == Direction.SENT and exchange.correspondent == RECIPIENT
    event = Event.objects.get(action=Ev.EXCHANGE_MESSAGE_SENT)
    assert event.outcome == Outcome.SUCCESS and event.details["documents"] == 2 and event.details["ins"] is True
    assert "mssante" not in str(event.details) and "martin" not in str(event.details)
    # The address is encrypted at rest, with the patient's key.
    with connection.cursor() as cursor:
        cursor.execute("SELECT correspondent FROM exchange_exchange WHERE id = %s", [exchange.pk])
        (stored,) = cursor.fetchone()
    assert "martin" not in stored


def test_a_wrong_server_certificate_is_refused(personas, record, smtp):
    other_ca = make_ca("Autre autorité")
    configure(personas, other_ca.pem, smtp.port)
    with pytest.raises(actions.ActionError, match="certificat du serveur"):
        actions.send_message(actor=personas.alice, selection=_selection(record), recipient=RECIPIENT)
    assert smtp.mailbox.messages == []
    assert not Exchange.objects.exists()
    assert Event.objects.get(action=Ev.EXCHANGE_MESSAGE_SENT).outcome == Outcome.FAILURE


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # that server is the point
def test_a_server_without_starttls_is_refused(personas, record, tmp_path, pki):
    with SmtpServer(tmp_path, pki[1], starttls=False) as plain:
        configure(personas, pki[0].pem, plain.port)
        with pytest.raises(actions.ActionError, match="STARTTLS"):
            actions.send_message(actor=personas.alice, selection=_selection(record), recipient=RECIPIENT)
        assert plain.mailbox.messages == []


def test_a_refused_password_says_so(personas, record, smtp, pki):
    configure(personas, pki[0].pem, smtp.port, password="pas-le-bon")
    with pytest.raises(actions.ActionError, match="mot de passe refusé"):
        actions.send_message(actor=personas.alice, selection=_selection(record), recipient=RECIPIENT)
    assert smtp.mailbox.messages == []


def test_an_unreachable_server_says_so(personas, record, pki):
    configure(personas, pki[0].pem, free_port())
    with pytest.raises(actions.ActionError, match="Envoi impossible : connexion refusée"):
        actions.send_message(actor=personas.alice, selection=_selection(record), recipient=RECIPIENT)


@pytest.mark.parametrize("address", ["dr.martin@gmail.com", "x@mssante.fr.example.com", "pas une adresse"])
def test_a_non_mssante_address_is_refused_before_any_connection(personas, record, pki, address):
    # A listening socket that counts what connects to it: nothing may.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        configure(personas, pki[0].pem, listener.getsockname()[1])
        with pytest.raises(actions.ActionError, match="MSSanté|invalide"):
            actions.send_message(actor=personas.alice, selection=_selection(record), recipient=address)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert not Event.objects.filter(action=Ev.EXCHANGE_MESSAGE_SENT).exists()


def test_an_address_a_titulaire_vouched_for_is_accepted(personas, record, smtp, pki, settings):
    configure(personas, pki[0].pem, smtp.port)
    with pytest.raises(actions.ActionError):
        actions.mark_recipient(actor=personas.remi, address="labo@ch-lilas.fr")  # a locum cannot
    actions.mark_recipient(actor=personas.alice, address="Labo@CH-Lilas.fr")
    actions.send_message(actor=personas.alice, selection=_selection(record), recipient="labo@ch-lilas.fr")
    assert smtp.mailbox.envelopes[0][1] == ["labo@ch-lilas.fr"]
    settings.MSSANTE_DOMAINS = ["chu-exemple.fr"]
    actions.send_message(actor=personas.alice, selection=_selection(record), recipient="x@chu-exemple.fr")
    assert len(smtp.mailbox.messages) == 2


def test_nothing_leaves_during_a_lockdown(personas, record, smtp, pki, monkeypatch):
    configure(personas, pki[0].pem, smtp.port)
    monkeypatch.setattr(actions, "lockdown_active", lambda: True)
    with pytest.raises(actions.ActionError, match="isolé"):
        actions.send_message(actor=personas.alice, selection=_selection(record), recipient=RECIPIENT)
    assert smtp.mailbox.messages == []


def test_a_message_too_large_for_the_operator_is_refused(personas, record, smtp, pki, settings):
    configure(personas, pki[0].pem, smtp.port)
    settings.MSSANTE_MAX_MB = 0  # below the two small documents
    with pytest.raises(actions.ActionError, match="dépassent"):
        actions.send_message(actor=personas.alice, selection=_selection(record), recipient=RECIPIENT)
    assert smtp.mailbox.messages == []


def test_only_medical_roles_send(personas, record, smtp, pki):
    configure(personas, pki[0].pem, smtp.port)
    for who in (personas.sophie, personas.fabien, personas.regine, personas.adam):
        with pytest.raises(actions.ActionError, match="rôle"):
            actions.send_message(actor=who, selection=_selection(record), recipient=RECIPIENT)
    assert smtp.mailbox.messages == []


def test_the_account_secret_is_encrypted_and_bound_to_its_row(personas, pki):
    acc = configure(personas, pki[0].pem, 587)
    assert b"secret-de-test-smtp" not in bytes(acc.secret)
    assert accounts.get_secret(acc) == {"password": "secret-de-test-smtp"}
    other = MssanteAccount(address="x@pro.mssante.fr", smtp_host="h", imap_host="h", secret=acc.secret)
    with pytest.raises(accounts.AccountError):
        accounts.get_secret(other)
    event = Event.objects.get(action=Ev.MSSANTE_ACCOUNT_CHANGED)
    assert "secret" not in str(event.details)
    # A blank password keeps the saved one.
    actions.save_account(actor=personas.adam, data={
        "address": "cabinet.lilas@pro.mssante.fr", "smtp_host": "localhost", "smtp_port": 587,
        "smtp_security": "starttls", "imap_host": "localhost", "imap_port": 143, "imap_security": "starttls",
        "auth": "password", "username": "cabinet", "password": "", "ca_pem": "",
    })
    assert accounts.get_secret(accounts.current()) == {"password": "secret-de-test-smtp"}


def test_the_account_form_rules(personas):
    with pytest.raises(actions.ActionError, match="adresse MSSanté"):
        actions.save_account(actor=personas.adam, data={
            "address": "cabinet@gmail.com", "smtp_host": "smtp", "smtp_port": 587, "smtp_security": "starttls",
            "imap_host": "imap", "imap_port": 143, "imap_security": "starttls", "auth": "password",
            "username": "u", "password": "p", "ca_pem": "",
        })
    with pytest.raises(actions.ActionError, match="rôle"):
        actions.save_account(actor=personas.alice, data={})
    assert accounts.current() is None


def _certificate_account(personas, ca_pem: str, port: int, client) -> MssanteAccount:
    return actions.save_account(
        actor=personas.adam,
        data={
            "address": "cabinet.lilas@pro.mssante.fr",
            "smtp_host": "localhost", "smtp_port": port, "smtp_security": "starttls",
            "imap_host": "localhost", "imap_port": 143, "imap_security": "starttls",
            "auth": "certificate", "client_cert_pem": client.pem, "private_key": key_pem(client), "ca_pem": ca_pem,
        },
    )


def test_a_client_certificate_authenticates_the_practice(personas, record, tmp_path, pki):
    # The operator's server requires a client certificate from its authority (IGC-Santé in real life).
    authority = make_ca("IGC-Santé de test")
    with SmtpServer(tmp_path, pki[1], client_ca=authority) as server:
        acc = _certificate_account(personas, pki[0].pem, server.port, client_cert(authority))
        assert "PRIVATE KEY" not in acc.client_cert_pem and b"PRIVATE" not in bytes(acc.secret)
        actions.send_message(actor=personas.alice, selection=_selection(record), recipient=RECIPIENT)
        assert len(server.mailbox.messages) == 1
        # A certificate from another authority is refused by the server: nothing is delivered.
        _certificate_account(personas, pki[0].pem, server.port, client_cert(make_ca("Autre")))
        with pytest.raises(actions.ActionError, match="Envoi impossible"):
            actions.send_message(actor=personas.alice, selection=_selection(record), recipient=RECIPIENT)
        assert len(server.mailbox.messages) == 1
