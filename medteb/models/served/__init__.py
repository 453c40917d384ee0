"""Served models: ``api/<name>``, a model behind an OpenAI-compatible embeddings endpoint.

- :mod:`.client`: ``POST /v1/embeddings`` (batches, concurrency, the endpoint policy of
  :mod:`medteb.endpoint`), :class:`~.client.ApiConfig`, :class:`~.client.ApiError`;
- :mod:`.cache`: where its vectors are kept, the served backend of
  :class:`~medteb.models.vector_cache.VectorCache` (:class:`~.cache.ServedVectors`,
  :class:`~.cache.ServedIdentity`);
- :mod:`.side`: a served model as a pair's side, a vector cache around the client
  (:class:`~.side.ApiSide`);
- :mod:`.encoder`: ``-m api/<name>`` as an mteb encoder (:class:`~.encoder.ApiSpec`).

The kind itself (how the name is recognised, checked and loaded) is
:mod:`medteb.models.kinds.served`. Light: nothing is imported here.
"""
