from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from hygie.practices.models import Practice

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def practice(db) -> Practice:
    return Practice.objects.create(name="Cabinet des Tilleuls")


def pdf_text(data: bytes, tmp_path: Path, *, mode: str = "-layout") -> str:
    """The real pdftotext (poppler-utils), as a controller's reader would see the text.
    mode "-raw": in drawing order, whitespace folded (text wrapped in table cells reads whole)."""
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", mode, str(path), "-"], check=True, capture_output=True, text=True).stdout
    if mode == "-raw":
        pages = text.split("\f")
        return "\f".join(" ".join(page.split()) for page in pages)
    return text


def gdpr_cli(*args: str) -> str:
    out = io.StringIO()
    call_command("gdpr", *args, stdout=out)
    return out.getvalue()


def register_files(tmp_path: Path) -> tuple[dict, str, str]:
    """The register written by `hygie gdpr register` in the three formats: (json, csv text, pdf text)."""
    gdpr_cli("register", "--format", "json", "--out", str(tmp_path / "r.json"))
    gdpr_cli("register", "--format", "csv", "--out", str(tmp_path / "r.csv"))
    gdpr_cli("register", "--format", "pdf", "--out", str(tmp_path / "r.pdf"))
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    csv_text = (tmp_path / "r.csv").read_bytes().decode("utf-8-sig")
    return data, csv_text, pdf_text((tmp_path / "r.pdf").read_bytes(), tmp_path)
