import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_documents_every_environment_variable_in_env_example():
    documented = set(re.findall(r"^(HYGIE_[A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    used = set()
    for path in (ROOT / "hygie").rglob("*.py"):
        used |= set(re.findall(r"env\w*\(\s*\"(HYGIE_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    # Test-only and CLI-only variables are documented where they are used.
    used -= {"HYGIE_TEST_DATABASE_NAME"}
    assert used - documented == set(), f"Document in .env.example: {sorted(used - documented)}"
