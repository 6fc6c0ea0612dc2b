"""Why the rules of backprop exist: nudging an input, running the classic bugs, following the
paths. Plain Python over the engine (no Textual): the app, ``--print`` and ``--json`` all read
these modules.

- :mod:`stepgrad.lesson.nudge`: a grad is a sensitivity; nudge an input by h and compare.
- :mod:`stepgrad.lesson.bugs`: the backward pass with one rule broken (``=`` for ``+=``, firing
  early, micrograd's second ``backward()``), step by step, beside the correct pass.
- :mod:`stepgrad.lesson.paths`: the chain rule as a sum over the paths from an input to the
  output.
"""
