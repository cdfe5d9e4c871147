# Types of the part of pyrage (age encryption, a compiled module without type information)
# that Hygie uses: hygie/lib/agestream.py and hygie/lib/backuparchive.py.
from typing import BinaryIO

from pyrage import x25519 as x25519

def encrypt_io(reader: BinaryIO, writer: BinaryIO, recipients: list[x25519.Recipient]) -> None: ...
def decrypt_io(reader: BinaryIO, writer: BinaryIO, identities: list[x25519.Identity]) -> None: ...
