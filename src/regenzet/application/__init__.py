"""Use cases over the event-sourced workshop, and the ports the outside world plugs into.

Nothing here knows which database, cloud or web framework is in use (import-linter enforces it).
"""
