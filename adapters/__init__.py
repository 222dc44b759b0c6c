"""Adapters: what is specific to one partner system (formats, clients, simulators)."""
