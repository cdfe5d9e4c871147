"""Documents on the local disk against documents on S3-compatible storage: time and peak memory
of one large upload (sealed while it is read, as hygie.patients.actions.upload_document does)
and of its download (decrypted while it is read).

Run: .venv/bin/python bench/bench_document_store.py [--mb 200] [--rounds 2]

The S3 side is moto's server in its own process (MinIO cannot be installed here), so that the
peak memory printed (tracemalloc, this process only) is Hygie's. Local and S3 alternate, the
best round of each is kept, and the ratios S3 / local are printed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MB = 1024 * 1024


class Source(io.RawIOBase):
    """`size` bytes of a PDF-looking file, made while read: the bench holds no copy."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.first = True
        self.block = os.urandom(64 * 1024)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        piece = (b"%PDF-1.4\n" + self.block)[: 64 * 1024] if self.first else self.block
        self.first = False
        piece = piece[: self.left]
        self.left -= len(piece)
        return piece


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _once(patient, size: int) -> dict[str, float]:
    from hygie.patients import documents

    tracemalloc.start()
    started = time.perf_counter()
    blob = documents.save_stream(Source(size), patient=patient, limit=size + 1)
    upload = time.perf_counter() - started
    _, upload_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    digest = hashlib.sha256()
    with documents.open_blob(blob.storage_name, patient=patient) as fh:
        while chunk := fh.read(64 * 1024):
            digest.update(chunk)
    download = time.perf_counter() - started
    _, download_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    documents.delete_blob(blob.storage_name)
    return {"upload_s": upload, "download_s": download, "upload_peak_mb": upload_peak / MB,
            "download_peak_mb": download_peak / MB}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hygie-bench-store-"))
    os.environ.update(HYGIE_ENV="test", HYGIE_DATA_DIR=str(work / "var"), HYGIE_KEY_FILE=str(work / "keys.json"),
                      HYGIE_DATABASE_URL="", DJANGO_SETTINGS_MODULE="hygie.settings")
    port = _free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from hygie.lib import keyfile

        keyfile.create(Path(os.environ["HYGIE_KEY_FILE"]))
        import django

        django.setup()
        import boto3
        from django.conf import settings

        from hygie.core import startup
        from hygie.patients import blobstore
        from tests.factories import make_patient, make_user

        startup.prepare_database()
        patient = make_patient(make_user("dr.mesure", "titulaire", mfa=False))
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_bucket(Bucket="bench-documents")
        stores = {
            "local": {"kind": "local"},
            "s3": {"kind": "s3", "bucket": "bench-documents", "prefix": "docs", "endpoint": endpoint,
                   "region": "us-east-1", "access_key": "bench", "secret_key": "bench"},
        }
        best: dict[str, dict[str, float]] = {}
        for round_ in range(args.rounds):
            order = ["local", "s3"] if round_ % 2 == 0 else ["s3", "local"]
            for name in order:
                settings.DOCUMENT_STORE = stores[name]
                blobstore._store_for.cache_clear()
                got = _once(patient, args.mb * MB)
                print(f"round {round_ + 1} {name:5}: " + ", ".join(f"{k} {v:.2f}" for k, v in got.items()))
                if name not in best or got["upload_s"] + got["download_s"] < best[name]["upload_s"] + best[name][
                        "download_s"]:
                    best[name] = got
        print(f"\n{args.mb} MB document, best of {args.rounds} round(s):")
        for name, got in best.items():
            print(f"  {name:5}: upload {got['upload_s']:.2f} s (peak {got['upload_peak_mb']:.1f} MB), "
                  f"download {got['download_s']:.2f} s (peak {got['download_peak_mb']:.1f} MB)")
        for key in ("upload_s", "download_s"):
            print(f"  ratio s3/local {key}: {best['s3'][key] / best['local'][key]:.2f}")
    finally:
        moto.kill()
        moto.wait()


if __name__ == "__main__":
    main()
