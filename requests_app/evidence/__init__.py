"""The evidence pack: for a period an auditor picks, a ZIP built in the worker holding a PDF
summary, the full event export (CSV and JSON Lines, as the dashboard exports them), the
elevations with approvals and attestations, break-glass with reviews, failed revokes and drift,
policy changes, a control map (SOC 2, ISO 27001:2022) and a SHA-256 manifest of all of it."""
