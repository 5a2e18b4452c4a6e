"""Step group 1, filters: which mail is processed at all (catch addresses, our own mail, automated mail,
the profile's filter rules, floods)."""

from __future__ import annotations

from inbound.flood import earlier_from_sender
from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from inbound.pipeline.step import by_action
from profiles.filtering import match_filter_rules
from profiles.routing import matches_catch_address


class CatchAddress:
    name = "catch_address"
    description = "Only mail sent to one of the profile's catch addresses is processed."

    def __call__(self, ctx: Context) -> Verdict:
        if not ctx.profile.catch_addresses:
            return go_on(self.name, "the profile has no catch addresses: every message is taken")
        if matches_catch_address(ctx.profile, ctx.facts.recipients):
            return go_on(self.name, "sent to a catch address")
        return by_action(self.name, ctx.profile.non_catch_action, "not sent to any catch address of the profile")


class _Classified:
    """A filter on one verdict of the message classification, with the profile's action for it."""

    name = ""
    description = ""
    flag = ""
    setting = ""
    label = ""

    def __call__(self, ctx: Context) -> Verdict:
        classification = ctx.message.classification
        if not getattr(classification, self.flag):
            return go_on(self.name, f"not {self.label}")
        reasons = [r for r in classification.reasons if r.lower().startswith(self.flag.replace("_", "-"))]
        reasons = reasons or list(classification.reasons)
        return by_action(self.name, getattr(ctx.profile.filters, self.setting), f"{self.label}: {'; '.join(reasons)}")


class OwnMail(_Classified):
    name = "own_mail"
    description = "Our own outbound mail coming back (fingerprint header or our Message-ID domain) is a loop."
    flag, setting, label = "loop", "own_mail_action", "our own mail (loop)"


class AutoReply(_Classified):
    name = "auto_reply"
    description = "Out-of-office and other automatic replies."
    flag, setting, label = "auto_reply", "auto_reply_action", "an automatic reply"


class Bounce(_Classified):
    name = "bounce"
    description = "Delivery failure reports (bounces)."
    flag, setting, label = "bounce", "bounce_action", "a bounce"

    def __call__(self, ctx: Context) -> Verdict:
        verdict = super().__call__(ctx)
        if ctx.message.classification.bounce:
            verdict.details["bounced_recipients"] = list(ctx.message.classification.bounced_recipients)
        return verdict


class BulkOrList(_Classified):
    name = "bulk"
    description = "Bulk and mailing-list mail (Precedence, List-Id, List-Unsubscribe)."
    setting, label = "bulk_action", "bulk or list mail"

    def __call__(self, ctx: Context) -> Verdict:
        classification = ctx.message.classification
        if not (classification.bulk or classification.list):
            return go_on(self.name, "not bulk or list mail")
        reasons = [r for r in classification.reasons if r.lower().startswith(("bulk", "list"))]
        return by_action(
            self.name,
            ctx.profile.filters.bulk_action,
            f"bulk or list mail: {'; '.join(reasons or classification.reasons)}",
        )


class Spam(_Classified):
    name = "spam"
    description = "Mail an upstream filter marked as spam."
    flag, setting, label = "spam", "spam_action", "marked as spam"


class FilterRules:
    name = "filter_rules"
    description = "The profile's own rules: header patterns, blocked subjects, sender include/exclude lists."

    def __call__(self, ctx: Context) -> Verdict:
        hit = match_filter_rules(ctx.profile, ctx.facts)
        if hit is None:
            return go_on(self.name, "no filter rule applies")
        return by_action(self.name, hit.action, hit.reason)


class Flood:
    name = "flood"
    description = "A sender sending more than the hourly limit is held back."

    def __call__(self, ctx: Context) -> Verdict:
        limit = ctx.profile.filters.flood_limit_per_hour
        if not limit or not ctx.sender_hash:
            return go_on(self.name, "no flood limit" if not limit else "no sender to count")
        count = ctx.group.earlier_from_sender(ctx.inbound_id, ctx.now) if ctx.group and ctx.inbound_id else None
        if count is None:
            count = earlier_from_sender(ctx.instance_id, ctx.sender_hash, ctx.now, before_id=ctx.inbound_id)
        if count < limit:
            return go_on(self.name, f"{count} earlier message(s) from this sender in the last hour (limit {limit})")
        return by_action(
            self.name,
            ctx.profile.filters.flood_action,
            f"flood: {count} messages from this sender in the last hour (limit {limit})",
        )
