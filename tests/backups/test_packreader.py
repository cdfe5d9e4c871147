"""Packs read by child processes (hygie.backups.packreader): the same result and the same errors
as read in this process, and a restore of several packs that uses them."""

from __future__ import annotations

import errno
import mmap
import sys

import pytest
from django.core.management import call_command

from hygie.backups import packreader, service
from hygie.backups.stores import StoreError
from hygie.backups.stores.directory import DirectoryStore
from hygie.lib import backuparchive
from hygie.lib.backuparchive import ArchiveError


@pytest.fixture
def packs(practice_data, vault, monkeypatch):
    """A backup whose three documents went into three packs."""
    monkeypatch.setattr(service, "PACK_LIMIT", 1)
    service.run(vault.out)
    found = sorted(p.name for p in (vault.out / "packs").iterdir())
    assert len(found) == 3
    return found


def _in_child(*args, **kwargs):
    """One pack read by a child of its own."""
    with packreader.Readers() as readers:
        return readers.read(*args, **kwargs)


def _secret(vault) -> str:
    return service.load_identity(vault.identity_file)


def _both(vault, pack: str, tmp_path, **kwargs):
    """(in this process, in a child): what each returns or raises, the files each wrote, the
    bytes each reported."""
    store = DirectoryStore(vault.out)
    outcomes = []
    for side in ("here", "child"):
        into = tmp_path / side
        into.mkdir()
        reported: list[int] = []
        names = kwargs.get("names")
        try:
            if side == "here":
                with store.reader(f"packs/{pack}") as fh:
                    result = backuparchive.read(
                        fh, kwargs.get("secret", _secret(vault)), label="L", extract_to=into,
                        select=(lambda n: True) if names is None else names.__contains__, progress=reported.append,
                    )
            else:
                result = _in_child(
                    store, f"packs/{pack}", kwargs.get("secret", _secret(vault)), label="L", extract_to=into,
                    names=names if names is not None else _members(vault, pack), progress=reported.append,
                )
        except (ArchiveError, StoreError, OSError) as exc:
            result = exc
        files = {p.relative_to(into).as_posix(): p.read_bytes() for p in into.rglob("*") if p.is_file()}
        outcomes.append((result, files, sum(reported)))
    return outcomes


def _members(vault, pack: str) -> list[str]:
    with DirectoryStore(vault.out).reader(f"packs/{pack}") as fh:
        return [n for n in backuparchive.read(fh, _secret(vault), label="L").members]


def test_a_child_reads_a_pack_as_this_process_does(packs, vault, tmp_path):
    (here, here_files, here_bytes), (child, child_files, child_bytes) = _both(vault, packs[0], tmp_path)
    assert isinstance(child, backuparchive.Checked)
    assert child == here  # members with sizes and hashes, manifest (raw and parsed), signature
    assert child_files == here_files and len(child_files) == 1
    assert child_bytes == here_bytes == sum(size for size, _ in here.members.values())


def test_only_the_names_asked_for_are_written(packs, vault, tmp_path):
    (_here, here_files, _), (child, child_files, _) = _both(vault, packs[0], tmp_path, names=[])
    assert isinstance(child, backuparchive.Checked) and child.members  # still read and checked
    assert here_files == child_files == {}


def test_a_damaged_pack_gives_the_same_french_error(packs, vault, tmp_path):
    path = vault.out / "packs" / packs[1]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    (here, _, _), (child, child_files, _) = _both(vault, packs[1], tmp_path, names=_names_before_damage(vault))
    assert isinstance(here, ArchiveError) and type(child) is ArchiveError
    assert str(child) == str(here)
    assert child_files == {}  # nothing unauthenticated was written


def _names_before_damage(vault) -> list[str]:
    return [p.relative_to(vault.data_dir).as_posix() for p in vault.data_dir.joinpath("documents").iterdir()]


@pytest.mark.parametrize("keep", [0, 100, None], ids=["empty", "header-only", "cut-in-the-middle"])
def test_a_pack_cut_short_gives_the_same_french_error(packs, vault, tmp_path, keep):
    # An empty file cannot be mapped: the child reads it as a file; the others through a mapping.
    path = vault.out / "packs" / packs[1]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 if keep is None else keep])
    (here, _, _), (child, child_files, _) = _both(vault, packs[1], tmp_path, names=_names_before_damage(vault))
    assert isinstance(here, ArchiveError) and type(child) is ArchiveError
    assert str(child) == str(here)
    assert child_files == {}


def test_a_child_decrypts_the_pack_from_a_memory_mapping(packs, vault, tmp_path):
    path = vault.out / "packs" / packs[0]
    with DirectoryStore(vault.out).reader(f"packs/{packs[0]}") as fh, packreader._mapped(fh) as source:
        assert isinstance(source, mmap.mmap) and source[:] == path.read_bytes()
    assert source.closed
    empty = tmp_path / "empty.age"
    empty.write_bytes(b"")
    with open(empty, "rb") as fh, packreader._mapped(fh) as source:
        assert source is fh  # nothing to map: read as a file


