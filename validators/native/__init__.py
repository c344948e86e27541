"""The native runners: the ExecuTorch C++ runtime and LiteRT's C API, with no Python in the
timed call, for this CPU (``native``) and, cross-built and emulated, for arm64 phone CPUs."""
