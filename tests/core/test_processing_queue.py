"""JEMH_PROCESSING_QUEUE: processing tasks go to a queue of their own (for a threads-pool worker); unset, they stay
on the default queue with every other task."""

from __future__ import annotations

from pathlib import Path

from tests.core.test_settings import manage

ROUTES = (
    "from jemh.celery import app; "
    "print([app.amqp.router.route({}, name)['queue'].name for name in "
    "('inbound.process_messages', 'inbound.process_message', 'inbound.drain_backlog', 'inbound.poll_source')])"
)


def test_processing_tasks_go_to_the_configured_queue(tmp_path: Path) -> None:
    result = manage(tmp_path, "shell", "-c", ROUTES, JEMH_PROCESSING_QUEUE="jira")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['jira', 'jira', 'jira', 'celery']"


def test_without_it_processing_stays_on_the_default_queue(tmp_path: Path) -> None:
    result = manage(tmp_path, "shell", "-c", ROUTES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['celery', 'celery', 'celery', 'celery']"
