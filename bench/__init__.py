"""Benchmarks of the gateway against bare-library floors; run by hand, not part of the tests."""
