"""The agent tests' fixtures: local servers (auto and scripted) and real `openai` clients."""

from __future__ import annotations

from agent.conftest import client, scripted, scripted_aclient, scripted_server, server

__all__ = ["client", "scripted", "scripted_aclient", "scripted_server", "server"]
