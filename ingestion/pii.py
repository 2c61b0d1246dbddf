"""Personal data handling at ingestion: keyed pseudonyms and the facts derived before discard.

``id_number`` and ``phone`` become HMAC-SHA256 pseudonyms (a plain hash of an 18-digit ID is
reversible by brute force; a keyed one is not without the key). Gender, birth date and the
validity of the ID, and the validity of the phone, are derived first. Check characters of
ID numbers (GB 11643, ISO 7064 MOD 11-2) and of USCCs (GB 32100) are computed here, in
polars, so flags cost one pass over the batch.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import polars as pl

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PHONE_PATTERN = r"^1[0-9]{10}$"


def pseudonymise(values: Iterable[str | None], key: bytes) -> list[str | None]:
    """HMAC-SHA256 (hex) of each normalised value under ``key``; None stays None."""
    digest = hmac.digest
    return [
        None
        if v is None or not v.strip()
        else digest(key, v.strip().upper().encode(), "sha256").hex()
        for v in values
    ]


def pseudonym_expr(column: str, key: bytes) -> pl.Expr:
    """``pseudonymise`` as a polars expression over a text column."""
    return pl.col(column).map_batches(
        lambda s: pl.Series(pseudonymise(s.to_list(), key), dtype=pl.String),
        return_dtype=pl.String,
    )


def record_digest(text: str, key: bytes) -> str:
    """A keyed digest of a whole record, for change detection without keeping its content."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def resident_id_valid(column: str) -> pl.Expr:
    """True when the text is an 18-character resident ID with the right check character
    and a real birth date; False otherwise (null in, null out)."""
    text = pl.col(column).str.strip_chars().str.to_uppercase()
    total = pl.sum_horizontal(
        text.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(_ID_WEIGHTS)
    )
    expected = total.mod(11).replace_strict(
        dict(enumerate(_ID_CHECK)), default=None, return_dtype=pl.String
    )
    well_formed = text.str.contains(r"^[0-9]{17}[0-9X]$")
    return (
        well_formed
        & (text.str.slice(17, 1) == expected)
        & resident_id_birth_date(column).is_not_null()
    )


def resident_id_birth_date(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.slice(6, 8).str.to_date("%Y%m%d", strict=False)


def resident_id_gender(column: str) -> pl.Expr:
    """'M' when the 17th digit is odd, 'F' when even."""
    digit = pl.col(column).str.strip_chars().str.slice(16, 1).cast(pl.Int64, strict=False)
    return pl.when(digit.mod(2) == 1).then(pl.lit("M")).when(digit.is_not_null()).then(pl.lit("F"))


def uscc_valid(column: str) -> pl.Expr:
    """True when the text is an 18-character unified social credit code with the right
    GB 32100 check character; null stays null."""
    text = pl.col(column).str.strip_chars().str.to_uppercase()
    index = {c: i for i, c in enumerate(_USCC_CHARS)}
    values = [
        text.str.slice(i, 1).replace_strict(index, default=None, return_dtype=pl.Int64)
        for i in range(18)
    ]
    total = pl.sum_horizontal(v * w for v, w in zip(values, _USCC_WEIGHTS, strict=False))
    check = (31 - total.mod(31)).mod(31)
    all_known = pl.all_horizontal(v.is_not_null() for v in values)
    return (
        pl.when(text.is_null())
        .then(None)
        .otherwise((text.str.len_chars() == 18) & all_known & (values[17] == check))
    )


def phone_valid(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.contains(PHONE_PATTERN)


def protect_identity(
    frame: pl.DataFrame,
    key: bytes,
    *,
    id_number: str | None,
    phone: str | None,
    id_type: str | None = None,
    drop: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Replace a person's ``id_number``/``phone`` columns by pseudonyms and derived facts.

    Adds ``id_number_hmac``, ``id_valid`` (resident IDs only; null for other documents),
    ``id_birth_date``, ``id_gender``, ``phone_hmac`` and ``phone_valid``; drops the plain
    columns and ``drop`` (names). Without ``id_type`` every 18-character number is read as
    a resident ID.
    """
    derived: list[pl.Expr] = []
    if id_number is not None:
        text = pl.col(id_number).str.strip_chars()
        is_resident = (
            pl.col(id_type) == "RESIDENT_ID" if id_type is not None else text.str.len_chars() == 18
        )
        valid = resident_id_valid(id_number)
        derived += [
            pseudonym_expr(id_number, key).alias("id_number_hmac"),
            pl.when(is_resident & text.is_not_null()).then(valid).alias("id_valid"),
            pl.when(is_resident & valid)
            .then(resident_id_birth_date(id_number))
            .alias("id_birth_date"),
            pl.when(is_resident & valid).then(resident_id_gender(id_number)).alias("id_gender"),
        ]
    if phone is not None:
        derived += [
            pseudonym_expr(phone, key).alias("phone_hmac"),
            phone_valid(phone).alias("phone_valid"),
        ]
    plain = [c for c in (id_number, phone, *drop) if c is not None and c in frame.columns]
    return frame.with_columns(derived).drop(plain)
