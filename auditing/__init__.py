"""The read side of the audit: browsing inbound and outbound mail through the writer apps' service functions, and to
come, support flagging and views, retention and purge, data-subject export/erasure. No other app imports it.
"""
