"""Vectorised generators of Chinese identifiers: GB 11643 ID numbers, GB 32100 USCCs,
mobile numbers and personal names. Every function takes a numpy Generator so output is
reproducible from the seed."""

from __future__ import annotations

import numpy as np

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)

USCC_CHARSET = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
USCC_WEIGHTS = np.array(
    [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64
)

# Household-registration areas outside Beijing that send many migrant workers
# (Hebei, Henan, Shandong, Anhui, Heilongjiang, Sichuan, Hubei, Shanxi).
OUTSIDE_AREAS = np.array(
    [130102, 130602, 410102, 410302, 370102, 370202, 340102, 230102, 510104, 420102, 140105]
)

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌浩宇婷雪梅晨阳"
    "佳欣怡子涵雨轩博文思源嘉琪晓东海波春燕立新振华俊杰凤玲宏亮海燕德胜永刚丹丹小龙金凤"
)


def _to_strings(codes: np.ndarray) -> np.ndarray:
    """(n, k) uint8 ASCII codes -> array of n str."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    width = codes.shape[1]
    return codes.view(f"S{width}").ravel().astype(f"U{width}")


def id_check_char(body: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 check character (as ASCII code) of (n, 17) digit arrays."""
    return ID_CHECK_CHARS[(body @ ID_WEIGHTS) % 11]


def resident_id_numbers(
    rng: np.random.Generator,
    area_codes: np.ndarray,
    birth_dates: np.ndarray,
    male: np.ndarray,
) -> np.ndarray:
    """18-character GB 11643 citizen ID numbers with valid check characters.

    The order code's last digit is odd for men and even for women, as the standard says."""
    n = len(area_codes)
    body = np.empty((n, 17), dtype=np.int64)
    area = np.asarray(area_codes, dtype=np.int64)
    for i in range(6):
        body[:, i] = area // 10 ** (5 - i) % 10
    ymd = np.datetime_as_string(np.asarray(birth_dates, dtype="datetime64[D]"))
    digits = np.frombuffer("".join(ymd).replace("-", "").encode(), dtype=np.uint8)
    body[:, 6:14] = digits.reshape(n, 8) - 48
    order = rng.integers(0, 100, n) * 10 + rng.integers(0, 5, n) * 2 + np.asarray(male, int)
    body[:, 14] = order // 100
    body[:, 15] = order // 10 % 10
    body[:, 16] = order % 10
    codes = np.empty((n, 18), dtype=np.uint8)
    codes[:, :17] = body + 48
    codes[:, 17] = id_check_char(body)
    return _to_strings(codes)


def uscc_codes(rng: np.random.Generator, prefix: str, area_codes: np.ndarray) -> np.ndarray:
    """18-character GB 32100 unified social credit codes with valid check characters.

    `prefix` is the registering authority and kind: "91" for enterprises, "81" for unions."""
    n = len(area_codes)
    idx = np.empty((n, 17), dtype=np.int64)
    idx[:, 0] = int(prefix[0])
    idx[:, 1] = int(prefix[1])
    area = np.asarray(area_codes, dtype=np.int64)
    for i in range(6):
        idx[:, 2 + i] = area // 10 ** (5 - i) % 10
    idx[:, 8:16] = rng.integers(0, 31, (n, 8))
    idx[:, 16] = rng.integers(0, 10, n)
    check = (31 - (idx @ USCC_WEIGHTS) % 31) % 31
    codes = np.empty((n, 18), dtype=np.uint8)
    codes[:, :17] = USCC_CHARSET[idx]
    codes[:, 17] = USCC_CHARSET[check]
    return _to_strings(codes)


def corrupt_check_char(values: list[str]) -> list[str]:
    """Replace the last character by a different one of the same alphabet, so the check fails."""
    out = []
    for v in values:
        alphabet = "0123456789X" if len(v) == 18 and v[:17].isdigit() else "0123456789ABCDEFGHJK"
        out.append(v[:-1] + next(c for c in alphabet if c != v[-1]))
    return out


def mobile_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.array([13, 15, 17, 18, 19])[rng.integers(0, 5, n)]
    numbers = prefixes.astype(np.int64) * 10**9 + rng.integers(0, 10**9, n)
    return numbers.astype("U11")


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    surname_weights = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.8
    surname = np.array(SURNAMES)[
        rng.choice(len(SURNAMES), n, p=surname_weights / surname_weights.sum())
    ]
    given = np.array(GIVEN_CHARS)
    first = given[rng.integers(0, len(given), n)]
    second = given[rng.integers(0, len(given), n)]
    two_chars = rng.random(n) < 0.7
    return np.char.add(np.char.add(surname, first), np.where(two_chars, second, ""))
