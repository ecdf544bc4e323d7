"""A seeded, reproducible demo dataset for showing and benchmarking tsunagu."""
