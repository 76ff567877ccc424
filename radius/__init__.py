"""RADIUS side: the authentication and accounting server and the Disconnect/CoA client."""
