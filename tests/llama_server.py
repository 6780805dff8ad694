"""`python tests/llama_server.py ARGS`: llama-cpp-python's OpenAI-compatible server
(`python -m llama_cpp.server ARGS`) with weight repacking turned off.

Why: llama-cpp-python 0.3.36 built natively on these Xeons (AVX-512, AMX) segfaults in
`llama_decode` on any batch of more than one token when the CPU backend repacks the
weights into its extra buffer types; a one-token prompt works, a chat prompt kills the
server. Repacking is a speed-up, not a change of the model, and the library does not
expose the switch (`llama_model_params.use_extra_bufts`), so it is cleared here before
the server builds its model.
"""

import runpy

import llama_cpp
import llama_cpp.llama_cpp as bindings

_defaults = bindings.llama_model_default_params


def _no_repack():
    params = _defaults()
    params.use_extra_bufts = False
    return params


bindings.llama_model_default_params = llama_cpp.llama_model_default_params = _no_repack

if __name__ == "__main__":
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
