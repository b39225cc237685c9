"""The workshop domain: aggregates, events, value objects and domain errors.

Pure Python: only the standard library, attrs and ``eventsourcing.domain`` may be imported
here (enforced by import-linter).
"""
