"""Read a CSV export of patients (from a spreadsheet or a former software). Pure: no Django.

`RowReader(lines)` streams a file of any length: it yields each valid row and each error, with
its line number as the user sees it in a spreadsheet (the header is line 1) and a French reason;
`detect_encoding(chunks)` reads the encoding beforehand. `parse(data)` does both on bytes in
memory. An error never repeats a value of the file: the terminal may be seen by others, and
values are patient data.

Adding a column: name it in REQUIRED or OPTIONAL (and _ALIASES for other spellings), read its
cell in `_read_row`, add the field to `PatientRow` and `model_fields`.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from hygie.lib import retention
from hygie.lib.text import compact, fold

REQUIRED = ("nom", "prenom", "date_naissance", "sexe")
OPTIONAL = (
    "nom_usage", "ins", "telephone", "email", "adresse", "antecedents", "derniere_consultation", "date_deces"
)
COLUMNS = REQUIRED + OPTIONAL

# Header spellings found in spreadsheets, folded (see `_column_key`), to the column they mean.
_ALIASES = {
    "nom_de_naissance": "nom",
    "nom_naissance": "nom",
    "prenoms": "prenom",
    "date_de_naissance": "date_naissance",
    "nom_d_usage": "nom_usage",
    "nir": "ins",
    "tel": "telephone",
    "e_mail": "email",
    "courriel": "email",
    "mail": "email",
    "date_derniere_consultation": "derniere_consultation",
    "dernier_passage": "derniere_consultation",
    "date_de_deces": "date_deces",
    "deces": "date_deces",
}

_SEX = {
    "f": "F",
    "femme": "F",
    "feminin": "F",
    "m": "M",
    "h": "M",
    "homme": "M",
    "masculin": "M",
    "i": "I",
    "indetermine": "I",
}

# A physical line longer than this is no patient row (a spreadsheet cell holds 32,767 characters).
MAX_LINE_CHARS = 1_000_000
_BINARY = "Ce fichier n'est pas un fichier CSV (contenu binaire)."

_MAX_LENGTH = {"nom": 100, "nom_usage": 100, "prenom": 150, "telephone": 30, "email": 254}
_DATE_FR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_PHONE = re.compile(r"^\+?[0-9 .\-()]{6,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INS = re.compile(r"^[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6}(?:[0-9]{2})?$")


class CsvFileError(Exception):
    """The file as a whole cannot be read (empty, not text, unknown encoding). French message."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"ligne {self.line} : {self.message}"


@dataclass(frozen=True)
class PatientRow:
    """One valid row, with the names of the patient model's fields."""

    line: int
    birth_name: str
    first_names: str
    birth_date: date
    sex: str
    usage_name: str = ""
    ins: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    history: str = ""
    # Retention (hygie.lib.retention): the last consultation the former software knew, the death.
    declared_last_visit: date | None = None
    death_date: date | None = None

    def identity_key(self) -> tuple[str, str, str]:
        return identity_key(self.birth_name, self.first_names, self.birth_date)

    def model_fields(self) -> dict[str, object]:
        return {
            "birth_name": self.birth_name,
            "usage_name": self.usage_name,
            "first_names": self.first_names,
            "birth_date": self.birth_date,
            "sex": self.sex,
            "ins": self.ins,
            "phone": self.phone,
            "email": self.email,
            "address": self.address,
            "history": self.history,
            "declared_last_visit": self.declared_last_visit,
            "death_date": self.death_date,
        }


@dataclass(frozen=True)
class ParseResult:
    rows: list[PatientRow]
    errors: list[RowError]
    encoding: str
    delimiter: str


def identity_key(birth_name: str, first_names: str, birth_date: date) -> tuple[str, str, str]:
    """The identity as hygie.lib.fingerprint compares it: names folded, first given name."""
    first = first_names.split(" ")[0] if first_names.strip() else ""
    return compact(birth_name), compact(first), birth_date.isoformat()


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: UTF-8 (with or without BOM), else Windows-1252."""
    encoding = detect_encoding([data])
    return data.decode("utf-8-sig" if encoding == "utf-8" else encoding), encoding


def detect_encoding(chunks: Iterable[bytes]) -> str:
    """"utf-8" or "windows-1252", read from the whole file given in chunks (streamed: a file
    is UTF-8 only if every byte of it decodes as UTF-8)."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    is_utf8, is_cp1252, first = True, True, True
    for chunk in chunks:
        if first and chunk:
            first = False
            if chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise CsvFileError(
                    "Ce fichier est en UTF-16 (« texte Unicode »). Enregistrez-le au format "
                    "« CSV UTF-8 » ou « CSV (séparateur : point-virgule) » puis recommencez."
                )
        if b"\x00" in chunk:
            raise CsvFileError(_BINARY)
        if is_utf8:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                is_utf8 = False
        if not is_utf8:
            try:
                cp1252.decode(chunk)
            except UnicodeDecodeError:
                is_cp1252 = False
                break
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass  # cut in the middle of a character: not UTF-8
    if is_cp1252:
        return "windows-1252"
    raise CsvFileError("Encodage du fichier non reconnu : enregistrez-le en « CSV UTF-8 » ou en CSV Windows.")


