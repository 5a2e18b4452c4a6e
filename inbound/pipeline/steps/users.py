"""Users (a handler, and a rule for unusable or unknown senders): who the sender is in the tracker, and the
draft's people (email-only sender, To/Cc addressees as participants or watchers)."""

from __future__ import annotations

from inbound.pipeline.context import Context, Hint
from inbound.pipeline.outcome import Outcome, Verdict, go_on, stop
from inbound.pipeline.step import unknown_action
from profiles.patterns import compiled
from profiles.routing import matches_catch_address, split_subaddress


def usable_address(email: str) -> bool:
    """An address anyone can be told about (not e.g. "To: XX"): the tracker would refuse others."""
    return bool(email) and "@" in email and not any(c.isspace() for c in email)


def addressees(ctx: Context) -> list[str]:
    """To/Cc people other than the sender and our own addresses."""
    own = ctx.lookups.own_addresses()
    sender = ctx.mail.sender_email
    people: list[str] = []
    for address in (*ctx.message.to, *ctx.message.cc):
        email = address.email.lower()
        if not email or email == sender or email in people or not usable_address(email):
            continue
        if split_subaddress(email)[0] in own.literals or matches_catch_address(ctx.profile, [email]):
            continue
        if any(compiled(pattern).fullmatch(email) for pattern in own.patterns):
            continue
        people.append(email)
    return people


class Users:
    name = "users"
    description = "Looks the sender up in the tracker; senders without an account become email-only users."

    def __call__(self, ctx: Context) -> Verdict:
        mapping = ctx.mapping
        sender = ctx.mail.sender_email
        if not usable_address(sender):
            return stop(self.name, Outcome.FILTERED, "the message has no usable From address: left for a human")
        people = ctx.draft.people
        people.sender_account = ctx.tracker.find_user_by_email(sender)
        found = addressees(ctx)
        handling = mapping.addressee_handling
        if handling not in ("ignore", "participants", "watchers"):
            return unknown_action(self.name, handling, "addressee handling")
        if handling == "participants":
            people.participants.extend(found)
        elif handling == "watchers":
            for address in found:
                user = ctx.tracker.find_user_by_email(address)
                if user is not None:
                    people.watchers.append(user.account_id)
                else:
                    people.participants.append(address)
        if people.sender_account is not None:
            return go_on(
                self.name,
                f"the sender has an account ({people.sender_account.account_id})",
                participants=len(people.participants),
                watchers=len(people.watchers),
            )
        if mapping.unknown_sender_action not in ("reject", "email_only"):
            return unknown_action(self.name, mapping.unknown_sender_action, "the sender has no account")
        if mapping.unknown_sender_action == "reject":
            ctx.decisions.hint = Hint("unknown_sender", {})
            note = ctx.tracker.user_lookup_note(sender)
            return stop(
                self.name,
                Outcome.REJECTED,
                f"the sender has no account and such senders are rejected{' (' + note + ')' if note else ''}",
            )
        if sender not in people.participants:
            people.participants.insert(0, sender)
        note = ctx.tracker.user_lookup_note(sender)
        return go_on(
            self.name,
            f"the sender has no account: an email-only user (fields and participants){'; ' + note if note else ''}",
            participants=len(people.participants),
            watchers=len(people.watchers),
        )
