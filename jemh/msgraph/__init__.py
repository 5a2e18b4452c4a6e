"""Microsoft Graph for the instance's Microsoft OAuth app: app-only tokens (:mod:`jemh.msgraph.tokens`) and a small
HTTP client that honours throttling and renews a token Graph refuses (:mod:`jemh.msgraph.client`)."""
