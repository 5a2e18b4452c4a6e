"""The Tracker contract (tests/trackers/contract.py), run against the in-memory tracker of the step tests
(tests/trackers/memory.py), without the database: it proves the step tests' tracker behaves like a real one."""

from __future__ import annotations

import pytest

from tests.trackers.contract import TrackerContract
from tests.trackers.memory import MemoryTracker


class TestMemoryTracker(TrackerContract):
    @pytest.fixture()
    def tracker(self) -> MemoryTracker:
        self.memory = MemoryTracker()
        return self.memory

    def make_project(self, key: str, name: str, lead: str | None) -> None:
        self.memory.add_project(key, name, lead=self.memory.users[lead] if lead else None)

    def make_user(self, username: str, email: str, display_name: str, *, active: bool = True) -> str:
        return self.memory.add_user(username, email, display_name, active=active).account_id

    def make_custom_field(self, name: str) -> None:
        """Free-form custom fields: nothing to declare."""

    def grant(self, account_id: str, project_key: str, *permissions: str) -> None:
        self.memory.grant(account_id, project_key, *permissions)

    def delete_issue(self, key: str) -> None:
        self.memory.issues.pop(key.upper())

    def new_tracker(self) -> MemoryTracker:
        return self.memory
