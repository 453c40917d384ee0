"""Benchmark construction: rebuild MedTEB-format data the paper's way, from your own files.

Each stage reads files and writes files (atomically), so it can be rerun, inspected and resumed:

- :mod:`medteb.build.prepare`: clean, anonymise and exact-deduplicate raw queries and documents;
- :mod:`medteb.build.diversify`: near-duplicate filtering over a FAISS index (Appendix C);
- :mod:`medteb.build.pool`: candidate pools from several retrievers (Appendix B);
- :mod:`medteb.build.judge`: multi-LLM relevance judgments (Table 21), voting, Fleiss' kappa;
- :mod:`medteb.build.export`: retrieval and rerank task folders plus a datasheet;
- :mod:`medteb.build.sts`: synonym STS generation (Table 22) and the CHIP-CDN importer;
- :mod:`medteb.build.audit`: re-judging an existing retrieval task (Appendix E, Table 13).

LLM judges are OpenAI-compatible endpoints described by :class:`medteb.build.llm.JudgeConfig`
and always passed in; every response is stored in an append-only :class:`ResponseStore` as soon
as it arrives, so an interrupted run loses nothing and a rerun never pays for a call twice.
The walkthrough is ``docs/building_data.md``.
"""
