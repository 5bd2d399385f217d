"""Data: the TAU layout, audio features from the daemon, center frames."""
