"""Tests of the trackers app: the Tracker contract (contract.py) and the local tracker."""

import pytest

pytest.register_assert_rewrite("tests.trackers.contract")  # the contract's asserts explain their failures
