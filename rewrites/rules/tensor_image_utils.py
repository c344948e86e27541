from __future__ import annotations

import re
from collections.abc import Iterator

from rewrites.app_checker import AppRule, Hit
from rewrites.core import Invalid, Valid
from rewrites.model import FixSafety
from rewrites.rules._app import JVM, arguments, closing, package_of

_USE = re.compile(r"(?<![\w.])TensorImageUtils\s*\.\s*(?P<member>\w+)(?P<call>\s*\()?")
_HELPER_ARITIES = {3, 7}  # bitmapToFloat32Tensor(bitmap, mean, std) and (bitmap, x, y, w, h, mean, std)
_IMPORT = "org.pytorch.torchvision.TensorImageUtils"
HELPER_MEMBERS = frozenset({"bitmapToFloat32Tensor", "TORCHVISION_NORM_MEAN_RGB", "TORCHVISION_NORM_STD_RGB"})
HELPER_FILE = "TensorImageUtils.java"

HELPER = """{package}import android.graphics.Bitmap;

import org.pytorch.executorch.Tensor;

/**
 * The part of PyTorch Android's {{@code org.pytorch.torchvision.TensorImageUtils}} this app uses,
 * which the ExecuTorch AAR does not ship. Added by {{@code migrate apply}} (executorch-migrate) with
 * the same arithmetic: RGB planes of (value / 255 - mean) / std, shaped 1 x 3 x height x width.
 */
public final class TensorImageUtils {{
  public static final float[] TORCHVISION_NORM_MEAN_RGB = new float[] {{0.485f, 0.456f, 0.406f}};
  public static final float[] TORCHVISION_NORM_STD_RGB = new float[] {{0.229f, 0.224f, 0.225f}};

  private TensorImageUtils() {{}}

  public static Tensor bitmapToFloat32Tensor(Bitmap bitmap, float[] normMeanRGB, float[] normStdRGB) {{
    return bitmapToFloat32Tensor(
        bitmap, 0, 0, bitmap.getWidth(), bitmap.getHeight(), normMeanRGB, normStdRGB);
  }}

  public static Tensor bitmapToFloat32Tensor(
      Bitmap bitmap, int x, int y, int width, int height, float[] normMeanRGB, float[] normStdRGB) {{
    int pixels = width * height;
    int[] argb = new int[pixels];
    bitmap.getPixels(argb, 0, width, x, y, width, height);
    float[] chw = new float[3 * pixels];
    for (int i = 0; i < pixels; i++) {{
      int c = argb[i];
      chw[i] = (((c >> 16) & 0xff) / 255.0f - normMeanRGB[0]) / normStdRGB[0];
      chw[pixels + i] = (((c >> 8) & 0xff) / 255.0f - normMeanRGB[1]) / normStdRGB[1];
      chw[2 * pixels + i] = ((c & 0xff) / 255.0f - normMeanRGB[2]) / normStdRGB[2];
    }}
    return Tensor.fromBlob(chw, new long[] {{1, 3, height, width}});
  }}
}}
"""


def helper_source(package: str | None) -> str:
    return HELPER.format(package=f"package {package};\n\n" if package else "")


