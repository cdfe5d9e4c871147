from tests.psc.fixtures import psc_op, psc_settings  # noqa: F401 (fixtures)
