"""Rules that find (and, with fixes, rewrite) TorchScript-era code, in Python and app code.

``core`` is the language-neutral part (rule metadata, diagnostics, suppression, the one fixer);
``python_checker`` (libcst) and ``app_checker`` (tree-sitter and lexers) each turn a file and the
rules of its languages into diagnostics; ``rules/`` holds one rule per file. Depends on libcst
only: scanning never imports torch.
"""
