"""The support staff's own views (``/support/``, not the admin): the mail flagged for them, nothing else."""
