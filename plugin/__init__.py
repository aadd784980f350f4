"""howsure.plugin."""
