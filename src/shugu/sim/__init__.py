"""Simulated machines and a simulated district that talk to shugu through its real device APIs."""
