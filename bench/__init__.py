"""Midway's benchmarks: every figure is a ratio against a baseline measured in the same run, or an
absolute time on a GPU. Run them with `bench/run` or `midway bench`; see bench/RESULTS.md."""
