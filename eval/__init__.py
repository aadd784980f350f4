"""howsure.eval."""
