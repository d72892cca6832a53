"""Reason insights: what people need admin rights for, per device group and per software named,
so admins can remove the need (publish the app in self-service) instead of granting again."""
