"""howsure.calibration."""
