"""Resource quantities parsed and written as k8s.io/apimachinery/pkg/api/resource.Quantity does.

Pure. The sandbox's own copy, kept apart from :mod:`gitops.quantity` on purpose: the sandbox stands in
for the API server the product is tested against, so it must not share the product's code (a bug there
would otherwise agree with itself).

``canonical("0.5") == "500m"``, ``canonical("1000m") == "1"``, ``canonical("1024Mi") == "1Gi"``,
``canonical("1e3") == "1e3"`` (the exponent form is kept, as upstream keeps the format it parsed).
Values are exact (fractions); anything finer than 1n is rounded up to the next nano, as upstream does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXPONENT = {exponent: suffix for suffix, exponent in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXPONENT = {exponent // 10: suffix for suffix, exponent in _BINARY_SUFFIXES.items()}
_PATTERN = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_NUMBER = re.compile(r"^[+-]?([0-9]*)(?:\.([0-9]*))?$")
# maxAllowed: the largest BinarySI value is 2^63-1.
_MAX_ALLOWED = Fraction(2**63 - 1)
_NANO = Fraction(1, 10**9)

FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
NUMERIC_ERROR = "unable to parse numeric part of quantity"
SUFFIX_ERROR = "unable to parse quantity's suffix"


class QuantityError(ValueError):
    """Not a quantity; the message is upstream's (ErrFormatWrong, ErrNumeric, ErrSuffix)."""


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    format: str

    def __str__(self) -> str:
        return _canonical(self.value, self.format)


def parse(text: str | int | float) -> Quantity:
    """Parse a quantity as ``resource.ParseQuantity``; JSON numbers are read from their text."""
    if isinstance(text, bool):
        raise QuantityError(FORMAT_ERROR)
    if isinstance(text, int | float):
        text = repr(text)
    if not text:
        raise QuantityError("quantities must match the regular expression")
    match = _PATTERN.match(text)
    if not match:
        raise QuantityError(FORMAT_ERROR)
    number, suffix = match.groups()
    amount = _parse_number(number)
    base, exponent, quantity_format = _parse_suffix(suffix)
    amount = amount * (Fraction(10) ** exponent if base == 10 else Fraction(2) ** exponent)
    negative = amount < 0
    amount = abs(amount)
    if amount != 0:
        amount = _round_up_to_nano(amount)
    if quantity_format == BINARY_SI and amount > _MAX_ALLOWED:
        amount = _MAX_ALLOWED
    if quantity_format == BINARY_SI and amount < 1024:
        quantity_format = DECIMAL_SI
    return Quantity(-amount if negative else amount, quantity_format)


def canonical(text: str | int | float) -> str:
    """The string the API server stores for a quantity."""
    return str(parse(text))


def _parse_number(number: str) -> Fraction:
    match = _NUMBER.match(number)
    if not match or (not match.group(1) and not match.group(2)):
        raise QuantityError(NUMERIC_ERROR)
    whole, fraction = match.group(1) or "0", match.group(2) or ""
    amount = Fraction(int(whole + fraction), 10 ** len(fraction))
    return -amount if number.startswith("-") else amount


def _parse_suffix(suffix: str) -> tuple[int, int, str]:
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        try:
            return 10, int(suffix[1:]), DECIMAL_EXPONENT
        except ValueError as err:
            raise QuantityError(SUFFIX_ERROR) from err
    raise QuantityError(SUFFIX_ERROR)


def _round_up_to_nano(amount: Fraction) -> Fraction:
    nanos = amount / _NANO
    whole = nanos.numerator // nanos.denominator
    if whole != nanos:
        whole += 1
    return whole * _NANO


def _canonical(value: Fraction, quantity_format: str) -> str:
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if quantity_format == BINARY_SI and (magnitude < 1024 or magnitude.denominator != 1):
        quantity_format = DECIMAL_SI
    if quantity_format == BINARY_SI:
        mantissa, exponent = int(magnitude), 0
        while mantissa % 1024 == 0 and exponent < 6:
            mantissa //= 1024
            exponent += 1
        return f"{sign}{mantissa}{_BINARY_BY_EXPONENT[exponent]}"
    mantissa, exponent = _decimal_parts(magnitude)
    if quantity_format == DECIMAL_EXPONENT:
        suffix = f"e{exponent}" if exponent else ""
    else:
        while exponent > 18:
            mantissa *= 1000
            exponent -= 3
        suffix = _DECIMAL_BY_EXPONENT[exponent]
    return f"{sign}{mantissa}{suffix}"


def _decimal_parts(magnitude: Fraction) -> tuple[int, int]:
    """Integer mantissa and an exponent that is a multiple of three (``AsCanonicalBytes``)."""
    exponent = -9
    mantissa = magnitude / _NANO
    assert mantissa.denominator == 1
    number = mantissa.numerator
    while number % 10 == 0:
        number //= 10
        exponent += 1
    remainder = exponent % 3
    number *= 10**remainder
    exponent -= remainder
    return number, exponent
