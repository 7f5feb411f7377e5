"""Stage 4, the ways in: the CLI, the HTTP and MCP servers, and the warm hand-off.

Every surface is a thin layer over `searchkit.api` and imports nothing from the stages
below it but the result types (an import-linter contract): `cli/` (click; one module per
group of commands), `render` (text and JSON output), `http_server`, `mcp_server`,
`serving` (one live index for a long-lived process), `remote` (the CLI handing a query to
a running server) and `progress` (bars and summaries).
"""
