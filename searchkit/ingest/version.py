"""The chunker's output version, apart from the chunker: the search side checks it when it
opens an index and must not import the chunker (and markdown-it) to do so."""

# Bump when chunk output changes for the same input: indexes built by another version are
# rebuilt rather than mixed.
# 4: Obsidian heading subpaths; timestamps read per note.
# 5: notes nested past markdown-it's limit are parsed flat (no text lost), limit 100.
# 6: only the lines nested past the limit are flattened, inline list markers too.
CHUNKER_VERSION = 6
