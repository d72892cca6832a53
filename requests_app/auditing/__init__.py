"""The auditor's side of the trail: chain verification, dashboard, statistics and export.

`verify` walks the hash chain (used by `manage.py audit_verify` and the periodic task that keeps
`AuditCheckpoint` current for the dashboard); `selectors` and `stats` read; `export` streams;
`row_cache` keeps rendered rows. Events are written only by `requests_app.audit.record()`
(tests and the benchmark bulk-write chains with `bench/audit_chain.py`).
"""
