"""End-to-end tests of the staff web app in a real browser (conftest.py says how to add one)."""
