"""Stage 3, retrieve: query text → ranked passages with snippets and links.

`query` parses what people type; `ranking` scores passages (BM25F, coordination,
proximity); `search` assembles a page of results; `spelling` corrects words; `highlight`
marks snippets; `links` builds deep links; `reading` reads lines of a note back.
"""
