"""Domain agents, one package per domain: A2A executor, skills and domain logic (to come)."""
