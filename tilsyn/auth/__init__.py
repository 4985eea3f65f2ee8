"""Accounts, login and password handling."""
