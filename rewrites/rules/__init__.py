"""One rule per module; the registry finds them by walking this package.

Code families (stable; a code is never reused for another meaning):

- MIG1xx  TorchScript entry points and serialization
- MIG2xx  PyTorch Mobile (lite interpreter, mobile optimizer, bundled inputs)
- MIG3xx  TorchScript helpers inside model code
- MIG4xx  export blockers visible in source
- MIG5xx  eager-mode quantization and moved quantization APIs
- MIG6xx  app code (Android, iOS, C++): Gradle, Java/Kotlin, Podfiles, native code
  (``rewrites.app_checker.AppRule``; 601-608 Android, 609-614 iOS and native)
- MIGx99  the catch-all of a family

Within a family, codes are given in order of addition; a retired rule keeps its number.
"""
