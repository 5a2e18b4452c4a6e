"""Signals of inbound mail (declared here; receivers are connected in ``InboundConfig.ready``).

``messages_captured(sender=InboundMessage, messages=[...])`` is sent once the transaction that recorded new
messages has committed, with the messages of that transaction that still need processing (status
``received``): one signal per committed batch, so a receiver can queue them in groups. The processing pipeline
connects to it (``inbound.pipeline.receivers``).
"""

from __future__ import annotations

from django.dispatch import Signal

messages_captured = Signal()
