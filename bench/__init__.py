"""Benchmarks: each script prints hrvpace and a rival (NeuroKit2) side by side, as ratios."""
