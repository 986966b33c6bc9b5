"""gitops: a declarative GitOps reconciler.

The data flows through one module per stage:
source -> render -> plan (diff) -> apply / prune -> health -> report,
sequenced by :mod:`gitops.engine`. The CLI, the agent and the GitHub Action
are thin front ends over that engine.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
