"""Directive extraction: turn ``@key=value`` body lines, ``#key=value`` subject tags, ``key: value`` body lines,
``X-JEMH-*`` headers and admin-defined regexes into directives. Every enabled processor runs; the one finding
the most (recognised) directives wins and only its directives are used. Pure: works on a ProfileConfig.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from profiles.choices import AliasKind, DirectiveProcessor, ProcessorTarget
from profiles.config import DirectivesConfig, ProfileConfig
from profiles.patterns import compiled
from profiles.routing import HeaderValues, normalize_headers

# Directive names the tracker side understands (case-insensitive; this spelling is canonical).
KNOWN_DIRECTIVES = (
    "issueKey",
    "parentIssueKey",
    "project",
    "issueType",
    "priority",
    "labels",
    "components",
    "summary",
    "reporter",
    "assignee",
    "watchers",
    "participants",
    "dueDate",
    "fixVersions",
    "affectsVersions",
)
_CUSTOM_FIELD = re.compile(r"customfield_\d+", re.IGNORECASE)
# Directives that name a person, a project, an issue (association and links), a security level: never harmless.
SENSITIVE_DIRECTIVES = frozenset(
    {"reporter", "assignee", "watchers", "participants", "project", "issuekey", "parentissuekey", "security"}
)


def is_sensitive_directive(name: str) -> bool:
    """The directive names a person, project, issue, security level or custom field (or is not a known one's
    spelling at all): an e-mail-only or unauthenticated sender may never use it."""
    lowered = name.strip().lower()
    return (
        lowered in SENSITIVE_DIRECTIVES
        or "security" in lowered
        or bool(_CUSTOM_FIELD.fullmatch(lowered))
        or lowered not in {known.lower() for known in KNOWN_DIRECTIVES}
    )


_NAME = r"[A-Za-z][\w.\-]*"
_AT_LINE = re.compile(rf"@({_NAME})\s*(?:=\s*(.*?))?\s*")
_COLON_LINE = re.compile(rf"({_NAME})\s*:\s*(\S.*?)\s*")
_SUBJECT_TAG = re.compile(rf"(?<!\S)#({_NAME})(?:=(\"[^\"]*\"|'[^']*'|\S+))?(?!\S)")
HEADER_PREFIX = "x-jemh-"


@dataclass(frozen=True)
class DirectiveResult:
    values: dict[str, str]
    processor: str  # the winning processor, "" when none found anything
    cleaned_subject: str
    cleaned_body: str
    reasons: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)  # directives recognised per processor


@dataclass
class _Found:
    items: list[tuple[str, str | None]] = field(default_factory=list)  # (name, value); value None: a bare word
    subject: str = ""
    body: str = ""


class _Vocabulary:
    """Recognised names and aliases of one configuration."""

    def __init__(self, config: DirectivesConfig) -> None:
        self.canonical = {name.lower(): name for name in KNOWN_DIRECTIVES}
        for name in (*config.allow_list, *(p.directive for p in config.field_processors if p.directive)):
            self.canonical.setdefault(name.lower(), name)
        for alias in config.aliases:
            self.canonical.setdefault(alias.directive.lower(), alias.directive)
        self.words = {a.alias.lower(): a for a in config.aliases if a.kind == AliasKind.KEY_VALUE}
        self.keys = {a.alias.lower(): a.directive for a in config.aliases if a.kind == AliasKind.KEY}
        self.values = {
            (a.directive.lower(), a.alias.lower()): a.value for a in config.aliases if a.kind == AliasKind.VALUE
        }

    def name_of(self, name: str) -> str | None:
        """The canonical name of a directive or key alias, None when not recognised."""
        lowered = name.lower()
        if lowered in self.keys:
            lowered = self.keys[lowered].lower()
        if lowered in self.canonical:
            return self.canonical[lowered]
        return name if _CUSTOM_FIELD.fullmatch(name) else None

    def is_word(self, word: str) -> bool:
        return word.lower() in self.words


def extract_directives(
    config: ProfileConfig | DirectivesConfig,
    subject: str,
    body_text: str,
    headers: Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]] | None = None,
) -> DirectiveResult:
    """Run every enabled processor; the one with the most recognised directives wins (ties: configured order)."""
    directives = config.directives if isinstance(config, ProfileConfig) else config
    subject, body_text = subject or "", body_text or ""
    vocabulary = _Vocabulary(directives)
    runners: dict[str, Callable[[], _Found]] = {
        DirectiveProcessor.AT_PREFIX: lambda: _top_block(body_text, subject, _AT_LINE, vocabulary, colon=False),
        DirectiveProcessor.SUBJECT_HASH: lambda: _subject_tags(subject, body_text, vocabulary),
        DirectiveProcessor.COLON: lambda: _top_block(body_text, subject, _COLON_LINE, vocabulary, colon=True),
        DirectiveProcessor.HEADERS: lambda: _headers(headers, subject, body_text),
        DirectiveProcessor.REGEX: lambda: _regexes(directives, subject, body_text),
    }
    results: dict[str, tuple[_Found, dict[str, str], list[str]]] = {}
    for name in directives.processors:
        if name in runners:
            found = runners[name]()
            values, reasons = _interpret(found.items, vocabulary)
            results[name] = (found, values, reasons)
    counts = {name: len(values) for name, (_, values, _) in results.items()}
    winner = max(results, key=lambda name: counts[name], default="")
    if not winner or counts[winner] == 0:
        return DirectiveResult({}, "", subject, body_text, ("no directives found",), counts)
    found, values, reasons = results[winner]
    others = ", ".join(f"{name} {count}" for name, count in counts.items() if name != winner)
    reasons.insert(
        0, f"processor {winner} found {counts[winner]} directive(s)" + (f" (others: {others})" if others else "")
    )
    values = _apply_lists(values, directives, reasons)
    return DirectiveResult(values, winner, found.subject, found.body, tuple(reasons), counts)


def _interpret(items: list[tuple[str, str | None]], vocabulary: _Vocabulary) -> tuple[dict[str, str], list[str]]:
    """Expand aliases, canonicalise names, drop unknown ones; later values replace earlier ones."""
    values: dict[str, str] = {}
    reasons: list[str] = []
    for raw_name, raw_value in items:
        if raw_value is None:
            alias = vocabulary.words.get(raw_name.lower())
            if alias is None:
                continue
            reasons.append(f"alias {raw_name!r} → {alias.directive}={alias.value}")
            raw_name, raw_value = alias.directive, alias.value
        name = vocabulary.name_of(raw_name)
        if name is None:
            reasons.append(f"unknown directive {raw_name!r} ignored")
            continue
        if raw_name.lower() in vocabulary.keys:
            reasons.append(f"alias {raw_name!r} → {name}")
        value = _unquote(raw_value)
        replacement = vocabulary.values.get((name.lower(), value.lower()))
        if replacement is not None:
            reasons.append(f"alias {value!r} → {name}={replacement}")
            value = replacement
        if name in values and values[name] != value:
            reasons.append(f"{name} given more than once: the last value is used")
        values[name] = value
    return values, reasons


def _apply_lists(values: dict[str, str], config: DirectivesConfig, reasons: list[str]) -> dict[str, str]:
    blocked = {name.lower() for name in config.block_list}
    allowed = {name.lower() for name in config.allow_list}
    kept: dict[str, str] = {}
    for name, value in values.items():
        if name.lower() in blocked:
            reasons.append(f"directive {name} dropped: it is on the profile's block list")
        elif allowed and name.lower() not in allowed:
            reasons.append(f"directive {name} dropped: it is not on the profile's allow list")
        else:
            kept[name] = value
    return kept


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _top_block(body: str, subject: str, line_pattern: re.Pattern[str], vocabulary: _Vocabulary, colon: bool) -> _Found:
    """Directive lines at the very top of the body (after blank lines), up to the first other line."""
    lines = body.splitlines()
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    items: list[tuple[str, str | None]] = []
    while index < len(lines):
        match = line_pattern.fullmatch(lines[index].strip())
        if not match:
            break
        name, value = match.group(1), match.group(2)
        if colon and vocabulary.name_of(name) is None:
            break  # "Note: ..." is prose, not a directive
        if value is None and not vocabulary.is_word(name):
            break  # "@john" alone is a mention, not an alias
        items.append((name, value))
        index += 1
    if not items:
        return _Found([], subject, body)
    while index < len(lines) and not lines[index].strip():
        index += 1
    return _Found(items, subject, "\n".join(lines[index:]))


def _subject_tags(subject: str, body: str, vocabulary: _Vocabulary) -> _Found:
    items: list[tuple[str, str | None]] = []

    def take(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if value is None and not vocabulary.is_word(name):
            return match.group(0)  # "#general" is a word, not an alias
        items.append((name, value))
        return ""

    cleaned = _SUBJECT_TAG.sub(take, subject)
    if not items:
        return _Found([], subject, body)
    return _Found(items, re.sub(r"\s{2,}", " ", cleaned).strip(), body)


def _headers(headers: HeaderValues | None, subject: str, body: str) -> _Found:
    items: list[tuple[str, str | None]] = []
    for name, values in normalize_headers(headers).items():
        if name.startswith(HEADER_PREFIX) and len(name) > len(HEADER_PREFIX):
            items.extend((name[len(HEADER_PREFIX) :], value.strip()) for value in values)
    return _Found(items, subject, body)


def _regexes(config: DirectivesConfig, subject: str, body: str) -> _Found:
    items: list[tuple[str, str | None]] = []
    texts: dict[str, str] = {ProcessorTarget.SUBJECT: subject, ProcessorTarget.BODY: body}
    for processor in config.field_processors:
        pattern = compiled(processor.pattern, re.IGNORECASE | re.MULTILINE)
        text = texts[processor.target]
        matched = False
        for match in pattern.finditer(text):
            if processor.directive:
                value = match.group(1) if pattern.groups else match.group(0)
                if value is not None:
                    items.append((processor.directive, value))
                    matched = True
            else:
                for name, value in match.groupdict().items():
                    if value is not None:
                        items.append((name, value))
                        matched = True
        if matched and processor.strip_match:
            texts[processor.target] = pattern.sub("", text).strip()
    return _Found(items, texts[ProcessorTarget.SUBJECT], texts[ProcessorTarget.BODY])
