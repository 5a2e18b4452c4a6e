"""Which mail a profile takes (catch addresses) and which project mapping a message goes to (mapping rules).

Pure: works on ``ProfileConfig`` and plain message facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from profiles.choices import MappingRuleKind
from profiles.config import MappingRuleConfig, ProfileConfig, ResolvedMapping
from profiles.patterns import LinearPattern, compiled

HeaderValues = Mapping[str, "str | Sequence[str]"] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class MessageFacts:
    """What routing looks at, as plain values. ``recipients``: To, Cc, Delivered-To … (sub-addresses kept)."""

    sender: str = ""
    recipients: tuple[str, ...] = ()
    subject: str = ""
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:  # accept loose input; keep normalized values
        object.__setattr__(self, "sender", normalize_address(self.sender))
        recipients = (self.recipients,) if isinstance(self.recipients, str) else self.recipients
        object.__setattr__(self, "recipients", tuple(normalize_address(r) for r in recipients if r))
        object.__setattr__(self, "subject", self.subject or "")
        object.__setattr__(self, "headers", normalize_headers(self.headers))

    @classmethod
    def from_parsed(cls, parsed: Any) -> MessageFacts:
        """Facts of an ``inbound.mime`` ParsedMessage: From, To + Cc + Delivered-To, subject, kept headers."""

        def email(address: Any) -> str:
            return getattr(address, "email", "") or ""

        recipients = [email(a) for a in (*parsed.to, *parsed.cc)] + list(getattr(parsed, "delivered_to", ()))
        return cls(email(parsed.from_), tuple(recipients), parsed.subject, parsed.headers)

    def header(self, name: str) -> tuple[str, ...]:
        return self.headers.get(name.lower(), ())


def normalize_address(address: str) -> str:
    """``Name <Addr@Example.com>`` or ``addr@example.com`` → ``addr@example.com`` (lower case)."""
    address = (address or "").strip()
    if "<" in address:
        address = parseaddr(address)[1] or address
    return address.strip().strip("<>").lower()


def normalize_headers(headers: HeaderValues | None) -> dict[str, tuple[str, ...]]:
    """A dict of str/list values or a sequence of (name, value) pairs → {lower-case name: (values...)}."""
    result: dict[str, list[str]] = {}
    if not headers:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        values = [value] if isinstance(value, str) else list(value)
        result.setdefault(name.lower(), []).extend(str(v) for v in values)
    return {name: tuple(values) for name, values in result.items()}


def split_subaddress(address: str) -> tuple[str, str | None]:
    """``support+ABC@example.com`` → (``support@example.com``, ``abc``); no tag → (address, None)."""
    address = normalize_address(address)
    local, at, domain = address.rpartition("@")
    if not at or "+" not in local:
        return address, None
    base, _, tag = local.partition("+")
    return f"{base}@{domain}", tag


def domain_of(address: str) -> str:
    return normalize_address(address).rpartition("@")[2]


def matches_catch_address(config: ProfileConfig, addresses: Iterable[str]) -> bool:
    """Is any of the addresses one of the profile's catch addresses (or its reply address)?

    Case-insensitive. A literal catch address also matches its sub-addresses (support+x@ for support@).
    A regex must match the whole address, or the whole address without its sub-address tag.
    """
    literals = {normalize_address(c.address) for c in config.catch_addresses if not c.is_regex}
    if config.reply_address:
        literals.add(normalize_address(config.reply_address))
    patterns = [compiled(c.address) for c in config.catch_addresses if c.is_regex]
    for raw in addresses:
        address = normalize_address(raw)
        if not address:
            continue
        base, _ = split_subaddress(address)
        if address in literals or base in literals:
            return True
        if any(p.fullmatch(address) or p.fullmatch(base) for p in patterns):
            return True
    return False


def _address_matches(pattern: LinearPattern, address: str) -> bool:
    return bool(pattern.fullmatch(address) or pattern.fullmatch(domain_of(address)))


def rule_matches(rule: MappingRuleConfig, facts: MessageFacts) -> str | None:
    """What the rule matched (for the report), or None."""
    pattern = compiled(rule.pattern)
    if rule.kind == MappingRuleKind.SENDER:
        return f"sender {facts.sender}" if facts.sender and _address_matches(pattern, facts.sender) else None
    if rule.kind == MappingRuleKind.RECIPIENT:
        for recipient in facts.recipients:
            base, _ = split_subaddress(recipient)
            if _address_matches(pattern, recipient) or _address_matches(pattern, base):
                return f"recipient {recipient}"
        return None
    if rule.kind == MappingRuleKind.SUBADDRESS:
        for recipient in facts.recipients:
            _, tag = split_subaddress(recipient)
            if tag is not None and pattern.fullmatch(tag):
                return f"sub-address {tag!r} of {recipient}"
        return None
    if rule.kind == MappingRuleKind.SUBJECT:
        return "subject" if pattern.search(facts.subject) else None
    if rule.kind == MappingRuleKind.HEADER:
        for value in facts.header(rule.header_name):
            if pattern.search(value):
                return f"header {rule.header_name}"
        return None
    return None


def select_mapping(config: ProfileConfig, facts: MessageFacts | Mapping[str, object]) -> tuple[ResolvedMapping, str]:
    """The mapping of the first matching rule (all mappings' rules by priority, lowest first), else the default.

    ``facts``: a MessageFacts, or a dict of its fields. Returns the mapping and the reason, for the report.
    """
    if not isinstance(facts, MessageFacts):
        facts = MessageFacts(**facts)  # type: ignore[arg-type]  # a dict of MessageFacts' fields; the dataclass normalizes them
    candidates = sorted(
        ((rule, mapping) for mapping in config.mappings for rule in mapping.rules),
        key=lambda pair: (pair[0].priority, pair[0].rule_id or 0),
    )
    for rule, mapping in candidates:
        matched = rule_matches(rule, facts)
        if matched:
            target = f" {rule.header_name}" if rule.kind == MappingRuleKind.HEADER else ""
            return mapping, (
                f"mapping {mapping.name!r}: {matched} matches its {rule.kind}{target} rule "
                f"{rule.pattern!r} (priority {rule.priority})"
            )
    return config.default_mapping, f"default mapping {config.default_mapping.name!r}: no mapping rule matched"
