from datetime import date

import pytest

from hygie.lib.csvimport import CsvFileError, parse, parse_date

HEADER = "nom;prenom;date_naissance;sexe"


def _lines(result):
    return [(e.line, e.message) for e in result.errors]


def test_it_reads_windows_1252_with_semicolons_and_accents():
    text = (
        "Nom;Prénom;Date de naissance;Sexe;Téléphone;Antécédents\r\n"
        "Lefèvre;Hélène;03/04/1950;féminin;06 12 34 56 78;HTA\r\n"
    )
    result = parse(text.encode("cp1252"))
    assert result.errors == []
    assert (result.encoding, result.delimiter) == ("windows-1252", ";")
    row = result.rows[0]
    assert (row.birth_name, row.first_names, row.birth_date, row.sex) == ("Lefèvre", "Hélène", date(1950, 4, 3), "F")
    assert (row.phone, row.history, row.line) == ("06 12 34 56 78", "HTA", 2)


def test_it_reads_utf8_with_bom_and_commas():
    result = parse("\ufeffnom,prenom,date_naissance,sexe\nDupré,Noël,1999-12-31,homme\n".encode())
    assert result.errors == []
    assert (result.encoding, result.delimiter) == ("utf-8", ",")
    assert result.rows[0].birth_name == "Dupré"
    assert result.rows[0].sex == "M"


def test_it_accepts_both_date_formats():
    assert parse_date("03/04/1950") == (date(1950, 4, 3), None)
    assert parse_date("1950-04-03") == (date(1950, 4, 3), None)
    assert parse_date("3/4/1950") == (date(1950, 4, 3), None)


def test_it_reports_a_bad_date_at_line_3_without_the_value():
    data = f"{HEADER}\nMartin;Claire;17/05/1980;F\nDurand;Paul;31/02/1980;M\n".encode()
    result = parse(data)
    assert result.rows == []
    assert [e.line for e in result.errors] == [3]
    message = str(result.errors[0])
    assert message.startswith("ligne 3 : ")
    assert "Durand" not in message and "31/02" not in message


def test_it_reports_every_error_of_the_file():
    data = f"{HEADER};email\nA;B;demain;X;pas-un-mail\n;C;01/01/2000;F;\n".encode()
    lines = [line for line, _ in _lines(parse(data))]
    assert lines == [2, 2, 2, 3]


def test_it_reports_a_missing_column():
    result = parse(b"nom;prenom;sexe\nMartin;Claire;F\n")
    assert _lines(result) == [(1, "colonne(s) obligatoire(s) absente(s) : date_naissance.")]


def test_it_reports_an_unknown_column_without_repeating_it():
    result = parse(b"nom;prenom;date_naissance;sexe;Martin\nA;B;01/01/2000;F;x\n")
    assert len(result.errors) == 1
    assert result.errors[0].line == 1
    assert "colonne E" in result.errors[0].message
    assert "Martin" not in result.errors[0].message


def test_it_reports_duplicates_within_the_file():
    data = f"{HEADER}\nLefèvre;Hélène;03/04/1950;F\nLEFEVRE;helene Marie;1950-04-03;F\n".encode()
    assert _lines(parse(data)) == [(3, "même identité qu'à la ligne 2 (doublon dans le fichier).")]


def test_it_keeps_spreadsheet_line_numbers_with_multiline_cells_and_blank_rows():
    data = f'{HEADER};adresse\nA;B;01/01/2000;F;"1 rue X\n69003 Lyon"\n;;;;\nC;D;01/13/2000;F;\n'.encode()
    assert [line for line, _ in _lines(parse(data))] == [4]


def test_it_checks_the_nir_key():
    good = "1800569123456"
    key = 97 - int(good) % 97
    ok = parse(f"{HEADER};ins\nA;B;01/01/1980;M;{good}{key:02d}\n".encode())
    bad = parse(f"{HEADER};ins\nA;B;01/01/1980;M;{good}{(key + 1) % 97:02d}\n".encode())
    assert ok.errors == [] and ok.rows[0].ins == f"{good}{key:02d}"
    assert "clé de contrôle" in bad.errors[0].message


def test_it_reads_the_example_of_the_documentation():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "import-format.md").read_text(encoding="utf-8")
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    result = parse(example.encode())
    assert result.errors == []
    assert [r.line for r in result.rows] == [2, 3]
    assert result.rows[0].address == "12 rue des Tilleuls\n69003 Lyon"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "vide"),
        (b"\n\n", "vide"),
        (HEADER.encode() + b"\n", "aucune ligne"),
        (b"\xff\xfen\x00o\x00m\x00", "UTF-16"),
        (b"nom prenom\nA B\n", "Séparateur"),
    ],
)
def test_it_refuses_files_it_cannot_read(data, reason):
    with pytest.raises(CsvFileError, match=reason):
        parse(data)


def test_it_streams_rows_without_reading_the_whole_file():
    from hygie.lib.csvimport import PatientRow, RowReader

    consumed = []

    def lines():
        yield f"{HEADER}\n"
        for i in range(1_000_000):
            consumed.append(i)
            yield f"Nom{i};Prénom;01/01/2000;F\n"

    first = next(iter(RowReader(lines())))
    assert isinstance(first, PatientRow) and first.line == 2
    assert len(consumed) == 1


def test_it_detects_utf8_when_a_character_is_split_between_chunks():
    from hygie.lib.csvimport import detect_encoding

    data = "nom;prenom\nLefèvre;Hélène\n".encode()
    cut = data.index("è".encode()) + 1  # inside the two bytes of « è »
    assert detect_encoding([data[:cut], data[cut:]]) == "utf-8"
    assert detect_encoding([data[:cut], data[cut:-1], "é".encode("cp1252")]) == "windows-1252"
    with pytest.raises(CsvFileError, match="binaire"):
        detect_encoding([b"nom;prenom\n", b"A;\x00B\n"])
