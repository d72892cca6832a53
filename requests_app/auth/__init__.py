"""Sign-in policy of the portal: who may use a password, MFA for staff, step-up, roles from SSO."""
