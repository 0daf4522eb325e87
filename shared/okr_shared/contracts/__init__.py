"""Message contracts: pydantic models for everything that crosses a process boundary.

A contract changes by adding a new model and subject version, never by editing one in place.
"""
