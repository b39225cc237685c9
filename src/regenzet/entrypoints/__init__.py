"""Entrypoints: the CLI, the HTTP API, workers and Lambda handlers, and the composition root
(``bootstrap``), the only module that imports adapters (the email Lambda composes its own
renderer); the runtime it builds never imports it back (ADR 0034, 0035)."""
