"""Steps 7-9: content (what text goes into the tracker), attachments (which files go with it) and users
(who the sender is in the tracker; email-only senders; To/Cc people)."""

from __future__ import annotations

from inbound.pipeline.context import Context, Hint
from inbound.pipeline.group import own_addresses
from inbound.pipeline.markup import as_markdown
from inbound.pipeline.outcome import Outcome, Verdict, go_on, stop
from profiles.patterns import compiled
from profiles.routing import matches_catch_address, split_subaddress


class Content:
    name = "content"
    description = "Chooses the text for the issue or comment (reply text only on comments) as Markdown."

    def __call__(self, ctx: Context) -> Verdict:
        use_reply = ctx.issue is not None and ctx.profile.content.comment_reply_text_only
        text = ctx.comment_body if use_reply else ctx.body
        if not text.strip() and use_reply:
            text = ctx.body  # nothing new above the quote: keep what there is rather than nothing
        convert = ctx.profile.content.body_to_markdown
        rendered = as_markdown(text) if convert else text.strip()
        if ctx.issue is not None:
            ctx.comment_body = rendered
        else:
            ctx.issue_description = rendered
        what = "reply text" if use_reply else "whole body"
        return go_on(self.name, f"{what}, {len(rendered)} characters{' as Markdown' if convert else ''}")


class Attachments:
    name = "attachments"
    description = "Drops duplicates (by SHA-256) and excluded files (type, size, name, known fingerprints)."

    def __call__(self, ctx: Context) -> Verdict:
        settings = ctx.profile.attachments
        existing = ctx.tracker.attachment_hashes(ctx.issue.key) if ctx.issue is not None else frozenset()
        seen: set[str] = set()
        kept, skipped = [], []
        for attachment in ctx.message.attachments:
            reason = None
            if attachment.inline and not settings.keep_inline_images:
                reason = "inline image (not kept by the profile)"
            else:
                reason = settings.exclusion_reason(
                    attachment.filename, attachment.content_type, attachment.size, attachment.sha256
                )
            if reason is None and settings.drop_duplicates:
                if attachment.sha256 in existing:
                    reason = "duplicate of an attachment the issue already has"
                elif attachment.sha256 in seen:
                    reason = "duplicate within this message"
            if reason:
                skipped.append({"filename": attachment.filename, "reason": reason})
                continue
            seen.add(attachment.sha256)
            kept.append(attachment)
        ctx.attachments, ctx.skipped_attachments = kept, skipped
        inline = [a for a in kept if a.inline and a.content_type.startswith("image/")]
        if inline:
            refs = "\n".join(f"![{a.filename}](attachment:{a.filename})" for a in inline)
            if ctx.issue is not None:
                ctx.comment_body = f"{ctx.comment_body}\n\n{refs}".strip()
            else:
                ctx.issue_description = f"{ctx.issue_description}\n\n{refs}".strip()
        return go_on(self.name, f"{len(kept)} kept, {len(skipped)} dropped", dropped=skipped)


class Users:
    name = "users"
    description = "Looks the sender up in the tracker; senders without an account become email-only users."

    def __call__(self, ctx: Context) -> Verdict:
        assert ctx.mapping is not None
        sender = ctx.sender_email
        if not sender or "@" not in sender or any(c.isspace() for c in sender):
            return stop(self.name, Outcome.FILTERED, "the message has no usable From address: left for a human")
        ctx.sender_user = ctx.tracker.find_user_by_email(sender)
        people = self._addressees(ctx)
        handling = ctx.mapping.addressee_handling
        if handling == "participants":
            ctx.participants.extend(people)
        elif handling == "watchers":
            for address in people:
                user = ctx.tracker.find_user_by_email(address)
                if user is not None:
                    ctx.watchers.append(user.account_id)
                else:
                    ctx.participants.append(address)
        if ctx.sender_user is not None:
            return go_on(
                self.name,
                f"the sender has an account ({ctx.sender_user.account_id})",
                participants=len(ctx.participants),
                watchers=len(ctx.watchers),
            )
        if ctx.mapping.unknown_sender_action == "reject":
            ctx.hint = Hint("unknown_sender", {})
            return stop(self.name, Outcome.REJECTED, "the sender has no account and such senders are rejected")
        if sender not in ctx.participants:
            ctx.participants.insert(0, sender)
        return go_on(
            self.name,
            "the sender has no account: an email-only user (fields and participants)",
            participants=len(ctx.participants),
            watchers=len(ctx.watchers),
        )

    @staticmethod
    def _addressees(ctx: Context) -> list[str]:
        """To/Cc people other than the sender and our own addresses."""
        own = own_addresses(ctx.group, ctx.instance_id)
        people: list[str] = []
        for address in (*ctx.message.to, *ctx.message.cc):
            email = address.email.lower()
            if not email or email == ctx.sender_email or email in people:
                continue
            if "@" not in email or any(c.isspace() for c in email):
                continue  # not an address anyone can be told about (e.g. "To: XX"); the tracker would refuse it
            if split_subaddress(email)[0] in own.literals or matches_catch_address(ctx.profile, [email]):
                continue
            if any(compiled(pattern).fullmatch(email) for pattern in own.patterns):
                continue
            people.append(email)
        return people
