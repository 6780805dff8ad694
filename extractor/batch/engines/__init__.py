"""Batch engines: the model's answers for a whole corpus through a batch engine
(OpenAI's Batch API, vLLM's `run_batch`, anything taking the OpenAI batch format)
instead of one live call per letter. docs/batch.md, "Batch engines", for the user.

  settings.py  what a request depends on (model, mode, prompt, limits): its key
  letter.py    one letter one step further: the next request, or its record
  ledger.py    the database's bookkeeping (engine_batches, engine_requests)
  requests.py  writing the request file (streamed, 0600)
  results.py   importing an output file (streamed, verified, idempotent)
  provider.py  the Batch API: upload, create, poll, download, delete

The request is the live path's own: instructor builds it from the answer model in
the configured mode, exactly as for a live call, and our sender captures it instead
of sending it (client.NeedReply). An answer is replayed through the same loop, so
parsing, verification, the re-ask with the verifier's errors and the call cache key
are the live path's too. (instructor's own `instructor.batch` cannot carry this:
see docs/batch.md.)
"""
