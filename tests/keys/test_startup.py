import pytest

from hygie.keys import service
from hygie.keys.startup import KeysMismatch, check_keys_open_the_data
from hygie.lib import keyfile


def test_it_accepts_the_right_key_file(personas):
    check_keys_open_the_data()


def test_it_refuses_another_practices_key_file(personas, own_key_file):
    keyfile.write(own_key_file, keyfile.new_material())
    service.reset()
    with pytest.raises(KeysMismatch, match="ne contient pas la clé maîtresse"):
        check_keys_open_the_data()


def test_it_refuses_a_missing_key_file(personas, own_key_file):
    own_key_file.unlink()
    service.reset()
    with pytest.raises(KeysMismatch, match="hygie keys recover"):
        check_keys_open_the_data()
