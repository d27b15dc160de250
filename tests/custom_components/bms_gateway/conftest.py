"""Pytest set-up for the integration's tests: assertions in the shared helpers are explained like the tests' own."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.custom_components.bms_gateway.helpers")
