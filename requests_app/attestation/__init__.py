"""Attestation after use: the beneficiary says what they did with an elevation once it ended.

An elevation that held admin and ended (revoked or expired) gets an `Attestation` row with the
policy's rules of that moment; the beneficiary is asked on their next visit and in the "ended"
notification. Overdue ones are listed for helpdesk and, where the policy says so, refuse new
requests (`check_may_request`, called by the request service).
"""
