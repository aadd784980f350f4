"""howsure.probes."""
