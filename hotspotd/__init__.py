"""hotspotd: sells WiFi packages, takes M-Pesa and vouchers, and lets paid devices online."""

__version__ = "0.1.0"
