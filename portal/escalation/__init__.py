"""Levels 2 and 3: escalation across tiers, the central expert console, problems, releases and roll-out."""
