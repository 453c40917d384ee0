"""Publishing: Hub dataset folders (``hf_dataset``) and an mteb pull request (``mteb_pr``)."""