class TensorImageUtilsImport(AppRule):
    """Flags `org.pytorch.torchvision.TensorImageUtils` in Java and Kotlin.

    ## What it does
    Reports the import of PyTorch Android's torchvision helper, which turns a `Bitmap` into a
    normalized float tensor.

    ## Why is this bad?
    It lives in `pytorch_android_torchvision_lite`, which has no ExecuTorch counterpart: once the
    dependency moves to `executorch-android` (MIG601) the app stops compiling.

    ## Example
    ```java
    import org.pytorch.torchvision.TensorImageUtils;
    ```

    Use instead: a `TensorImageUtils.java` in the same package holding the members the app uses
    (`bitmapToFloat32Tensor` and the torchvision mean / std), returning an
    `org.pytorch.executorch.Tensor`. The fix writes it.

    ## Fix safety
    Unsafe: it removes the import and adds `TensorImageUtils.java` beside the file (same
    package, same arithmetic, documented in the file). A file that uses other members
    (`imageYUV420CenterCropToFloat32Tensor`, the `MemoryFormat` overload, ...) is left as a
    finding naming them; an import the file never uses is removed.
    """

    code = "MIG606"
    name = "tensor-image-utils"
    message = (
        "`TensorImageUtils` is in PyTorch Android's torchvision AAR, which ExecuTorch does not ship: "
        "add a helper with the members the app uses (the fix writes one)"
    )
    fix_title = "Add a `TensorImageUtils.java` helper beside this file"
    fix_safety = FixSafety.UNSAFE
    languages = JVM
    tokens = (("org.pytorch.torchvision",),)

    VALID = [
        Valid("package a;\n// import org.pytorch.torchvision.TensorImageUtils;\nclass A {}\n", "A.java"),
    ]
    INVALID = [
        Invalid(
            "package org.demo;\n\nimport org.pytorch.torchvision.TensorImageUtils;\nimport org.pytorch.Tensor;\n\n"
            "class A {\n  Tensor f(Bitmap b) {\n    return TensorImageUtils.bitmapToFloat32Tensor(b,\n"
            "        TensorImageUtils.TORCHVISION_NORM_MEAN_RGB, TensorImageUtils.TORCHVISION_NORM_STD_RGB);\n  }\n}\n",
            line=3,
            column=8,
            expected="package org.demo;\n\nimport org.pytorch.Tensor;\n\n"
            "class A {\n  Tensor f(Bitmap b) {\n    return TensorImageUtils.bitmapToFloat32Tensor(b,\n"
            "        TensorImageUtils.TORCHVISION_NORM_MEAN_RGB, TensorImageUtils.TORCHVISION_NORM_STD_RGB);\n  }\n}\n",
            path="app/src/main/java/org/demo/A.java",
        ),
        Invalid(
            "package org.demo\n\nimport org.pytorch.torchvision.TensorImageUtils\n\n"
            "fun f(image: Image) = TensorImageUtils.imageYUV420CenterCropToFloat32Tensor(image, 0, 224, 224, m, s)\n",
            expected="package org.demo\n\nimport org.pytorch.torchvision.TensorImageUtils\n\n"
            "fun f(image: Image) = TensorImageUtils.imageYUV420CenterCropToFloat32Tensor(image, 0, 224, 224, m, s)\n",
            path="A.kt",
            message="`TensorImageUtils` is not in the ExecuTorch AAR, and this file uses `imageYUV420CenterCropToFloat32Tensor`, which the helper `migrate apply` writes does not have: port them into the app",
        ),
        Invalid(
            "import org.pytorch.torchvision.TensorImageUtils;\nclass A {\n  Tensor t = TensorImageUtils.bitmapToFloat32Tensor(b, m, s,"
            " MemoryFormat.CHANNELS_LAST);\n}\n",
            expected="import org.pytorch.torchvision.TensorImageUtils;\nclass A {\n  Tensor t = TensorImageUtils.bitmapToFloat32Tensor(b, m, s,"
            " MemoryFormat.CHANNELS_LAST);\n}\n",
            path="A.java",
            message="`TensorImageUtils` is not in the ExecuTorch AAR, and this file uses `bitmapToFloat32Tensor with 4 arguments (a MemoryFormat)`, which the helper `migrate apply` writes does not have: port them into the app",
        ),
        Invalid(
            "import org.pytorch.torchvision.TensorImageUtils;\nclass A {}\n",
            expected="class A {}\n",
            path="A.java",
            message="`TensorImageUtils` is imported but never used",
        ),
    ]

    def check(self) -> Iterator[Hit]:
        for match in self.imports():
            if match.group("name") != _IMPORT:
                continue
            start, end = match.start("name"), match.end("name")
            uses = list(self.search(_USE))
            if not uses:
                yield Hit(
                    start, end, "`TensorImageUtils` is imported but never used", (self.delete_line(start),)
                )
                continue
            members = {m.group("member") for m in uses}
            masked = self.source.masked
            for use in uses:
                if use.group("call") and use.group("member") == "bitmapToFloat32Tensor":
                    close = closing(masked, use.end() - 1)
                    count = len(arguments(masked, use.end() - 1, close)) if close is not None else 0
                    if count not in _HELPER_ARITIES:
                        members.add(f"bitmapToFloat32Tensor with {count} arguments (a MemoryFormat)")
            missing = sorted(members - HELPER_MEMBERS)
            if missing:
                names = ", ".join(f"`{m}`" for m in missing)
                yield Hit(
                    start,
                    end,
                    f"`TensorImageUtils` is not in the ExecuTorch AAR, and this file uses {names}, which the "
                    "helper `migrate apply` writes does not have: port them into the app",
                )
                continue
            helper = helper_source(package_of(self.source))
            yield Hit(start, end, edits=(self.delete_line(start),), files=((HELPER_FILE, helper),))
