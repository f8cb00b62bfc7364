"""The delivery tests' Front simulator and runtime, for the ops tests."""

from tests.delivery.conftest import runtime, sim  # noqa: F401
