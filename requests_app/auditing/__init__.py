"""The auditor's side of the trail: chain verification, dashboard, statistics and export.

`verify` walks the hash chain (used by `manage.py audit_verify` and the periodic task that keeps
`AuditCheckpoint` current for the dashboard); `selectors` and `stats` read; `export` streams;
`generator` writes correct chains in bulk for tests and benchmarks.
"""
