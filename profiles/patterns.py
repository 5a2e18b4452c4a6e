"""Admin-entered regular expressions, compiled for RE2: a linear-time engine, so no pattern can hang a worker.

Every pattern of configuration (filters, catch addresses, routing rules, clean-ups, delimiters, directive
processors, attachment exclusions, issue-key and foreign-key patterns) is compiled here, with google-re2
(module ``re2``), whose matching time grows linearly with the text whatever the pattern: ``^(\\w+\\s?)+$``, which
takes Python's backtracking engine seconds on 24 characters, takes microseconds. The price is RE2's syntax, which
is Python's minus the constructs that need backtracking: backreferences (``\\1``, ``(?P=name)``), lookarounds
(``(?=…)``, ``(?!…)``, ``(?<=…)``, ``(?<!…)``), atomic groups and possessive quantifiers are refused, with a
message saying so (:func:`pattern_problem`, used by the validators). Named groups ``(?P<name>…)`` and inline flags
work; ``\\Z`` is read as RE2's ``\\z`` (the end of the text), and ``\\w``, ``\\d`` and ``\\s`` keep Python's Unicode
meaning (written out as RE2's Unicode classes); only ``\\b`` is ASCII in RE2.

A failure to compile raises :class:`re.error`, as Python's engine would, so callers skip a stored pattern that
does not compile (validation refuses those; stored data may predate it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Protocol

import re2

MAX_PATTERN_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern (its default): a huge one is refused

_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))
_UNSUPPORTED_FLAGS = re.VERBOSE | re.ASCII | re.LOCALE
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")
_LOOKAROUND = re.compile(r"\(\?<?[=!]")
_ATOMIC_OR_POSSESSIVE = re.compile(r"\(\?>|[*+?}]\+")


class PatternMatch(Protocol):
    """What callers use of a match (the part RE2's match shares with :class:`re.Match`)."""

    def group(self, *groups: int | str) -> Any: ...

    def groupdict(self, default: Any = None) -> dict[str, Any]: ...

    def start(self, group: int | str = 0) -> int: ...

    def end(self, group: int | str = 0) -> int: ...

    @property
    def re(self) -> LinearPattern: ...


class LinearPattern(Protocol):
    """A compiled pattern of configuration (the part RE2's pattern shares with :class:`re.Pattern`)."""

    @property
    def pattern(self) -> str: ...

    @property
    def groups(self) -> int: ...

    @property
    def groupindex(self) -> dict[str, int]: ...

    def search(self, text: str) -> PatternMatch | None: ...

    def match(self, text: str) -> PatternMatch | None: ...

    def fullmatch(self, text: str) -> PatternMatch | None: ...

    def finditer(self, text: str) -> Iterator[PatternMatch]: ...

    def subn(self, repl: str, text: str, count: int = 0) -> tuple[str, int]: ...

    def sub(self, repl: str, text: str, count: int = 0) -> str: ...


# Python's \\w, \\d and \\s are Unicode-aware on text, RE2's are ASCII: written out in RE2's Unicode classes so that
# a pattern means what it meant to Python (\\b stays ASCII: RE2 has no Unicode word boundary).
_CLASS_BODY = {"w": r"\p{L}\p{N}_", "d": r"\p{Nd}", "s": r"\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Z}"}


def _for_re2(pattern: str) -> str:
    """``pattern`` as RE2 reads it the way Python did: ``\\Z`` (end of text) written ``\\z``, and ``\\w``, ``\\d``,
    ``\\s`` (and ``\\W``, ``\\D``, ``\\S`` outside brackets) as the Unicode classes Python matches."""
    if "\\" not in pattern:
        return pattern
    out: list[str] = []
    index, in_class, class_start = 0, False, -1
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            letter = pattern[index + 1]
            if letter == "Z":
                out.append("\\z")
            elif letter in _CLASS_BODY:
                out.append(_CLASS_BODY[letter] if in_class else f"[{_CLASS_BODY[letter]}]")
            elif letter.lower() in _CLASS_BODY and not in_class:
                out.append(f"[^{_CLASS_BODY[letter.lower()]}]")
            else:
                out.append(pattern[index : index + 2])
            index += 2
            continue
        if not in_class and char == "[":
            in_class, class_start = True, index
            if pattern.startswith("[^", index):
                out.append("[^")
                index += 2
                class_start = index - 1
                continue
        elif in_class and char == "]" and index > class_start + 1:
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


def _unsupported(pattern: str) -> str:
    """The backtracking construct RE2 refuses that ``pattern`` seems to use, in words, or ""."""
    unescaped = re.sub(r"\\\\", "", pattern)  # an escaped backslash is no construct
    if _BACKREFERENCE.search(unescaped):
        return "a backreference (\\1 or (?P=name))"
    if _LOOKAROUND.search(unescaped):
        return "a lookahead or lookbehind ((?=…), (?!…), (?<=…), (?<!…))"
    if _ATOMIC_OR_POSSESSIVE.search(unescaped):
        return "an atomic group or possessive quantifier ((?>…), *+, ++)"
    return ""


@lru_cache(maxsize=2048)
def compiled(pattern: str, flags: int = re.IGNORECASE) -> LinearPattern:
    """``pattern`` compiled for RE2 with the Python ``flags`` given (IGNORECASE, MULTILINE, DOTALL); cached.

    Raises :class:`re.error` when RE2 cannot compile it (see :func:`pattern_problem` for the words)."""
    if flags & _UNSUPPORTED_FLAGS:
        raise ValueError("only re.IGNORECASE, re.MULTILINE and re.DOTALL translate to RE2")
    letters = "".join(letter for flag, letter in _FLAG_LETTERS if flags & flag)
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY
    options.log_errors = False
    try:
        result: LinearPattern = re2.compile((f"(?{letters})" if letters else "") + _for_re2(pattern), options)
    except re2.error as exc:
        unsupported = _unsupported(pattern)
        said = exc.args[0] if exc.args else ""
        said = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
        raise re.error(f"it uses {unsupported}, which RE2 does not support" if unsupported else said) from exc
    return result


def pattern_problem(pattern: str) -> str:
    """Why ``pattern`` cannot be used, in words for the admin form, or "" when it can."""
    try:
        compiled(pattern, 0)
    except re.error as exc:
        if _unsupported(pattern):
            return (
                f"{pattern!r} cannot be used: {exc}. Patterns run on RE2, a linear-time engine (so that no pattern "
                "can hang the mail handler): write it without backreferences and lookarounds."
            )
        return f"{pattern!r} is not a valid regular expression: {exc}"
    return ""


def group_count(pattern: str) -> int | None:
    """How many capturing groups ``pattern`` has, or None when it does not compile."""
    try:
        return compiled(pattern, 0).groups
    except re.error:
        return None


def named_groups(pattern: str) -> dict[str, int] | None:
    """The named groups of ``pattern`` (name → number), or None when it does not compile."""
    try:
        return compiled(pattern, 0).groupindex
    except re.error:
        return None
