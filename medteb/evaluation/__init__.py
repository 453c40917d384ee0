"""Evaluation: the runner behind ``medteb run``, exact search, query speed, and pre-encoding a
task's documents into the document store."""
