"""The consultation maps and fixtures of the comment tests, reused for map images."""

from tests.comments.conftest import layers_dir, plan, post, settings, token  # noqa: F401
