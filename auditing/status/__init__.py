"""The installation's status: the admin index's dashboard, its token-protected JSON twin and ``/metrics``."""
