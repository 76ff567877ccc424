"""Text messages to customers: the gateways hotspotd sends through (Africa's Talking)."""
