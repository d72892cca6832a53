"""The helpdesk console: find people and devices, act on any elevation, bulk revoke, break-glass."""
