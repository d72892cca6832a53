"""Approvals: the queue of requests a person may decide, and approve / deny with a reason.

Who decides is policy (`permissions.may_approve`): the beneficiary's manager, an approver group, or
anyone with the approver role; N approvals when the policy says so; never one's own request.
Undecided requests expire through the core sweep (`execution.expire_undecided`).
"""
