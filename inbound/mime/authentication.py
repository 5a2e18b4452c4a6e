"""Sender authentication: what the receiving MTA found out about a message (RFC 8601 ``Authentication-Results``),
and whether that authenticates the ``From`` address's domain.

Only headers whose authserv-id the admin trusts (their own MTA, which removes such headers from incoming mail) are
read; anyone can write the others. The headers are parsed by ``authres`` (the reference parser of the dkimpy /
pyspf family). A value longer than :data:`MAX_VALUE` or one it cannot parse counts as absent (never an error).
Pure: no Django, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import authres
import authres.dmarc

HEADER = "authentication-results"
MAX_VALUE = 4000  # longer values are not parsed (the parser's work grows with the square of the length)
MAX_HEADERS = 20  # trusted headers read at most (an MTA adds one per milter: SPF, DKIM, DMARC, ...)
_FEATURES = authres.FeatureContext(authres.dmarc)


@dataclass(frozen=True)
class AuthenticationVerdict:
    """What the trusted MTA said about the message, and whether the From domain is authenticated by it."""

    trusted: bool = False  # a header of a trusted authserv-id was found and parsed
    authserv_id: str = ""
    dmarc: str = ""  # "pass", "fail", "none", ... ("" when not reported)
    dkim: str = ""  # the best DKIM result: "pass" if any signature passed, else the first one reported
    spf: str = ""
    dkim_domains: tuple[str, ...] = ()  # the d= of each passing signature
    envelope_sender: str = ""  # smtp.mailfrom, when SPF passed for it
    from_domain: str = ""
    authenticated: bool = False  # aligned with the From domain: DMARC pass, or an aligned DKIM or SPF pass
    by: str = ""  # what authenticated it: "dmarc", "dkim" or "spf"
    reason: str = ""  # one line for the report

    def as_dict(self) -> dict[str, Any]:
        return {
            "authserv_id": self.authserv_id,
            "dmarc": self.dmarc or "none reported",
            "dkim": self.dkim or "none reported",
            "spf": self.spf or "none reported",
            "authenticated": self.authenticated,
            "by": self.by,
        }

    @property
    def failed(self) -> bool:
        """The MTA said the From domain's mail is forged (DMARC fail), or nothing it checked passed."""
        if not self.trusted:
            return False
        if self.dmarc == "fail":
            return True
        checked = [r for r in (self.dkim, self.spf) if r]
        return bool(checked) and not self.authenticated and all(r in ("fail", "softfail") for r in checked)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(".").lower()


def aligned(from_domain: str, domain: str) -> bool:
    """``domain`` (a DKIM d= or an SPF domain) speaks for ``from_domain``: the same, or a parent domain of it
    (never a bare top-level domain)."""
    domain = domain.strip().strip(".").lower()
    if not from_domain or not domain or "." not in domain:
        return False
    return from_domain == domain or from_domain.endswith("." + domain)


def _trusted_headers(headers: Iterable[tuple[str, str]], trusted_ids: frozenset[str]) -> list[Any]:
    parsed: list[Any] = []
    for name, value in headers:
        if name.lower() != HEADER or len(value) > MAX_VALUE:
            continue
        authserv_id = value.split(";", 1)[0].split("(", 1)[0].strip().lower()
        if authserv_id not in trusted_ids:
            continue  # written by someone else: anyone can write one
        try:
            parsed.append(_FEATURES.parse_value(" ".join(value.split())))
        except Exception:
            continue
        if len(parsed) >= MAX_HEADERS:
            break
    return parsed


def _property(result: Any, kind: str, name: str) -> str:
    for prop in getattr(result, "properties", ()) or ():
        if prop.type == kind and prop.name == name:
            return str(prop.value or "")
    return ""


def authentication_verdict(
    headers: Iterable[tuple[str, str]], trusted_ids: Sequence[str], from_address: str
) -> AuthenticationVerdict:
    """The verdict for a message's From address from the Authentication-Results headers of trusted authserv-ids."""
    from_domain = _domain(from_address) if "@" in from_address else ""
    trusted = frozenset(i.strip().lower() for i in trusted_ids if i.strip())
    if not trusted:
        return AuthenticationVerdict(
            from_domain=from_domain,
            reason="the source trusts no authserv-id, so no Authentication-Results header is believed",
        )
    found = _trusted_headers(headers, trusted)
    if not found:
        return AuthenticationVerdict(
            from_domain=from_domain,
            reason="no Authentication-Results header from a trusted authserv-id (" + ", ".join(sorted(trusted)) + ")",
        )
    dmarc = dkim = spf = envelope = ""
    dmarc_from = ""
    dkim_domains: list[str] = []
    for header in found:
        for result in header.results:
            method, outcome = str(result.method).lower(), str(result.result).lower()
            if method == "dmarc" and not dmarc:
                dmarc, dmarc_from = outcome, _property(result, "header", "from").lower()
            elif method == "dkim":
                if outcome == "pass":
                    dkim_domains.append(_property(result, "header", "d").lower())
                    dkim = "pass"
                elif not dkim:
                    dkim = outcome
            elif method == "spf" and not spf:
                spf = outcome
                mailfrom = _property(result, "smtp", "mailfrom")
                envelope = mailfrom if outcome == "pass" else ""
    verdict: dict[str, Any] = {
        "trusted": True,
        "authserv_id": found[0].authserv_id,
        "dmarc": dmarc,
        "dkim": dkim,
        "spf": spf,
        "dkim_domains": tuple(d for d in dkim_domains if d),
        "envelope_sender": envelope.lower() if "@" in envelope else "",
        "from_domain": from_domain,
    }
    if not from_domain:
        return AuthenticationVerdict(**verdict, reason="the message has no From address to authenticate")
    if dmarc == "pass" and dmarc_from == from_domain:  # a DMARC result names the From domain it was checked for
        return AuthenticationVerdict(**verdict, authenticated=True, by="dmarc", reason=f"DMARC pass for {from_domain}")
    if dmarc != "fail":
        signer = next((d for d in dkim_domains if aligned(from_domain, d)), "")
        if signer:
            return AuthenticationVerdict(
                **verdict, authenticated=True, by="dkim", reason=f"DKIM pass for {signer}, aligned with {from_domain}"
            )
        if envelope and aligned(from_domain, _domain(envelope) if "@" in envelope else envelope):
            return AuthenticationVerdict(
                **verdict, authenticated=True, by="spf", reason=f"SPF pass for an envelope sender of {from_domain}"
            )
    summary = ", ".join(f"{name}={value or 'none'}" for name, value in (("dmarc", dmarc), ("dkim", dkim), ("spf", spf)))
    return AuthenticationVerdict(**verdict, reason=f"not authenticated for {from_domain} ({summary})")
