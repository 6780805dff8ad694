"""imr-extract: verified, structured data from California IMR determination letters.

Data flows one way: ingest -> extract (rules | llm | hybrid) -> verify -> output/store.
"""

__version__ = "0.1.0"
