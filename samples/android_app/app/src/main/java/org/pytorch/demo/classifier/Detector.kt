package org.pytorch.demo.classifier

import android.graphics.Bitmap
import org.pytorch.IValue
import org.pytorch.LiteModuleLoader
import org.pytorch.Module
import org.pytorch.Tensor

data class Detection(val left: Float, val top: Float, val right: Float, val bottom: Float,
                     val score: Float, val classIndex: Int)

/**
 * Runs a 320x320 single-shot detector exported for the lite interpreter.
 * The model returns a tuple (boxes[N, 4], scores[N], labels[N]).
 */
class Detector(path: String, private val scoreThreshold: Float = 0.30f) {
    private val module: Module = LiteModuleLoader.load(path)

    fun detect(bitmap: Bitmap): List<Detection> {
        val scaled = Bitmap.createScaledBitmap(bitmap, INPUT_SIZE, INPUT_SIZE, true)
        val input = Tensor.fromBlob(toChw(scaled), longArrayOf(1, 3, 320, 320))

        val outputs = module.forward(IValue.from(input)).toTuple()
        val boxes = outputs[0].toTensor().dataAsFloatArray
        val scores = outputs[1].toTensor().dataAsFloatArray
        val labels = outputs[2].toTensor().dataAsLongArray

        val scaleX = bitmap.width.toFloat() / INPUT_SIZE
        val scaleY = bitmap.height.toFloat() / INPUT_SIZE
        val results = ArrayList<Detection>()
        for (i in scores.indices) {
            if (scores[i] < scoreThreshold) continue
            results.add(
                Detection(
                    boxes[4 * i] * scaleX, boxes[4 * i + 1] * scaleY,
                    boxes[4 * i + 2] * scaleX, boxes[4 * i + 3] * scaleY,
                    scores[i], labels[i].toInt()
                )
            )
        }
        return results
    }

    fun close() = module.destroy()

    private fun toChw(bitmap: Bitmap): FloatArray {
        val pixels = IntArray(INPUT_SIZE * INPUT_SIZE)
        bitmap.getPixels(pixels, 0, INPUT_SIZE, 0, 0, INPUT_SIZE, INPUT_SIZE)
        val plane = INPUT_SIZE * INPUT_SIZE
        val floatArray = FloatArray(3 * plane)
        for (i in pixels.indices) {
            val p = pixels[i]
            floatArray[i] = ((p shr 16) and 0xFF) / 255.0f
            floatArray[plane + i] = ((p shr 8) and 0xFF) / 255.0f
            floatArray[2 * plane + i] = (p and 0xFF) / 255.0f
        }
        return floatArray
    }

    companion object {
        private const val INPUT_SIZE = 320
    }
}
