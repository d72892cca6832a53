"""The auditors' review queue: which ended elevations are reviewed, and the verdicts on them.

Picked when an elevation ends (`selection`): every break-glass, every one longer than its
policy's review threshold, and a reproducible random sample of the rest. Managers raise items
from their weekly digest (requests_app/digests). Auditors sign off or flag each with a
comment; flagged ones stay in the queue until resolved. Every step is audited.
"""
