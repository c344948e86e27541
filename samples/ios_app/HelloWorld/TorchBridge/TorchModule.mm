#import "TorchModule.h"
#import <LibTorch-Lite/LibTorch-Lite.h>

static const int kNumClasses = 1000;

@implementation TorchModule {
 @protected
  torch::jit::mobile::Module _impl;
}

- (nullable instancetype)initWithFileAtPath:(NSString*)filePath {
  self = [super init];
  if (self) {
    try {
      // torch::jit::_load_for_mobile expects a lite-interpreter (.ptl) archive.
      _impl = torch::jit::_load_for_mobile(filePath.UTF8String);
    } catch (const std::exception& exception) {
      NSLog(@"Failed to load model: %s", exception.what());
      return nil;
    }
  }
  return self;
}

- (NSArray<NSNumber*>*)predictImage:(void*)imageBuffer {
  @try {
    try {
      c10::InferenceMode guard;
      at::Tensor tensor = torch::from_blob(imageBuffer, {1, 3, 224, 224}, at::kFloat);
      auto outputTensor = _impl.forward({tensor}).toTensor();
      float* floatBuffer = outputTensor.data_ptr<float>();
      if (!floatBuffer) {
        return nil;
      }
      NSMutableArray* results = [[NSMutableArray alloc] initWithCapacity:kNumClasses];
      for (int i = 0; i < kNumClasses; i++) {
        [results addObject:@(floatBuffer[i])];
      }
      return [results copy];
    } catch (const std::exception& exception) {
      NSLog(@"Inference failed: %s", exception.what());
    }
  } @catch (NSException* exception) {
    NSLog(@"Inference raised %@: %@", exception.name, exception.reason);
  }
  return nil;
}

@end
