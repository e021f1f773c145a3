"""`agentkit chat`, `agentkit run` and `agentkit record`: talking to the user's agents in a
terminal."""
