"""Serving the published indexes: the HTTP JSON API, the MCP server and the vector reads they share."""
