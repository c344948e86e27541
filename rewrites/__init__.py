"""Rules and the libcst engine that finds (and, with fixes, rewrites) TorchScript-era code.

Depends on libcst only: scanning never imports torch.
"""
