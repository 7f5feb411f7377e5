"""Stage 4, the ways in: the CLI, the HTTP and MCP servers, and the warm hand-off.

Every surface is a thin layer over `searchkit.api`: `cli` (click), `render` (text and JSON
output), `http_server`, `mcp_server`, `serving` (one live index for a long-lived process),
`remote` (the CLI handing a query to a running server) and `watch`.
"""
