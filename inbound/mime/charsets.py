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


MIN_DETECTED_BYTES = 4  # fewer 8-bit bytes tell a detector nothing (it guesses HP Roman-8 for one 0xB4)
MAX_CUT_CHARACTERS = 2  # characters cut short in one value that still leave it UTF-8


def utf8_with_cuts(value: bytes) -> str | None:
    """``value`` as UTF-8 when its only flaws are characters cut short (a lead byte, and maybe some of its
    continuation bytes, followed by ASCII or the end), as a sender's length limit cuts a long name: each cut
    character becomes U+FFFD. None when it is not UTF-8 so damaged, or holds too little UTF-8 to tell."""
    pieces: list[str] = []
    pos = cuts = 0
    while True:
        try:
            pieces.append(value[pos:].decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            start, end = pos + exc.start, pos + exc.end
            following = value[end : end + 1]
            if not 0xC2 <= value[start] <= 0xF4 or (following and following[0] >= 0x80):
                return None
            cuts += 1
            if cuts > MAX_CUT_CHARACTERS:
                return None
            pieces.append(value[pos:start].decode("utf-8"))
            pieces.append("\ufffd")
            pos = end
    text = "".join(pieces)
    whole = sum(1 for char in text if ord(char) > 0x7F) - cuts
    return text if whole >= 4 * cuts else None


def is_evidence_for_8bit(declared: str | None) -> bool:
    """Whether a declared charset says anything about 8-bit bytes: US-ASCII declares 7-bit text only."""
    return bool(declared) and _CLEAN.sub("", declared or "").lower() not in _ASCII_NAMES


_ASCII_NAMES = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "cp367", "ibm367"})


def decode_8bit_values(raw8: dict[int, bytes], declared: str | None) -> dict[int, str]:
    """Decide the charset of undeclared 8-bit values (header values, parameter values) from evidence, strongest
    first: valid UTF-8 (RFC 6532), UTF-8 with characters cut short, the ``declared`` charset (the body's, as mail
    readers fall back to it for raw header bytes) through its superset (GB2312 -> GB18030) unless it is US-ASCII,
    then a detector's guess over all the values still undecided together (more text, a better guess), then
    windows-1252."""
    texts: dict[int, str] = {}
    undecided: dict[int, bytes] = {}
    codec = codec_for(declared) if is_evidence_for_8bit(declared) else None
    for index, value in raw8.items():
        try:
            texts[index] = value.decode("utf-8")
            continue
        except UnicodeDecodeError:
            pass
        cut = utf8_with_cuts(value)
        if cut is not None:
            texts[index] = cut
            continue
        if codec:
            try:
                texts[index] = value.decode(codec)
                continue
            except (UnicodeDecodeError, LookupError):
                pass
        undecided[index] = value
    if undecided:
        joined = b"\n".join(undecided.values())
        guess = detect_8bit_charset(joined)
        for index, value in undecided.items():
            texts[index] = decode_text(value, guess or "cp1252")
    return texts


def detect_8bit_charset(data: bytes) -> str | None:
    """A detector's guess for undeclared 8-bit values, when they hold enough 8-bit bytes to make one."""
    high = len(data) - len(data.translate(None, _HIGH))
    return detect_charset(data) if high >= MIN_DETECTED_BYTES else None


_HIGH = bytes(range(0x80, 0x100))
