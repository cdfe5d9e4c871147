"""age encryption (pyrage) in a child process, so that it runs beside the process that reads,
hashes and tars the files rather than in turn with it. (Backups are decrypted in the reading
process itself: hygie.lib.agedecrypt.)

pyrage holds the GIL while it encrypts or decrypts, and reads its input through Python calls:
in a thread of the backup process it takes turns with the tar writer (the backup bench
measured 1.34× restic's time that way). In its own process it uses the second core.

    python -m hygie.lib.agestream encrypt age1… [age1…]     stdin: plaintext → stdout: age file

On failure the child exits 1 and writes one line on stderr, `errno N` for a system error (full
disk…) or `age MESSAGE` for a refusal of age (a bad recipient).
"""

from __future__ import annotations

import os
import sys


def _fail(exc: BaseException) -> int:
    if isinstance(exc, OSError) and exc.errno is not None:
        sys.stderr.write(f"errno {exc.errno}\n")
    else:
        sys.stderr.write("age " + " ".join(str(exc).split())[:300] + "\n")
    sys.stderr.flush()
    return 1


def main(argv: list[str]) -> int:
    import pyrage
    from pyrage import x25519

    stdin = os.fdopen(sys.stdin.fileno(), "rb", buffering=1024 * 1024, closefd=False)
    stdout = os.fdopen(sys.stdout.fileno(), "wb", buffering=1024 * 1024, closefd=False)
    try:
        if argv[0] == "encrypt":
            recipients = [x25519.Recipient.from_str(r) for r in argv[1:]]
            pyrage.encrypt_io(stdin, stdout, recipients)
        else:
            raise ValueError("usage: encrypt RECIPIENT…")
        stdout.flush()
    except BaseException as exc:  # reported on stderr for the parent to translate
        return _fail(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
