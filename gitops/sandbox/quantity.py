"""Resource quantities: moved to :mod:`gitops.quantity` (shared with the diff); re-exported here."""

from gitops.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    FORMAT_ERROR,
    NUMERIC_ERROR,
    SUFFIX_ERROR,
    Quantity,
    QuantityError,
    canonical,
    parse,
)

__all__ = [
    "BINARY_SI", "DECIMAL_EXPONENT", "DECIMAL_SI", "FORMAT_ERROR", "NUMERIC_ERROR", "SUFFIX_ERROR",
    "Quantity", "QuantityError", "canonical", "parse",
]
