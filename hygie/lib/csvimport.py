"""Read a CSV export of patients (from a spreadsheet or a former software). Pure: no Django.

`parse(data)` returns the rows and every error found, each with its line number as the user
sees it in a spreadsheet (the header is line 1) and a French reason. An error never repeats
a value of the file: the terminal may be seen by others, and values are patient data.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

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
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFileError(
            "Ce fichier est en UTF-16 (« texte Unicode »). Enregistrez-le au format "
            "« CSV UTF-8 » ou « CSV (séparateur : point-virgule) » puis recommencez."
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        raise CsvFileError(
            "Encodage du fichier non reconnu : enregistrez-le en « CSV UTF-8 » ou en CSV Windows."
        ) from None


def detect_delimiter(header_line: str) -> str:
    """Comma or semicolon, whichever the header uses more (French spreadsheets use `;`)."""
    semicolons, commas = header_line.count(";"), header_line.count(",")
    if semicolons == 0 and commas == 0:
        raise CsvFileError(
            "Séparateur introuvable sur la première ligne : les colonnes doivent être séparées "
            "par des virgules ou des points-virgules."
        )
    return ";" if semicolons >= commas else ","


def parse(data: bytes) -> ParseResult:
    text, encoding = decode(data)
    if "\x00" in text:
        raise CsvFileError("Ce fichier n'est pas un fichier CSV (contenu binaire).")
    if not text.strip():
        raise CsvFileError("Le fichier est vide.")
    header_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = detect_delimiter(header_line)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        raise CsvFileError(
            "Le fichier CSV est mal formé (guillemets non refermés ?). Ouvrez-le dans un tableur "
            "et enregistrez-le de nouveau au format CSV."
        ) from None
    # The header is the first non-blank row; line numbers stay those of the spreadsheet.
    header_no = next(i for i, record in enumerate(records) if any(cell.strip() for cell in record))
    header, body = records[header_no], records[header_no + 1 :]
    columns, errors = _read_header(header, header_no + 1)
    if errors:
        return ParseResult([], errors, encoding, delimiter)
    if not any(any(cell.strip() for cell in record) for record in body):
        raise CsvFileError("Le fichier ne contient aucune ligne de patient après l'en-tête.")

    rows: list[PatientRow] = []
    seen: dict[tuple[str, str, str], int] = {}
    for line, record in enumerate(body, start=header_no + 2):
        if not any(cell.strip() for cell in record):
            continue  # an empty spreadsheet row
        row, row_errors, key = _read_row(line, columns, record)
        errors.extend(row_errors)
        # Duplicates are looked for even in rows with other errors: every error in one pass.
        if key is not None:
            if key in seen:
                errors.append(RowError(line, f"même identité qu'à la ligne {seen[key]} (doublon dans le fichier)."))
                continue
            seen[key] = line
        if row is not None:
            rows.append(row)
    return ParseResult(rows if not errors else [], errors, encoding, delimiter)


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
