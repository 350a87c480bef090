"""Speed benchmarks (`make bench`): side-by-side timings against the anchors."""
