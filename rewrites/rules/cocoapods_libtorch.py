from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit
from rewrites.core import Invalid, Valid

PODS = frozenset({"LibTorch", "LibTorch-Lite", "LibTorch-Lite-Nightly", "LibTorch_Lite", "LibTorchvision"})
_DECLARATION = re.compile(r"\b(?:pod|dependency)\s*\(?\s*$")


class CocoaPodsLibTorch(AppRule):
    """Flags the `LibTorch-Lite` / `LibTorch` CocoaPods in a `Podfile` or `.podspec`.

    ## What it does
    Reports `pod 'LibTorch-Lite'`, `pod 'LibTorch'` (and the nightly pod), `pod 'LibTorchvision'`
    (torchvision's operators for LibTorch), and `s.dependency 'LibTorch-Lite'` in podspecs.

    ## Why is this bad?
    These pods hold the PyTorch Mobile runtime. ExecuTorch ships for iOS through Swift Package
    Manager: the package `https://github.com/pytorch/executorch` (branch `swiftpm-1.5.1`, the
    release this tool pins) with the products `executorch`, `backend_xnnpack` and
    `kernels_optimized` (add `backend_coreml` / `backend_mps` for those delegates).

    ## Example
    ```ruby
    target 'HelloWorld' do
      pod 'LibTorch-Lite', '~> 1.13.0.1'
    end
    ```

    Use instead: remove the pod and add the Swift package in Xcode (File > Add Package
    Dependencies), linking `executorch`, `backend_xnnpack` and `kernels_optimized` with
    `-all_load` in Other Linker Flags.

    ## Fix safety
    Display-only: the dependency moves out of the Podfile into the Xcode project, which this
    tool does not edit.
    """

    code = "MIG609"
    name = "cocoapods-libtorch"
    message = (
        "PyTorch Mobile's iOS pod: remove it and add ExecuTorch with Swift Package Manager "
        "(https://github.com/pytorch/executorch, branch `swiftpm-1.5.1`; products `executorch`, "
        "`backend_xnnpack`, `kernels_optimized`)"
    )
    languages = frozenset({"ruby"})
    tokens = (("LibTorch",),)

    VALID = [
        Valid("# pod 'LibTorch-Lite', '~> 1.13.0.1'\ntarget 'App' do\n  pod 'Alamofire'\nend\n", "Podfile"),
        Valid("name = 'LibTorch-Lite'\n", "Podfile"),
    ]
    INVALID = [
        Invalid(
            "target 'HelloWorld' do\n  pod 'LibTorch-Lite', '~> 1.13.0.1'\nend\n",
            line=2,
            column=7,
            path="Podfile",
        ),
        Invalid('Pod::Spec.new do |s|\n  s.dependency "LibTorch", "~> 1.13"\nend\n', path="Bridge.podspec"),
        Invalid(
            "target 'D2Go' do\n  pod 'LibTorch-Lite'\n  pod 'LibTorchvision', '0.10.0'\nend\n",
            count=2,
            path="Podfile",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        source = self.source
        for literal in source.strings:
            if literal.value in PODS and _DECLARATION.search(
                source.masked, source.line_start(literal.start), literal.start
            ):
                if literal.value == "LibTorchvision":
                    yield Hit(
                        literal.start,
                        literal.end,
                        "torchvision's LibTorch operators (nms, roi_align) have no ExecuTorch pod: export them "
                        "into the program (decomposed or as a custom op) and remove the pod",
                    )
                else:
                    yield Hit(literal.start, literal.end)
