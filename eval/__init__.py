"""Evaluation: datasets, metrics, baselines, benchmark runners, reports."""
