"""The instigators' and policies' settings read from the environment when the code location
loads: an unset or blank variable means the default; a value that does not parse fails the
load and names the variable."""

import os
from typing import TypeVar

Number = TypeVar("Number", int, float)


def env_text(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def env_number(name: str, default: Number) -> Number:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return type(default)(value)
    except ValueError:
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise ValueError(f"{name}={value!r}: must be {kind}") from None
