// Common ground of the C ABI shim over libtorch.
//
// Conventions every exported function follows:
//  * a tensor crosses the boundary as an owning pointer to a heap-allocated at::Tensor (tensor_t);
//    the managed side frees it with mdt_free exactly once;
//  * a function that makes a tensor returns it, or nullptr after recording an error;
//    a function with no result returns 0, or -1 after recording an error;
//  * nothing throws across the boundary: every body runs inside MDT_TRY / MDT_CATCH, which turns
//    c10 and std exceptions into (kind, message) read back by mdt_last_error_*.
// Only API present in both libtorch 1.13 (Debian) and 2.x (CUDA wheels) is used.
#pragma once
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/version.h>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#define MDT_API extern "C" __attribute__((visibility("default")))

// libtorch 2.x made c10::optional an alias of std::optional and later deprecates the alias; 1.13 has only
// its own class. mdt::optional names whichever the libtorch in hand takes.
namespace mdt {
#if TORCH_VERSION_MAJOR >= 2
template <class T> using optional = std::optional<T>;
inline constexpr std::nullopt_t nullopt = std::nullopt;
#else
template <class T> using optional = c10::optional<T>;
constexpr c10::nullopt_t nullopt = c10::nullopt;
#endif
}  // namespace mdt

typedef at::Tensor* tensor_t;
typedef std::vector<at::Tensor>* tensor_list_t;

// Error kinds; the managed side maps each to an exception type.
enum mdt_error_kind : int32_t {
  MDT_OK = 0,
  MDT_ERR_GENERIC = 1,
  MDT_ERR_INDEX = 2,
  MDT_ERR_VALUE = 3,
  MDT_ERR_TYPE = 4,
  MDT_ERR_NOT_IMPLEMENTED = 5,
  MDT_ERR_OUT_OF_MEMORY = 6,
};

// A scalar as the managed side passes it: kind 0 = floating (d), 1 = integral (i), 2 = bool (i != 0).
struct mdt_scalar {
  double d;
  int64_t i;
  int32_t kind;
};

void mdt_set_error(int32_t kind, const char* message);

inline at::Scalar to_scalar(mdt_scalar s) {
  switch (s.kind) {
    case 1: return at::Scalar(s.i);
    case 2: return at::Scalar(s.i != 0);
    default: return at::Scalar(s.d);
  }
}

inline tensor_t wrap(at::Tensor t) { return new at::Tensor(std::move(t)); }
inline at::IntArrayRef dims(const int64_t* p, int32_t n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
inline at::ScalarType to_dtype(int32_t code) { return static_cast<at::ScalarType>(code); }
inline at::Device to_device(int32_t type, int32_t index) {
  return at::Device(type == 1 ? at::DeviceType::CUDA : at::DeviceType::CPU, static_cast<c10::DeviceIndex>(index));
}
// An optional tensor argument: nullptr means absent.
inline mdt::optional<at::Tensor> opt(tensor_t t) {
  return t ? mdt::optional<at::Tensor>(*t) : mdt::optional<at::Tensor>();
}
inline at::Tensor or_undefined(tensor_t t) { return t ? *t : at::Tensor(); }

inline tensor_list_t wrap_list(std::vector<at::Tensor> v) { return new std::vector<at::Tensor>(std::move(v)); }
inline std::vector<at::Tensor> unwrap_list(const tensor_t* hs, int32_t n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int32_t k = 0; k < n; ++k) v.push_back(*hs[k]);
  return v;
}

#define MDT_TRY try {
#define MDT_CATCH(failure)                                                              \
  }                                                                                     \
  catch (const c10::IndexError& e) { mdt_set_error(MDT_ERR_INDEX, e.what_without_backtrace()); }   \
  catch (const c10::ValueError& e) { mdt_set_error(MDT_ERR_VALUE, e.what_without_backtrace()); }   \
  catch (const c10::TypeError& e) { mdt_set_error(MDT_ERR_TYPE, e.what_without_backtrace()); }     \
  catch (const c10::NotImplementedError& e) { mdt_set_error(MDT_ERR_NOT_IMPLEMENTED, e.what_without_backtrace()); } \
  catch (const c10::OutOfMemoryError& e) { mdt_set_error(MDT_ERR_OUT_OF_MEMORY, e.what_without_backtrace()); } \
  catch (const c10::Error& e) { mdt_set_error(MDT_ERR_GENERIC, e.what_without_backtrace()); }      \
  catch (const std::bad_alloc& e) { mdt_set_error(MDT_ERR_OUT_OF_MEMORY, "out of memory (std::bad_alloc)"); } \
  catch (const std::exception& e) { mdt_set_error(MDT_ERR_GENERIC, e.what()); }                     \
  catch (...) { mdt_set_error(MDT_ERR_GENERIC, "unknown native exception"); }                      \
  return failure;

// Shorthands for the two result shapes.
#define MDT_TENSOR(expr) MDT_TRY return wrap(expr); MDT_CATCH(nullptr)
#define MDT_STATUS(stmt) MDT_TRY stmt; return 0; MDT_CATCH(-1)
