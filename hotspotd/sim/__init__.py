"""Simulators of the outside world (Daraja, RouterOS) for the demo and the tests."""
