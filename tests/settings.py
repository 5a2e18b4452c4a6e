"""Settings of the test suite: the project's settings, with the embedded defaults' files in a throwaway folder
and an in-memory Celery broker (tests that need a real broker point the app at the suite's Redis)."""

import os
import tempfile

os.environ.setdefault("JEMH_VAR_DIR", tempfile.mkdtemp(prefix="jemh-test-var-"))
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

from jemh.settings import *  # noqa: F403

# The suite runs no collectstatic: plain static names, not the manifest's (tests/packaging checks the real storage),
# and an empty STATIC_ROOT for whitenoise (which warns about a missing one).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
