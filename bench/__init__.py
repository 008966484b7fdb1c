"""Benchmarks of the 2FA portal (python -m bench): ratios against baselines of the same run."""
