// The few declarations of LiteRT's C API that tflite_runner.cpp uses. ai-edge-litert's wheels
// ship libLiteRt.so without its headers; these were copied from google-ai-edge/LiteRT at tag
// v2.2.0 (litert/c/litert_common.h, litert_layout.h, litert_model_types.h, litert_model.h,
// litert_environment.h, litert_options.h, litert_opaque_options.h, litert_compiled_model.h,
// litert_tensor_buffer.h, litert_profiler.h, litert_profiler_event.h) and checked unchanged on
// its main branch of 2026-08-21 and against the symbols libLiteRt.so of ai-edge-litert 2.3.0
// exports (it also exports LiteRtCompiledModelIsNonCpuFullyAccelerated, added on 2026-08-12:
// built after v2.2.0; the profiler's headers did not change between v2.2.0 and that main). The
// CPU options payload is the TOML text litert/c/options/litert_cpu_options.cc writes under the
// identifier "xnnpack", the runtime options' (profiling) the one
// litert/c/options/litert_runtime_options.cc writes under "runtime_options_string" (their Lrt*
// helpers are not exported by libLiteRt.so).
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {

typedef int LiteRtStatus;  // an enum in litert_common.h; kLiteRtStatusOk = 0
enum { kLiteRtStatusOk = 0 };
typedef size_t LiteRtParamIndex;
typedef int LiteRtHwAcceleratorSet;
enum { kLiteRtHwAcceleratorCpu = 1 << 0 };
typedef enum { kLiteRtTensorBufferLockModeRead = 0, kLiteRtTensorBufferLockModeWrite = 1 } LiteRtTensorBufferLockMode;
typedef enum { kLiteRtRankedTensorType = 0, kLiteRtUnrankedTensorType = 1 } LiteRtTensorTypeId;
typedef enum {
  kLiteRtElementTypeBool = 6,
  kLiteRtElementTypeInt8 = 9,
  kLiteRtElementTypeInt16 = 7,
  kLiteRtElementTypeInt32 = 2,
  kLiteRtElementTypeInt64 = 4,
  kLiteRtElementTypeUInt8 = 3,
  kLiteRtElementTypeFloat16 = 10,
  kLiteRtElementTypeFloat32 = 1,
  kLiteRtElementTypeFloat64 = 11,
} LiteRtElementType;

#define LITERT_TENSOR_MAX_RANK 8
typedef struct {
  unsigned int rank : 7;
  unsigned int has_strides : 1;
  int32_t dimensions[LITERT_TENSOR_MAX_RANK];
  uint32_t strides[LITERT_TENSOR_MAX_RANK];
} LiteRtLayout;
static_assert(sizeof(LiteRtLayout) == 68, "LiteRtLayout size mismatch");

typedef struct {
  LiteRtElementType element_type;
  LiteRtLayout layout;
} LiteRtRankedTensorType;

typedef struct LiteRtEnvironmentT* LiteRtEnvironment;
typedef struct LiteRtModelT* LiteRtModel;
typedef struct LiteRtSignatureT* LiteRtSignature;
typedef struct LiteRtTensorT* LiteRtTensor;
typedef struct LiteRtOptionsT* LiteRtOptions;
typedef struct LiteRtOpaqueOptionsT* LiteRtOpaqueOptions;
typedef struct LiteRtCompiledModelT* LiteRtCompiledModel;
typedef struct LiteRtTensorBufferT* LiteRtTensorBuffer;
typedef struct LiteRtTensorBufferRequirementsT* LiteRtTensorBufferRequirements;
typedef struct LiteRtEnvOption LiteRtEnvOption;
typedef struct LiteRtProfilerT* LiteRtProfiler;

// litert_profiler_event.h: one event as LiteRtGetProfilerEvents copies it out (104 bytes on
// LP64: `imul $0x68` in libLiteRt.so's LiteRtGetProfilerEvents of ai-edge-litert 2.3.0).
typedef enum {
  kLiteRtProfilerEventDefault = 1,  // DEFAULT: e.g. "Invoke", LiteRT's own "LiteRT::Run[...]"
  kLiteRtProfilerEventOperatorInvoke = 1 << 1,  // OPERATOR_INVOKE_EVENT: a TFLite node; metadata1 its index
  kLiteRtProfilerEventDelegateOperatorInvoke = 1 << 2,  // DELEGATE_OPERATOR_INVOKE_EVENT
  // DELEGATE_PROFILED_OPERATOR_INVOKE_EVENT: an operator inside a delegate (XNNPACK's, timed by
  // xnn_get_runtime_profiling_info in whole microseconds); metadata1 its index in the delegate
  kLiteRtProfilerEventDelegateProfiledOperatorInvoke = 1 << 3,
  kLiteRtProfilerEventGeneralRuntimeInstrumentation = 1 << 4,
} LiteRtProfilerEventType;
typedef struct {
  size_t total_allocated_bytes;
  size_t in_use_allocated_bytes;
  size_t private_footprint_bytes;
} LiteRtMemoryUsage;
typedef enum { kLiteRtEventSourceLitert = 0, kLiteRtEventSourceTfliteInterpreter = 1, kLiteRtEventSourceTfliteDelegate = 2 } ProfiledEventSource;
typedef struct {
  const char* tag;  // owned by the profiler
  LiteRtProfilerEventType event_type;
  uint64_t start_timestamp_us;
  uint64_t elapsed_time_us;
  LiteRtMemoryUsage begin_mem_usage;
  LiteRtMemoryUsage end_mem_usage;
  uint64_t event_metadata1;
  uint64_t event_metadata2;
  ProfiledEventSource event_source;
} ProfiledEventData;
static_assert(sizeof(void*) != 8 || sizeof(ProfiledEventData) == 104, "ProfiledEventData size mismatch");

LiteRtStatus LiteRtCreateEnvironment(int num_options, const LiteRtEnvOption* options, LiteRtEnvironment* environment);
void LiteRtDestroyEnvironment(LiteRtEnvironment environment);

LiteRtStatus LiteRtCreateModelFromFile(LiteRtEnvironment environment, const char* filename, LiteRtModel* model);
void LiteRtDestroyModel(LiteRtModel model);
LiteRtStatus LiteRtGetNumModelSignatures(LiteRtModel model, LiteRtParamIndex* num_signatures);
LiteRtStatus LiteRtGetModelSignature(LiteRtModel model, LiteRtParamIndex signature_index, LiteRtSignature* signature);
LiteRtStatus LiteRtGetSignatureKey(LiteRtSignature signature, const char** signature_key);
LiteRtStatus LiteRtGetNumSignatureInputs(LiteRtSignature signature, LiteRtParamIndex* num_inputs);
LiteRtStatus LiteRtGetSignatureInputName(LiteRtSignature signature, LiteRtParamIndex input_idx, const char** input_name);
LiteRtStatus LiteRtGetSignatureInputTensorByIndex(LiteRtSignature signature, LiteRtParamIndex input_idx, LiteRtTensor* tensor);
LiteRtStatus LiteRtGetNumSignatureOutputs(LiteRtSignature signature, LiteRtParamIndex* num_outputs);
LiteRtStatus LiteRtGetSignatureOutputName(LiteRtSignature signature, LiteRtParamIndex output_idx, const char** output_name);
LiteRtStatus LiteRtGetSignatureOutputTensorByIndex(LiteRtSignature signature, LiteRtParamIndex output_idx, LiteRtTensor* tensor);
LiteRtStatus LiteRtGetTensorTypeId(LiteRtTensor tensor, LiteRtTensorTypeId* type_id);
LiteRtStatus LiteRtGetRankedTensorType(LiteRtTensor tensor, LiteRtRankedTensorType* ranked_tensor_type);

LiteRtStatus LiteRtCreateOptions(LiteRtOptions* options);
void LiteRtDestroyOptions(LiteRtOptions options);
LiteRtStatus LiteRtSetOptionsHardwareAccelerators(LiteRtOptions options, LiteRtHwAcceleratorSet hardware_accelerators);
LiteRtStatus LiteRtCreateOpaqueOptions(const char* payload_identifier, void* payload_data,
                                       void (*payload_destructor)(void* payload_data), LiteRtOpaqueOptions* options);
LiteRtStatus LiteRtAddOpaqueOptions(LiteRtOptions options, LiteRtOpaqueOptions opaque_options);

LiteRtStatus LiteRtCreateCompiledModel(LiteRtEnvironment environment, LiteRtModel model, LiteRtOptions compilation_options,
                                       LiteRtCompiledModel* compiled_model);
void LiteRtDestroyCompiledModel(LiteRtCompiledModel compiled_model);
LiteRtStatus LiteRtGetCompiledModelInputBufferRequirements(LiteRtCompiledModel compiled_model,
                                                           LiteRtParamIndex signature_index, LiteRtParamIndex input_index,
                                                           LiteRtTensorBufferRequirements* buffer_requirements);
LiteRtStatus LiteRtGetCompiledModelOutputBufferRequirements(LiteRtCompiledModel compiled_model,
                                                            LiteRtParamIndex signature_index, LiteRtParamIndex output_index,
                                                            LiteRtTensorBufferRequirements* buffer_requirements);
LiteRtStatus LiteRtRunCompiledModel(LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,
                                    size_t num_input_buffers, LiteRtTensorBuffer* input_buffers,
                                    size_t num_output_buffers, LiteRtTensorBuffer* output_buffers);

LiteRtStatus LiteRtCreateManagedTensorBufferFromRequirements(LiteRtEnvironment env, const LiteRtRankedTensorType* tensor_type,
                                                             LiteRtTensorBufferRequirements requirements,
                                                             LiteRtTensorBuffer* buffer);
LiteRtStatus LiteRtLockTensorBuffer(LiteRtTensorBuffer tensor_buffer, void** host_mem_addr, LiteRtTensorBufferLockMode lock_mode);
LiteRtStatus LiteRtUnlockTensorBuffer(LiteRtTensorBuffer buffer);
void LiteRtDestroyTensorBuffer(LiteRtTensorBuffer buffer);

// The profiler of a model compiled with "enable_profiling = true" in its runtime options (null
// otherwise), owned by the compiled model; it records while started.
LiteRtStatus LiteRtCompiledModelGetProfiler(LiteRtCompiledModel compiled_model, LiteRtProfiler* profiler);
LiteRtStatus LiteRtStartProfiler(LiteRtProfiler profiler);  // clears what it held
LiteRtStatus LiteRtStopProfiler(LiteRtProfiler profiler);
LiteRtStatus LiteRtGetNumProfilerEvents(LiteRtProfiler profiler, int* num_events);
LiteRtStatus LiteRtGetProfilerEvents(LiteRtProfiler profiler, int num_events, ProfiledEventData* events);

}  // extern "C"
