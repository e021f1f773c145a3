"""The hosted code interpreter: the tool, its containers, and the sandbox they run in."""
