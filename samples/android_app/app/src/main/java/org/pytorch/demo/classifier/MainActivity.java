package org.pytorch.demo.classifier;

import android.content.Context;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.os.Bundle;
import android.util.Log;
import android.widget.ImageView;
import android.widget.TextView;

import androidx.appcompat.app.AppCompatActivity;

import org.pytorch.IValue;
import org.pytorch.LiteModuleLoader;
import org.pytorch.Module;
import org.pytorch.Tensor;
import org.pytorch.torchvision.TensorImageUtils;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Classifies a bundled image with a MobileNet exported for the lite interpreter.
 * The model is loaded through {@code LiteModuleLoader}, which needs a real file path,
 * so the asset is first copied into the app's files directory.
 */
public class MainActivity extends AppCompatActivity {
  private static final String TAG = "PyTorchClassifier";

  private Module mModule = null;

  @Override
  protected void onCreate(Bundle savedInstanceState) {
    super.onCreate(savedInstanceState);
    setContentView(R.layout.activity_main);

    Bitmap bitmap = null;
    try {
      bitmap = BitmapFactory.decodeStream(getAssets().open("kitten.jpg"));
      // LiteModuleLoader.load() mmaps the .ptl file; it cannot read from the APK directly.
      mModule = LiteModuleLoader.load(assetFilePath(this, "model.ptl"));
    } catch (IOException e) {
      Log.e(TAG, "LiteModuleLoader failed to read model.ptl", e);
      finish();
      return;
    }

    ImageView imageView = findViewById(R.id.image);
    imageView.setImageBitmap(bitmap);

    final Tensor inputTensor = TensorImageUtils.bitmapToFloat32Tensor(bitmap,
        TensorImageUtils.TORCHVISION_NORM_MEAN_RGB, TensorImageUtils.TORCHVISION_NORM_STD_RGB);

    final Tensor outputTensor = mModule.forward(IValue.from(inputTensor)).toTensor();
    final float[] scores = outputTensor.getDataAsFloatArray();

    float maxScore = -Float.MAX_VALUE;
    int maxScoreIdx = -1;
    for (int i = 0; i < scores.length; i++) {
      if (scores[i] > maxScore) {
        maxScore = scores[i];
        maxScoreIdx = i;
      }
    }

    String className = ImageNetClasses.IMAGENET_CLASSES[maxScoreIdx];
    TextView textView = findViewById(R.id.text);
    textView.setText(className);
  }

  /**
   * Copies the given asset to a file in the /files app directory and returns its absolute path.
   *
   * @return absolute file path
   */
  public static String assetFilePath(Context context, String assetName) throws IOException {
    File file = new File(context.getFilesDir(), assetName);
    if (file.exists() && file.length() > 0) {
      return file.getAbsolutePath();
    }

    try (InputStream is = context.getAssets().open(assetName)) {
      try (OutputStream os = new FileOutputStream(file)) {
        byte[] buffer = new byte[4 * 1024];
        int read;
        while ((read = is.read(buffer)) != -1) {
          os.write(buffer, 0, read);
        }
        os.flush();
      }
      return file.getAbsolutePath();
    }
  }
}
