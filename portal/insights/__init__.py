"""Insights: what users ask for, where self-service fails, and what each country should do about it."""
