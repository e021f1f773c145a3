"""The HTTP face of the server: routes, SSE, the JSON helpers, the threaded runner."""
