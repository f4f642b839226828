// A C interface to lat for the peer comparison (compare.py loads it with ctypes).
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <lat/encoder.hpp>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {

// Loads a model folder at a precision ("fp32", "bf16", "int8", "int8-static"); returns null and fills `error`
// on failure.
void* lat_peer_open(const char* model, int threads, double speedup, const char* precision,
                    char* error, int error_size) {
  try {
    const auto p = lat::precision_from_string(precision);
    if (!p) throw std::invalid_argument(std::string("unknown precision ") + precision);
    return new lat::Encoder(model, {.threads = threads, .speedup = speedup, .precision = *p});
  } catch (const std::exception& e) {
    std::strncpy(error, e.what(), static_cast<std::size_t>(error_size - 1));
    error[error_size - 1] = '\0';
    return nullptr;
  }
}

// Runs `batch` sequences of `seq` token ids (row-major) once; returns the wall time in ms, or -1.
double lat_peer_run(void* handle, const std::int32_t* ids, int batch, int seq) {
  try {
    const auto& encoder = *static_cast<const lat::Encoder*>(handle);
    std::vector<lat::Encoding> inputs(static_cast<std::size_t>(batch));
    for (int b = 0; b < batch; ++b) {
      inputs[static_cast<std::size_t>(b)].ids.assign(ids + std::int64_t{b} * seq,
                                                     ids + std::int64_t{b + 1} * seq);
    }
    const auto start = std::chrono::steady_clock::now();
    const auto out = encoder.run(inputs);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  } catch (const std::exception&) {
    return -1.0;
  }
}

void lat_peer_close(void* handle) { delete static_cast<lat::Encoder*>(handle); }
}
