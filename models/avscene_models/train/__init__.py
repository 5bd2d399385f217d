"""Training: audio nets, image nets, fusion heads, and what they share."""
