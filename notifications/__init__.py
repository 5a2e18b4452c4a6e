"""Issue events (Jira webhooks, local tracker signals), notification mappings, templates, rendering, threading
headers, sending.
"""
