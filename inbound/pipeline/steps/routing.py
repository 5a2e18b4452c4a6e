"""Routing: which project mapping the mail goes to."""

from __future__ import annotations

from inbound.pipeline.context import Context
from inbound.pipeline.outcome import Verdict, go_on
from profiles.routing import select_mapping


class Routing:
    name = "routing"
    description = "Selects the project mapping by its rules; unset values come from the default mapping."

    def __call__(self, ctx: Context) -> Verdict:
        mapping, reason = select_mapping(ctx.profile, ctx.mail.facts)
        ctx.decisions.mapping = mapping
        return go_on(
            self.name, reason, mapping=mapping.name, project=mapping.project_key, inherited=sorted(mapping.inherited)
        )
