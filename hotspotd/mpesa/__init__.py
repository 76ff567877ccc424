"""Safaricom Daraja: the API client and callback parsing."""
