"""Pure rules of the secure exchange (hygie/lib/exchange.py)."""

from __future__ import annotations

import io
import math
import zipfile
from datetime import datetime

import pytest

from hygie.lib import exchange as rules
from hygie.lib import passwords


def test_the_passphrase_is_seven_words_of_the_french_list_over_80_bits():
    # CNIL délibération 2022-100: 80 bits for a password used alone. log2(7776) = 12.92 bits a word.
    assert len(passwords.french_words()) == 7776
    assert rules.PASSPHRASE_WORDS == 7
    assert rules.passphrase_bits(7) == pytest.approx(7 * math.log2(7776))
    assert rules.passphrase_bits(7) >= 80 > rules.passphrase_bits(6)
    words = set(passwords.french_words())
    phrase = rules.new_passphrase()
    assert len(phrase.split("-")) == 7
    assert all(w in words for w in phrase.split("-"))
    assert rules.new_passphrase() != phrase


def test_it_refuses_a_passphrase_under_80_bits():
    with pytest.raises(ValueError):
        rules.new_passphrase(6)


@pytest.mark.parametrize(
    ("address", "mssante"),
    [
        ("jean.dupont@medecin.mssante.fr", True),
        ("Jean.Dupont@PRO.MSSANTE.FR", True),
        ("labo@ch-exemple.mssante.fr", True),
        ("x@mssante.fr", True),
        ("jean.dupont@gmail.com", False),
        ("x@mssante.fr.evil.com", False),
        ("x@evilmssante.fr", False),
    ],
)
def test_it_tells_mssante_addresses(address, mssante):
    assert rules.is_mssante_domain(rules.domain_of(address)) is mssante


def test_extra_domains_count_as_mssante():
    assert rules.is_mssante_domain("ch-lilas.fr", ["ch-lilas.fr"])
    assert rules.is_mssante_domain("messagerie.ch-lilas.fr", ["ch-lilas.fr"])
    assert not rules.is_mssante_domain("ch-lilas.fr", [])


@pytest.mark.parametrize("bad", ["", "pas une adresse", "a@b", "@medecin.mssante.fr", "a..b@mssante.fr", "a@-x.fr"])
def test_it_refuses_what_is_not_an_address(bad):
    with pytest.raises(rules.AddressError):
        rules.normalise_address(bad)


@pytest.mark.parametrize(
    "name",
    ["../etc/passwd", "a/../../b", "/etc/passwd", "\\windows\\x", "C:\\x", "a\\..\\b", "x\x00y", "a/./b", ""],
)
def test_it_finds_dangerous_member_names(name):
    assert rules.unsafe_name(name) is not None


@pytest.mark.parametrize(
    "name", ["compte-rendu.pdf", "IHE_XDM/SUBSET01/DOC00001.PDF", "résultats 2024.pdf", "a..b.pdf"]
)
def test_it_accepts_plain_names(name):
    assert rules.unsafe_name(name) is None


def test_it_checks_a_listing_before_anything_is_extracted():
    limits = rules.Limits(max_files=3, max_member_bytes=100, max_total_bytes=150, max_ratio=10)
    ok = [rules.Member("a.pdf", 60), rules.Member("d", 0, is_dir=True), rules.Member("b.pdf", 60)]
    rules.check_members(ok, limits)
    refused = {
        "fichiers": [rules.Member(f"{n}.pdf", 1) for n in range(4)],
        "nom dangereux": [rules.Member("../x.pdf", 1)],
        "lien symbolique": [rules.Member("x", 1, is_symlink=True)],
        "fichier spécial": [rules.Member("x", 1, is_special=True)],
        "dépasse": [rules.Member("x", 101)],
        "Mo une fois décompressée": [rules.Member("a", 100), rules.Member("b", 100)],
    }
    for words, members in refused.items():
        with pytest.raises(rules.ArchiveRefused, match=words):
            rules.check_members(members, limits)


def test_it_refuses_an_abnormal_compression_ratio():
    limits = rules.Limits()
    with pytest.raises(rules.ArchiveRefused, match="bombe"):
        rules.check_members([rules.Member("a", 40 * 1024 * 1024, packed=40 * 1024)], limits)


def test_the_budget_stops_an_archive_that_lies_about_its_sizes():
    budget = rules.Budget(rules.Limits(max_member_bytes=10, max_total_bytes=15))
    budget.spend("a", 10)
    with pytest.raises(rules.ArchiveRefused):
        budget.spend("a", 1)
    budget = rules.Budget(rules.Limits(max_member_bytes=10, max_total_bytes=15))
    budget.spend("a", 10)
    with pytest.raises(rules.ArchiveRefused):
        budget.spend("b", 6)


def test_the_xdm_package_has_its_files_in_8_3_names_and_the_ins_in_its_metadata():
    docs = [rules.XdmDocument("Compte rendu", "application/pdf", b"%PDF-1.4 x", ".pdf"),
            rules.XdmDocument("Radio", "image/jpeg", b"\xff\xd8\xff jpeg", ".jpg")]
    data = rules.xdm_zip(docs, ins="185057800608436", author="Dr Durand", when=datetime(2026, 1, 2, 3, 4, 5))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert names == [
            "README.TXT", "INDEX.HTM", "IHE_XDM/SUBSET01/METADATA.XML",
            "IHE_XDM/SUBSET01/DOC00001.PDF", "IHE_XDM/SUBSET01/DOC00002.JPG",
        ]
        metadata = zf.read("IHE_XDM/SUBSET01/METADATA.XML")
        assert zf.read("IHE_XDM/SUBSET01/DOC00002.JPG") == b"\xff\xd8\xff jpeg"
    assert rules.ins_from_metadata(metadata) == "185057800608436"
    text = metadata.decode()
    assert "1.2.250.1.213.1.4.8" in text and "DOC00001.PDF" in text and "20260102030405" in text


def test_without_a_qualified_identity_the_metadata_names_no_patient():
    data = rules.xdm_zip([rules.XdmDocument("CR", "application/pdf", b"%PDF-", ".pdf")], ins=None, author="Dr",
                         when=datetime(2026, 1, 1))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        metadata = zf.read("IHE_XDM/SUBSET01/METADATA.XML")
    assert rules.ins_from_metadata(metadata) is None
    assert b"1.2.250.1.213.1.4.8" not in metadata


def test_a_broken_metadata_gives_no_ins():
    assert rules.ins_from_metadata(b"<not xml") is None
