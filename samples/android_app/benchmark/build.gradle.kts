plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "org.pytorch.demo.benchmark"
    compileSdk = 33

    defaultConfig {
        minSdk = 21
        targetSdk = 33
        testInstrumentationRunner = "androidx.benchmark.junit4.AndroidBenchmarkRunner"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_1_8
        targetCompatibility = JavaVersion.VERSION_1_8
    }

    kotlinOptions {
        jvmTarget = "1.8"
    }
}

dependencies {
    implementation(project(":app"))
    implementation(libs.androidx.core.ktx)
    implementation(libs.pytorch.android.lite)
    // Full-JIT build, used to compare against the lite interpreter.
    implementation("org.pytorch:pytorch_android:1.13.1")

    androidTestImplementation(libs.androidx.benchmark.junit4)
    androidTestImplementation(libs.junit)
}
