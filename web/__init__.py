"""HTTP side: the captive portal and the admin pages (bottle apps)."""
