from tests.retention.conftest import own_key_file  # noqa: F401 - erasures write the register file
