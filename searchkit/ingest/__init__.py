"""Stage 1, ingest: vault files → notes → passages.

`notes` finds and reads note files (frontmatter, encodings, what is skipped and why);
`chunker` splits a note into passages at headings and callouts over markdown-it's token
stream; `inline_text` turns inline markup into plain passage text; `timestamps` reads video
times; `slugs` makes heading anchors. Nothing here knows about Whoosh.
"""
