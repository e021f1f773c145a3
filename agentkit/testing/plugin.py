"""agentkit's pytest plugin."""
