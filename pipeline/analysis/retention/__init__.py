"""From introduction post to main specialist training: who continues, and how fast."""
