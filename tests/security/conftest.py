"""Fixtures for the security regression suite (issue 17): each test here failed on the code the probe found."""
