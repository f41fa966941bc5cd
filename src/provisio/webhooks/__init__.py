"""Webhook delivery: URL safety rules, the retry schedule, signing and dispatch."""
