from decimal import Decimal

from hygie.lib import money

NB, THIN = "\u00a0", "\u202f"


def test_it_writes_euros_the_french_way():
    table = [
        (Decimal("1890"), f"1{THIN}890,00{NB}€"),
        (Decimal("30.5"), f"30,50{NB}€"),
        (Decimal("0"), f"0,00{NB}€"),
        (Decimal("1234567.891"), f"1{THIN}234{THIN}567,89{NB}€"),
        (Decimal("0.005"), f"0,01{NB}€"),
        (Decimal("-25.5"), f"-25,50{NB}€"),
        ("999", f"999,00{NB}€"),
    ]
    for amount, text in table:
        assert money.euros(amount) == text, amount
    assert money.euros(None) == ""


def test_it_writes_what_a_spreadsheet_reads():
    assert money.plain(Decimal("1890")) == "1890,00"
    assert money.plain(Decimal("25.5")) == "25,50"
