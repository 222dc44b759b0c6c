"""The REST entrypoint (FastAPI): thin routes over the pipeline, problem+json errors."""
