"""Run model artifacts side by side and measure them: runners, the harness, comparison.

Depends on numpy only; each runtime (torch, executorch, ai_edge_litert) is imported by its
runner, inside the worker process that runs it.
"""
