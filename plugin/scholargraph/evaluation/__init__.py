"""Evaluation harnesses: retrieval quality (SciFact, XQuAD-R), graph ablation, latency."""