def python_codec(encoding: str) -> str:
    """The codec that reads a file of this encoding (the BOM of a UTF-8 file is dropped)."""
    return "utf-8-sig" if encoding == "utf-8" else "cp1252"


def detect_delimiter(header_line: str) -> str:
    """Comma or semicolon, whichever the header uses more (French spreadsheets use `;`)."""
    semicolons, commas = header_line.count(";"), header_line.count(",")
    if semicolons == 0 and commas == 0:
        raise CsvFileError(
            "Séparateur introuvable sur la première ligne : les colonnes doivent être séparées "
            "par des virgules ou des points-virgules."
        )
    return ";" if semicolons >= commas else ","


def lines_of(text: TextIO, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of a text stream opened with newline="", each read on its own: a file with
    no line break is refused once a line passes `max_chars` instead of being read whole."""
    while True:
        line = text.readline(max_chars + 1)
        if not line:
            return
        if len(line) > max_chars:
            limit = f"{max_chars:,}".replace(",", "\u202f")
            raise CsvFileError(
                f"Une ligne du fichier dépasse {limit} caractères : ce n'est pas un export de patients. "
                "Vérifiez le fichier."
            )
        if "\x00" in line:
            raise CsvFileError(_BINARY)
        yield line


class RowReader:
    """Reads a CSV of patients one record at a time, without holding the file.

    Iterating yields, in file order, a `PatientRow` for each valid row and a `RowError` for each
    problem (several for one bad row). A file whose header is wrong yields the header's errors
    only. Duplicates within the file are found through a digest of each identity (16 bytes a
    row, whatever the length of the names). `delimiter` is known once iteration has begun.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.delimiter = ""
        self.records = 0  # non-blank records read after the header

    def __iter__(self) -> Iterator[PatientRow | RowError]:
        skipped = 0  # blank lines before the header
        header_line = ""
        for text in self._lines:
            if text.strip():
                header_line = text
                break
            skipped += 1
        if not header_line:
            raise CsvFileError("Le fichier est vide.")
        self.delimiter = detect_delimiter(header_line)
        records = csv.reader(itertools.chain([header_line], self._lines), delimiter=self.delimiter, strict=True)
        try:
            # The header is the first non-blank row; line numbers stay those of the spreadsheet.
            header = next(records)
            columns, errors = _read_header(header, skipped + 1)
            if errors:
                yield from errors
                return
            seen: dict[bytes, int] = {}
            for line, record in enumerate(records, start=skipped + 2):
                if not any(cell.strip() for cell in record):
                    continue  # an empty spreadsheet row
                self.records += 1
                row, row_errors, key = _read_row(line, columns, record)
                yield from row_errors
                # Duplicates are looked for even in rows with other errors: every error in one pass.
                if key is not None:
                    digest = hashlib.blake2b("\x1f".join(key).encode(), digest_size=16).digest()
                    first = seen.setdefault(digest, line)
                    if first != line:
                        yield RowError(line, f"même identité qu'à la ligne {first} (doublon dans le fichier).")
                        continue
                if row is not None:
                    yield row
        except csv.Error:
            raise CsvFileError(
                "Le fichier CSV est mal formé (guillemets non refermés ?). Ouvrez-le dans un tableur "
                "et enregistrez-le de nouveau au format CSV."
            ) from None
        if not self.records:
            raise CsvFileError("Le fichier ne contient aucune ligne de patient après l'en-tête.")


def parse(data: bytes) -> ParseResult:
    """The whole file at once (small files, tests): every row, or every error."""
    text, encoding = decode(data)
    if not text.strip():
        raise CsvFileError("Le fichier est vide.")
    reader = RowReader(lines_of(io.StringIO(text, newline="")))
    rows: list[PatientRow] = []
    errors: list[RowError] = []
    for item in reader:
        if isinstance(item, RowError):
            errors.append(item)
        else:
            rows.append(item)
    return ParseResult(rows if not errors else [], errors, encoding, reader.delimiter)


def _column_key(name: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", fold(name)).strip("_")
    return _ALIASES.get(key, key)


def _read_header(header: list[str], line: int) -> tuple[list[str | None], list[RowError]]:
    """The column each position holds (None: an empty trailing column), and header errors."""
    errors: list[RowError] = []
    columns: list[str | None] = []
    for position, name in enumerate(header, start=1):
        if not name.strip():
            columns.append(None)
            continue
        key = _column_key(name)
        if key not in COLUMNS:
            # The header cell is not repeated: a file without a header has a patient there.
            errors.append(
                RowError(
                    line,
                    f"en-tête de la colonne {_letter(position)} non reconnu. Colonnes possibles : "
                    f"{', '.join(COLUMNS)}.",
                )
            )
        elif key in columns:
            errors.append(RowError(line, f"la colonne « {key} » apparaît deux fois."))
        columns.append(key)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        errors.append(RowError(line, f"colonne(s) obligatoire(s) absente(s) : {', '.join(missing)}."))
    return columns, errors


def _letter(position: int) -> str:
    """The spreadsheet name of a column: 1 → A, 27 → AA."""
    name = ""
    while position:
        position, rest = divmod(position - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _read_row(
    line: int, columns: list[str | None], record: list[str]
) -> tuple[PatientRow | None, list[RowError], tuple[str, str, str] | None]:
    """The row if valid, its errors, and its identity key when names and birth date are readable."""
    errors: list[RowError] = []
    if len(record) > len(columns) and any(cell.strip() for cell in record[len(columns) :]):
        return (
            None,
            [RowError(line, f"{len(record)} valeurs pour {len(columns)} colonnes (séparateur en trop ?).")],
            None,
        )
    values: dict[str, str] = {}
    for position, column in enumerate(columns):
        cell = record[position].strip() if position < len(record) else ""
        if column is None:
            if cell:
                errors.append(RowError(line, f"valeur dans la colonne {_letter(position + 1)}, qui n'a pas d'en-tête."))
            continue
        values[column] = unicodedata.normalize("NFC", cell)

    for column in REQUIRED:
        if not values.get(column):
            errors.append(RowError(line, f"la colonne « {column} » est vide."))
    for column, limit in _MAX_LENGTH.items():
        if len(values.get(column, "")) > limit:
            errors.append(RowError(line, f"la colonne « {column} » dépasse {limit} caractères."))

    birth_date = None
    if values.get("date_naissance"):
        birth_date, problem = parse_date(values["date_naissance"])
        if problem:
            errors.append(RowError(line, problem))
    sex = None
    if values.get("sexe"):
        sex = _SEX.get(fold(values["sexe"]))
        if sex is None:
            errors.append(RowError(line, "sexe non reconnu : attendu F, M ou I (ou femme, homme)."))
    ins = re.sub(r"[\s.]", "", values.get("ins", "")).upper()
    if ins:
        problem = ins_problem(ins)
        if problem:
            errors.append(RowError(line, problem))
    phone = values.get("telephone", "")
    if phone and not _PHONE.match(phone):
        errors.append(RowError(line, "numéro de téléphone invalide (chiffres, espaces, +, points ou tirets)."))
    email = values.get("email", "")
    if email and not _EMAIL.match(email):
        errors.append(RowError(line, "adresse e-mail invalide."))

    last_visit = death = None
    if values.get("derniere_consultation"):
        last_visit, problem = parse_date(values["derniere_consultation"], what="date de dernière consultation")
        if problem:
            errors.append(RowError(line, problem))
    if values.get("date_deces"):
        death, problem = parse_date(values["date_deces"], what="date de décès")
        if problem:
            errors.append(RowError(line, problem))
    if birth_date is not None and (last_visit is not None or death is not None):
        try:
            retention.check_dates(birth=birth_date, last_visit=last_visit, death=death)
        except retention.RetentionInputError as exc:
            errors.append(RowError(line, _lower_first(str(exc))))

    key = None
    if values.get("nom") and values.get("prenom") and birth_date is not None:
        key = identity_key(values["nom"], values["prenom"], birth_date)
    if errors or birth_date is None or sex is None:
        return None, errors, key
    return (
        PatientRow(
            line=line,
            birth_name=values["nom"],
            first_names=values["prenom"],
            birth_date=birth_date,
            sex=sex,
            usage_name=values.get("nom_usage", ""),
            ins=ins,
            phone=phone,
            email=email,
            address=values.get("adresse", ""),
            history=values.get("antecedents", ""),
            declared_last_visit=last_visit,
            death_date=death,
        ),
        [],
        key,
    )


def parse_date(
    value: str, *, today: date | None = None, what: str = "date de naissance"
) -> tuple[date | None, str | None]:
    """JJ/MM/AAAA or AAAA-MM-JJ. Returns the date or a French reason that repeats no value."""
    today = today or date.today()
    match = _DATE_FR.match(value)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        match = _DATE_ISO.match(value)
        if not match:
            return None, f"{what} illisible : attendu JJ/MM/AAAA ou AAAA-MM-JJ."
        year, month, day = (int(g) for g in match.groups())
    try:
        result = date(year, month, day)
    except ValueError:
        return None, f"{what} impossible (jour ou mois hors limites)."
    if result > today:
        return None, f"{what} dans le futur."
    if result.year < 1880:
        return None, f"{what} antérieure à 1880."
    return result, None


def _lower_first(message: str) -> str:
    return message[:1].lower() + message[1:]


def ins_problem(ins: str) -> str | None:
    """The NIR on 13 characters, or 15 with its key (checked). Corsica: 2A / 2B."""
    if not _INS.match(ins):
        return "INS / NIR invalide : 13 ou 15 caractères attendus (chiffres, 2A ou 2B pour la Corse)."
    if len(ins) == 15:
        number = int(ins[:13].replace("2A", "19").replace("2B", "18"))
        if 97 - number % 97 != int(ins[13:]):
            return "INS / NIR invalide : la clé de contrôle ne correspond pas."
    return None
