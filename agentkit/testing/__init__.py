"""agentkit.testing."""
