"""Contamination audit: which test queries, documents and (query, positive) pairs of the MedTEB
tasks occur in a model's training data (docs/contamination.md).

The test side is indexed once (:mod:`.index`); training files are streamed record by record
(:mod:`.training`) and matched (:mod:`.scan`), in one process or on Ray workers
(:mod:`.ray_scan`); :mod:`.report` holds the report object. Nothing here is imported by
``import medteb``.
"""
