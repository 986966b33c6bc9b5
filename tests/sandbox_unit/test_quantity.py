"""Quantities stored as resource.Quantity writes them (cases from apimachinery's quantity_test.go)."""

from __future__ import annotations

import pytest

from gitops.sandbox.quantity import QuantityError, canonical, parse


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        # TestQuantityParse inputs and their canonical strings.
        ("0", "0"),
        ("0n", "0"),
        ("0Ki", "0"),
        ("5n", "5n"),
        ("4u", "4u"),
        ("3m", "3m"),
        ("9", "9"),
        ("8k", "8k"),
        ("50k", "50k"),
        ("7M", "7M"),
        ("40T", "40T"),
        ("300T", "300T"),
        ("1E", "1E"),
        ("1Ki", "1Ki"),
        ("7Mi", "7Mi"),
        ("6Gi", "6Gi"),
        ("100Ti", "100Ti"),
        ("1E-3", "1e-3"),
        ("1e3", "1e3"),
        ("1E6", "1e6"),
        ("1e14", "100e12"),
        ("100.035k", "100035"),
        ("0.001", "1m"),
        ("0.0005k", "500m"),
        ("0.5", "500m"),
        ("0.50000", "500m"),
        ("0.5e0", "500e-3"),
        ("0.5e-2", "5e-3"),
        ("10.035M", "10035k"),
        ("1.2e3", "1200"),
        ("1.3E+6", "1300e3"),
        ("9.01", "9010m"),
        ("8.1k", "8100"),
        ("7.123456M", "7123456"),
        ("6.987654321G", "6987654321"),
        ("5.444T", "5444G"),
        ("2.5P", "2500T"),
        ("1.01E", "1010P"),
        # Things that saturate or round up to the next nano.
        ("3.001n", "4n"),
        ("1.1E-9", "2e-9"),
        ("0.0000000001", "1n"),
        ("0.9n", "1n"),
        ("0.00000012345", "124n"),
        ("12E", "12E"),
        # Fractional binary values.
        ("100.035Ki", "102435840m"),
        ("0.5Mi", "512Ki"),
        ("0.05Gi", "53687091200m"),
        ("0.025Ti", "27487790694400m"),
        ("0.000000000001Ki", "2n"),
        (".001", "1m"),
        (".0001k", "100m"),
        ("1.", "1"),
        ("1.G", "1G"),
        # TestQuantityString: a canonical string parses back to itself; other spellings normalise.
        ("1024Mi", "1Gi"),
        ("307200Ki", "300Mi"),
        ("1025024Mi", "1001Gi"),
        ("5000m", "5"),
        ("1000m", "1"),
        ("0.1", "100m"),
        ("1000M", "1G"),
        ("1000000", "1M"),
        ("1080n", "1080n"),
        ("1.08", "1080m"),
        ("1025", "1025"),
        ("1536Mi", "1536Mi"),
        ("-9.01", "-9010m"),
        ("+1Gi", "1Gi"),
        # JSON numbers read from their text.
        (0.5, "500m"),
        (2, "2"),
        (1000, "1k"),
        (0.25, "250m"),
    ],
)
def test_canonical_string(given: str | float, stored: str) -> None:
    assert canonical(given) == stored


@pytest.mark.parametrize(
    "text", ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1", "1 ", ""]
)
def test_invalid_quantities_are_refused(text: str) -> None:
    with pytest.raises(QuantityError):
        parse(text)


def test_bad_format_message_is_upstreams() -> None:
    with pytest.raises(QuantityError, match=r"quantities must match the regular expression '\^\(\[\+-\]"):
        parse("aoeu")
