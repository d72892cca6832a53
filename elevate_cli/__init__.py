"""`elevate`: the portal's command line (login, devices, request, status, extend, revoke, approvals)."""
