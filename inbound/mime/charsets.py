"""Turning bytes into text: declared charsets through their usual supersets, detection when undeclared."""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

# Declared names mapped to the superset that mail clients really write (WHATWG Encoding practice).
SUPERSETS: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "cp936": "gb18030",
    "chinese": "gb18030",
    "csgb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "x-euc-cn": "gb18030",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-ir-100": "cp1252",
    "iso_8859-1": "cp1252",
    "cp819": "cp1252",
    "ibm819": "cp1252",
    "csisolatin1": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "euc-kr": "cp949",
    "korean": "cp949",
    "x-windows-949": "cp949",
    "windows-949": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "utf8": "utf-8",
    "uft-8": "utf-8",
    "utf-8;": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",  # the label Outlook Express and old Exchange wrote for UTF-7
    "x-unicode-2-0-utf-7": "utf-7",
    "csunicode11utf7": "utf-7",
    "x-unicode20utf8": "utf-8",
    "unicode": "utf-16",
    "x-user-defined": "cp1252",
    "win-1251": "cp1251",
    "windows-874": "cp874",
    "iso-2022-jp-ms": "iso2022_jp_ext",
    "x-mac-cyrillic": "mac_cyrillic",
}
UNKNOWN_NAMES = frozenset({"", "unknown", "unknown-8bit", "x-unknown", "default", "charset", "none", "8bit"})
_CLEAN = re.compile(r"[\s\"']+")


@lru_cache(maxsize=256)
def codec_for(declared: str | None) -> str | None:
    """The Python codec to use for a declared charset, or None when it is absent or unknown."""
    if not declared:
        return None
    name = _CLEAN.sub("", declared).lower().rstrip(";,")
    if name in UNKNOWN_NAMES:
        return None
    name = SUPERSETS.get(name, name)
    candidates = [name]
    if name.startswith("x-"):
        candidates.append(name[2:])
    candidates.append(re.sub(r"^(iso|windows|win|cp)[-_]?(\d)", r"\1-\2", name))
    candidates.append(re.sub(r"^(windows|win)[-_]?", "cp", name))
    for candidate in candidates:
        candidate = SUPERSETS.get(candidate, candidate)
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        if info.name in {"latin-1", "iso8859-1", "ascii"}:
            return "cp1252"
        if getattr(info, "_is_text_encoding", True) is False:
            return None  # rot13, base64 and friends are not charsets
        return info.name
    return None


def detect_charset(data: bytes) -> str | None:
    """A detector's guess at the charset of undeclared 8-bit ``data`` (None when it has none)."""
    try:
        # Imported on first use: most mail names its charset, and the detector costs ~17 ms to import.
        from charset_normalizer import from_bytes

        best = from_bytes(data[:65536], steps=4, chunk_size=512).best()
    except Exception:
        return None
    return best.encoding if best is not None else None


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode ``data`` honouring ``declared`` when it works, detecting otherwise; never raises."""
    codec = codec_for(declared)
    if codec:
        if codec == "cp1252" and data.isascii():
            return data.decode("ascii")
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
        if codec != "utf-8":
            try:
                return data.decode("utf-8")  # mislabelled UTF-8 is the most common lie
            except UnicodeDecodeError:
                pass
        try:
            return data.decode(codec, errors="replace")
        except LookupError:
            pass
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    detected = detect_charset(data)
    if detected:
        try:
            return data.decode(detected, errors="replace")
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace")
