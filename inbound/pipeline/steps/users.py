"""Users (a handler, and a rule for unusable or unknown senders): who the sender is in the tracker, and the
draft's people (email-only sender, To/Cc addressees as participants or watchers)."""

from __future__ import annotations

from inbound.pipeline.context import Context, Hint
from inbound.pipeline.identity import identify
from inbound.pipeline.outcome import Outcome, Verdict, go_on, stop
from inbound.pipeline.sender import takes_part
from inbound.pipeline.step import unknown_action
from profiles.patterns import compiled
from profiles.routing import matches_catch_address, split_subaddress
from trackers.interface import usable_address


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
        sender = identify(ctx)
        if not usable_address(sender.email):
            return stop(self.name, Outcome.FILTERED, "the message has no usable From address: left for a human")
        people = ctx.draft.people
        people.sender_account = sender.account
        handling = mapping.addressee_handling
        if handling not in ("ignore", "participants", "watchers"):
            return unknown_action(self.name, handling, "addressee handling")
        found, addressee_note = self._addressees(ctx, handling)
        if handling == "participants":
            people.participants.extend(found)
        elif handling == "watchers":
            for address in found:
                user = ctx.tracker.find_user_by_email(address)
                if user is not None:
                    people.watchers.append(user.account_id)
                else:
                    people.participants.append(address)
        counts: dict[str, int | str] = {"participants": len(people.participants), "watchers": len(people.watchers)}
        if addressee_note:
            counts["addressees"] = addressee_note
        if people.sender_account is not None:
            return go_on(self.name, f"the sender has an account ({people.sender_account.account_id})", **counts)
        if mapping.unknown_sender_action not in ("reject", "email_only"):
            return unknown_action(self.name, mapping.unknown_sender_action, "the sender has no account")
        if mapping.unknown_sender_action == "reject":
            ctx.decisions.hint = Hint("unknown_sender", {})
            note = ctx.tracker.user_lookup_note(sender.email)
            why = f"{sender.reason}; {note}" if note else sender.reason
            return stop(self.name, Outcome.REJECTED, f"the sender has no usable account ({why}) and is rejected")
        # the requester of a new issue follows it; writing to an existing one makes no one a participant unless the
        # mapping says so (issue 14)
        joins = ctx.decisions.issue is None or mapping.sender_becomes_participant
        if joins and sender.email not in people.participants:
            people.participants.insert(0, sender.email)
            counts["participants"] = len(people.participants)
        note = ctx.tracker.user_lookup_note(sender.email)
        return go_on(self.name, f"the sender has no account: an email-only user{'; ' + note if note else ''}", **counts)

    @staticmethod
    def _addressees(ctx: Context, handling: str) -> tuple[list[str], str]:
        """The To/Cc people who join the issue, and a note when some or all do not (empty: all of them joined).

        Only an authenticated sender brings people along: one with an account, one already on the issue, or the
        reporter of the new issue; never more than the mapping's caps per message and per issue."""
        if handling == "ignore":
            return [], ""
        sender, issue = identify(ctx), ctx.decisions.issue
        found = [a for a in addressees(ctx) if issue is None or not takes_part(issue, a)]
        if not found:
            return [], ""
        if not sender.authenticated:
            return [], f"{len(found)} To/Cc people not added: the sender is not authenticated"
        if sender.account is None and issue is not None and not takes_part(issue, sender.email):
            return [], f"{len(found)} To/Cc people not added: the sender does not take part in {issue.key}"
        per_message = ctx.mapping.addressees_per_message
        already = len(issue.email_participants) + len(issue.watchers) if issue is not None else 0
        room = max(0, min(per_message, ctx.mapping.participants_per_issue - already))
        if len(found) <= room:
            return found, ""
        note = f"{len(found) - room} of {len(found)} To/Cc people not added: at most {per_message} per message"
        return found[:room], f"{note} and {ctx.mapping.participants_per_issue} per issue"
