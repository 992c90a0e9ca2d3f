"""The LLM platform's embedding model training job (``python -m embedder.train``)."""
