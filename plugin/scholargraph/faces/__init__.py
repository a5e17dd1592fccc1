"""The faces of the engine: command line, HTTP service, Open WebUI bridge, LangChain tools and the
graph page. Each is thin: it turns its callers' shapes into ``Library`` calls and back, and holds
no retrieval, ingest or graph logic of its own."""
