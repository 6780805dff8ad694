"""`imr-extract serve`: the extraction service (FastAPI on uvicorn) and its review page."""
