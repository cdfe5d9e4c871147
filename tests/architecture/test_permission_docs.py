from pathlib import Path

from hygie.access.policy import ROLE_CAPABILITIES, Cap, Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def _doc_matrix() -> dict[str, dict[str, bool]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| capacité |"))
    roles = [c.strip() for c in lines[start].strip("|").split("|")][1:]
    matrix: dict[str, dict[str, bool]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        matrix[cells[0]] = {role: cell == "oui" for role, cell in zip(roles, cells[1:], strict=True)}
    return matrix


def test_it_documents_exactly_the_matrix_of_the_code():
    doc = _doc_matrix()
    assert set(doc) == {c.value for c in Cap}
    for cap in Cap:
        for role in Role.values:
            assert doc[cap.value][role] == (cap in ROLE_CAPABILITIES[role]), (cap, role)