def test_another_identity_gives_the_same_french_error(packs, vault, tmp_path):
    other, _ = backuparchive.generate_identity()
    (here, _, _), (child, _, _) = _both(vault, packs[0], tmp_path, secret=other, names=[])
    assert isinstance(here, ArchiveError) and str(child) == str(here)
    assert "identité" in str(child)


def test_a_missing_pack_gives_the_same_store_error(packs, vault, tmp_path):
    (here, _, _), (child, _, _) = _both(vault, "pack-absent.age", tmp_path, names=[])
    assert isinstance(here, StoreError) and type(child) is StoreError and str(child) == str(here)


def test_a_write_that_fails_raises_the_same_os_error(packs, vault, tmp_path):
    # Where the documents folder should go, a file: creating it fails, in either process.
    for side in ("here", "child"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "documents").write_bytes(b"")
    store = DirectoryStore(vault.out)
    with store.reader(f"packs/{packs[0]}") as fh, pytest.raises(OSError) as here:
        backuparchive.read(fh, _secret(vault), label="L", extract_to=tmp_path / "here")
    with pytest.raises(OSError) as child:
        _in_child(store, f"packs/{packs[0]}", _secret(vault), label="L", extract_to=tmp_path / "child",
                  names=_members(vault, packs[0]), progress=lambda n: None)
    assert type(child.value) is type(here.value) and child.value.errno == here.value.errno
    assert child.value.errno in (errno.EEXIST, errno.ENOTDIR)


def test_the_identity_is_not_on_the_child_command_line(packs, vault, monkeypatch):
    seen: list[list[str]] = []
    real = packreader._command
    monkeypatch.setattr(packreader, "_command", lambda: seen.append(real()) or real())
    _in_child(DirectoryStore(vault.out), f"packs/{packs[0]}", _secret(vault), label="L",
              extract_to=None, names=[], progress=lambda n: None)
    assert seen and not any("AGE-SECRET-KEY" in arg.upper() for arg in seen[0])


def test_a_restore_of_several_packs_reads_them_in_children(packs, vault, restore_target, monkeypatch):
    used: list[str] = []
    real = packreader.Readers.read

    def spy(self, store, name, *args, **kwargs):
        used.append(name)
        return real(self, store, name, *args, **kwargs)

    monkeypatch.setattr(packreader.Readers, "read", spy)
    args = ["backup", "restore", str(vault.out), "--to", str(restore_target.data_dir)]
    if restore_target.database_url:
        args += ["--database-url", restore_target.database_url]
    call_command(*args)
    assert sorted(used) == [f"packs/{p}" for p in packs]
    source = vault.data_dir / "documents"
    restored = restore_target.data_dir / "documents"
    assert sorted(p.name for p in restored.iterdir()) == sorted(p.name for p in source.iterdir())
    for blob in source.iterdir():
        assert (restored / blob.name).read_bytes() == blob.read_bytes()
    # `backup verify` reads them in children too, and finds them good.
    used.clear()
    assert [reason for _, reason in service.verify(service.directory_location(vault.out))] == [None]
    assert sorted(used) == [f"packs/{p}" for p in packs]


def test_a_child_reads_pack_after_pack_and_ends_with_the_readers(packs, vault, tmp_path, monkeypatch):
    started = []
    real = packreader._command
    monkeypatch.setattr(packreader, "_command", lambda: started.append(1) or real())
    with packreader.Readers() as readers:
        for pack in packs:
            checked = readers.read(DirectoryStore(vault.out), f"packs/{pack}", _secret(vault), label="L",
                                   extract_to=tmp_path, names=_members(vault, pack), progress=lambda n: None)
            assert len(checked.members) == 1
        children = list(readers._started)
    assert len(started) == 1  # one at a time: the same child read the three packs
    assert len(list((tmp_path / "documents").iterdir())) == 3
    assert all(child.poll() == 0 for child in children)  # ended when asked, not killed


def test_a_child_that_dies_is_a_clear_error_and_is_replaced(packs, vault, monkeypatch):
    real = packreader._command
    commands = iter([[sys.executable, "-c", "import sys; sys.exit(3)"]])
    monkeypatch.setattr(packreader, "_command", lambda: next(commands, None) or real())
    with packreader.Readers() as readers:
        with pytest.raises(ArchiveError, match="lecture interrompue"):
            readers.read(DirectoryStore(vault.out), f"packs/{packs[0]}", _secret(vault), label="L",
                         extract_to=None, names=[], progress=lambda n: None)
        checked = readers.read(DirectoryStore(vault.out), f"packs/{packs[0]}", _secret(vault), label="L",
                               extract_to=None, names=[], progress=lambda n: None)
    assert len(checked.members) == 1


def test_a_single_pack_is_read_in_this_process(practice_data, vault, monkeypatch):
    service.run(vault.out)
    monkeypatch.setattr(packreader.Readers, "read", lambda *a, **k: pytest.fail("no child for one pack"))
    assert [reason for _, reason in service.verify(service.directory_location(vault.out))] == [None]
