from django.contrib.auth.hashers import Argon2PasswordHasher


class TestArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with a tiny cost, for the test suite only (HYGIE_ENV=test): same code path,
    a thousand logins in seconds. Never used outside tests."""

    algorithm = "argon2"
    time_cost = 1
    memory_cost = 256
    parallelism = 1
