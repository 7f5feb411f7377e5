"""The semantic layer's models: passage text → vectors, with no network and no torch.

`models` holds the `Embedder` interface and the shipped backends (all-MiniLM-L6-v2 int8
through onnxruntime, WordLlama static vectors); `text` says what of a passage is embedded
and the content key its vector is stored under. Optional: without the `semantic` extra,
importing `models`' backends raises `EmbedderUnavailable` and search stays lexical.
"""
