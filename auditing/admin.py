"""Admin of auditing: Inbound/outbound audit records, raw message storage, retention and purge, support flagging
and the support views, data-subject export/erasure.
"""
