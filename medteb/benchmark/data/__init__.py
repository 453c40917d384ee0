"""On-disk task data: the local format's readers and validators, and data-source resolution."""
