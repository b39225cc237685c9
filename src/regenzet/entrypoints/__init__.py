"""Entrypoints: the CLI, the HTTP API, workers and Lambda handlers, and the composition root
(``container``), the only module that imports adapters."""
