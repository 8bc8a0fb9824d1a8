// Core of the shim: errors, versions and global settings, tensor lifetime and metadata, creation,
// data transfer, device/dtype conversion, autograd, and the arithmetic every other layer relies on.
#include "shim.h"
#include <torch/cuda.h>
#include <torch/version.h>
#include <c10/core/GradMode.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <cstring>
#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {
// Debian's libtorch calls OpenBLAS, whose own thread pool ignores at::set_num_threads: with one libtorch thread per
// parallel run its idle workers spin on every core (a 30 s distillation run spent 23 s in the kernel). The library is
// already loaded by libtorch; RTLD_NOLOAD only finds it, and a libtorch without OpenBLAS (MKL, CUDA builds) is unaffected.
void* openblas_symbol(const char* symbol) {
  for (const char* name : {"libopenblas.so.0", "libblas.so.3"}) {
    void* handle = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == nullptr) continue;
    void* found = dlsym(handle, symbol);
    dlclose(handle);  // only drops the reference RTLD_NOLOAD took; libtorch keeps the library loaded
    if (found != nullptr) return found;
  }
  return nullptr;
}
void set_blas_threads(int32_t n) {
  if (auto set = reinterpret_cast<void (*)(int)>(openblas_symbol("openblas_set_num_threads"))) set(n);
}
thread_local int32_t g_error_kind = MDT_OK;
thread_local std::string g_error_message;
}  // namespace

void mdt_set_error(int32_t kind, const char* message) {
  g_error_kind = kind;
  g_error_message = message ? message : "";
}

// ---- errors -------------------------------------------------------------------------------------
MDT_API int32_t mdt_last_error_kind() { return g_error_kind; }
MDT_API const char* mdt_last_error_message() { return g_error_message.c_str(); }
MDT_API void mdt_clear_error() { g_error_kind = MDT_OK; g_error_message.clear(); }

// ---- versions and global settings ---------------------------------------------------------------
MDT_API const char* mdt_torch_version() { return TORCH_VERSION; }
MDT_API int32_t mdt_get_num_threads() { return at::get_num_threads(); }
MDT_API int32_t mdt_set_num_threads(int32_t n) { MDT_STATUS(at::set_num_threads(n); set_blas_threads(n)) }
// OpenBLAS's thread count, or -1 when libtorch does not use OpenBLAS.
MDT_API int32_t mdt_blas_num_threads() {
  auto get = reinterpret_cast<int (*)()>(openblas_symbol("openblas_get_num_threads"));
  return get != nullptr ? get() : -1;
}
// glibc returns freed blocks above its (dynamic) mmap threshold and the heap's top to the kernel, so a training step's
// maps were faulted in afresh every step: a 400-step run spent 18 of its 65 CPU seconds in the kernel. Fixed thresholds
// keep the memory for the next step; the peak, and so the resident set, does not change. 1: set; 0: glibc refused a
// value; -1: not glibc (nothing to do).
MDT_API int32_t mdt_retain_freed_heap(int32_t trim_threshold, int32_t mmap_threshold) {
#if defined(__GLIBC__)
  return mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1 && mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 ? 1 : 0;
#else
  (void)trim_threshold;
  (void)mmap_threshold;
  return -1;
#endif
}
MDT_API int32_t mdt_get_num_interop_threads() { return at::get_num_interop_threads(); }
MDT_API int32_t mdt_set_num_interop_threads(int32_t n) { MDT_STATUS(at::set_num_interop_threads(n)) }
MDT_API int32_t mdt_manual_seed(uint64_t seed) { MDT_STATUS(at::manual_seed(seed)) }
MDT_API int32_t mdt_set_deterministic(int32_t on, int32_t warn_only) {
  MDT_STATUS(at::globalContext().setDeterministicAlgorithms(on != 0, warn_only != 0))
}
MDT_API int32_t mdt_get_deterministic() { return at::globalContext().deterministicAlgorithms() ? 1 : 0; }
MDT_API int32_t mdt_cuda_is_available() {
  MDT_TRY return torch::cuda::is_available() ? 1 : 0; MDT_CATCH(0)
}
MDT_API int32_t mdt_cuda_device_count() {
  MDT_TRY return static_cast<int32_t>(torch::cuda::device_count()); MDT_CATCH(0)
}
MDT_API int32_t mdt_cuda_synchronize(int32_t index) {
  MDT_STATUS(if (torch::cuda::is_available()) torch::cuda::synchronize(index))
}
MDT_API int32_t mdt_grad_enabled() { return c10::GradMode::is_enabled() ? 1 : 0; }
MDT_API void mdt_set_grad_enabled(int32_t on) { c10::GradMode::set_enabled(on != 0); }

// ---- lifetime -----------------------------------------------------------------------------------
MDT_API void mdt_free(tensor_t t) { delete t; }
// A second handle to the same tensor (shares storage and autograd identity).
MDT_API tensor_t mdt_alias(tensor_t t) { MDT_TENSOR(at::Tensor(*t)) }
MDT_API int32_t mdt_list_len(tensor_list_t l) { return static_cast<int32_t>(l->size()); }
MDT_API tensor_t mdt_list_get(tensor_list_t l, int32_t i) { MDT_TENSOR(l->at(static_cast<size_t>(i))) }
MDT_API void mdt_list_free(tensor_list_t l) { delete l; }

// ---- metadata -----------------------------------------------------------------------------------
MDT_API int32_t mdt_defined(tensor_t t) { return t->defined() ? 1 : 0; }
MDT_API int32_t mdt_dim(tensor_t t) { MDT_TRY return static_cast<int32_t>(t->dim()); MDT_CATCH(-1) }
MDT_API int32_t mdt_sizes(tensor_t t, int64_t* out) {
  MDT_TRY auto s = t->sizes(); std::copy(s.begin(), s.end(), out); return static_cast<int32_t>(s.size()); MDT_CATCH(-1)
}
MDT_API int32_t mdt_strides(tensor_t t, int64_t* out) {
  MDT_TRY auto s = t->strides(); std::copy(s.begin(), s.end(), out); return static_cast<int32_t>(s.size()); MDT_CATCH(-1)
}
MDT_API int64_t mdt_numel(tensor_t t) { MDT_TRY return t->numel(); MDT_CATCH(-1) }
MDT_API int32_t mdt_dtype(tensor_t t) { MDT_TRY return static_cast<int32_t>(t->scalar_type()); MDT_CATCH(-1) }
MDT_API int32_t mdt_device_type(tensor_t t) { MDT_TRY return t->device().is_cuda() ? 1 : 0; MDT_CATCH(-1) }
MDT_API int32_t mdt_device_index(tensor_t t) { MDT_TRY return t->device().index(); MDT_CATCH(-2) }
MDT_API int32_t mdt_is_contiguous(tensor_t t) { MDT_TRY return t->is_contiguous() ? 1 : 0; MDT_CATCH(-1) }
MDT_API int64_t mdt_element_size(tensor_t t) { MDT_TRY return static_cast<int64_t>(t->element_size()); MDT_CATCH(-1) }
MDT_API char* mdt_to_string(tensor_t t) {
  MDT_TRY
    std::ostringstream os;
    os << *t;
    std::string s = os.str();
    char* out = static_cast<char*>(std::malloc(s.size() + 1));
    std::memcpy(out, s.c_str(), s.size() + 1);
    return out;
  MDT_CATCH(nullptr)
}
MDT_API void mdt_free_string(char* s) { std::free(s); }

// ---- creation -----------------------------------------------------------------------------------
// at:: factories ignore TensorOptions::requires_grad (only torch:: ones honour it), so the flag is set afterwards.
static at::TensorOptions options(int32_t dtype, int32_t dev_type, int32_t dev_index, int32_t /*requires_grad*/) {
  return at::TensorOptions().dtype(to_dtype(dtype)).device(to_device(dev_type, dev_index));
}
static tensor_t leaf(at::Tensor t, int32_t requires_grad) {
  if (requires_grad) t.requires_grad_(true);
  return wrap(std::move(t));
}
MDT_API tensor_t mdt_empty(const int64_t* shape, int32_t n, int32_t dtype, int32_t dt, int32_t di, int32_t rg) {
  MDT_TRY return leaf(at::empty(dims(shape, n), options(dtype, dt, di, rg)), rg); MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_zeros(const int64_t* shape, int32_t n, int32_t dtype, int32_t dt, int32_t di, int32_t rg) {
  MDT_TRY return leaf(at::zeros(dims(shape, n), options(dtype, dt, di, rg)), rg); MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_ones(const int64_t* shape, int32_t n, int32_t dtype, int32_t dt, int32_t di, int32_t rg) {
  MDT_TRY return leaf(at::ones(dims(shape, n), options(dtype, dt, di, rg)), rg); MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_full(const int64_t* shape, int32_t n, mdt_scalar v, int32_t dtype, int32_t dt, int32_t di, int32_t rg) {
  MDT_TRY return leaf(at::full(dims(shape, n), to_scalar(v), options(dtype, dt, di, rg)), rg); MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_arange(mdt_scalar start, mdt_scalar end, mdt_scalar step, int32_t dtype, int32_t dt, int32_t di, int32_t rg) {
  MDT_TRY return leaf(at::arange(to_scalar(start), to_scalar(end), to_scalar(step), options(dtype, dt, di, rg)), rg); MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_rand(const int64_t* shape, int32_t n, int32_t dtype, int32_t dt, int32_t di, int32_t rg) {
  MDT_TRY return leaf(at::rand(dims(shape, n), options(dtype, dt, di, rg)), rg); MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_randn(const int64_t* shape, int32_t n, int32_t dtype, int32_t dt, int32_t di, int32_t rg) {
  MDT_TRY return leaf(at::randn(dims(shape, n), options(dtype, dt, di, rg)), rg); MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_randint(int64_t low, int64_t high, const int64_t* shape, int32_t n, int32_t dtype, int32_t dt, int32_t di) {
  MDT_TENSOR(at::randint(low, high, dims(shape, n), options(dtype, dt, di, 0)))
}
MDT_API tensor_t mdt_randperm(int64_t n, int32_t dtype, int32_t dt, int32_t di) {
  MDT_TENSOR(at::randperm(n, options(dtype, dt, di, 0)))
}
// Copies `nbytes` from managed memory into a new CPU tensor of the given shape and dtype.
MDT_API tensor_t mdt_from_data(const void* data, int64_t nbytes, const int64_t* shape, int32_t n, int32_t dtype) {
  MDT_TRY
    at::Tensor t = at::empty(dims(shape, n), at::TensorOptions().dtype(to_dtype(dtype)));
    const int64_t expected = t.numel() * static_cast<int64_t>(t.element_size());
    TORCH_CHECK_VALUE(expected == nbytes, "from_data: shape needs ", expected, " bytes but ", nbytes, " were given");
    if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
    return wrap(std::move(t));
  MDT_CATCH(nullptr)
}
// Copies the tensor's elements, in row-major order, into managed memory of exactly `nbytes`.
MDT_API int32_t mdt_copy_to_host(tensor_t t, void* dst, int64_t nbytes) {
  MDT_TRY
    at::Tensor c = t->detach().to(at::kCPU).contiguous();
    const int64_t have = c.numel() * static_cast<int64_t>(c.element_size());
    TORCH_CHECK_VALUE(have == nbytes, "copy_to_host: tensor holds ", have, " bytes but the buffer has ", nbytes);
    if (nbytes > 0) std::memcpy(dst, c.data_ptr(), static_cast<size_t>(nbytes));
    return 0;
  MDT_CATCH(-1)
}
MDT_API double mdt_item_double(tensor_t t) { MDT_TRY return t->item<double>(); MDT_CATCH(0.0) }
MDT_API int64_t mdt_item_int64(tensor_t t) { MDT_TRY return t->item<int64_t>(); MDT_CATCH(0) }

// ---- conversion ---------------------------------------------------------------------------------
MDT_API tensor_t mdt_to(tensor_t t, int32_t dtype, int32_t dt, int32_t di, int32_t non_blocking, int32_t copy) {
  MDT_TENSOR(t->to(to_device(dt, di), to_dtype(dtype), non_blocking != 0, copy != 0))
}
MDT_API tensor_t mdt_to_dtype(tensor_t t, int32_t dtype) { MDT_TENSOR(t->to(to_dtype(dtype))) }
MDT_API tensor_t mdt_contiguous(tensor_t t) { MDT_TENSOR(t->contiguous()) }
MDT_API tensor_t mdt_clone(tensor_t t) { MDT_TENSOR(t->clone()) }

// ---- autograd -----------------------------------------------------------------------------------
MDT_API int32_t mdt_requires_grad(tensor_t t) { MDT_TRY return t->requires_grad() ? 1 : 0; MDT_CATCH(-1) }
MDT_API int32_t mdt_set_requires_grad(tensor_t t, int32_t on) { MDT_STATUS(t->requires_grad_(on != 0)) }
MDT_API int32_t mdt_is_leaf(tensor_t t) { MDT_TRY return t->is_leaf() ? 1 : 0; MDT_CATCH(-1) }
MDT_API int32_t mdt_backward(tensor_t t, tensor_t grad, int32_t retain_graph, int32_t create_graph) {
  MDT_STATUS(t->backward(or_undefined(grad), retain_graph != 0 ? mdt::optional<bool>(true) : mdt::optional<bool>(false), create_graph != 0))
}
// Returns nullptr with no error set when the tensor has no gradient.
MDT_API tensor_t mdt_grad(tensor_t t) {
  MDT_TRY
    const at::Tensor& g = t->grad();
    return g.defined() ? wrap(g) : nullptr;
  MDT_CATCH(nullptr)
}
MDT_API int32_t mdt_set_grad(tensor_t t, tensor_t g) { MDT_STATUS(t->mutable_grad() = or_undefined(g)) }
MDT_API tensor_t mdt_detach(tensor_t t) { MDT_TENSOR(t->detach()) }
MDT_API int32_t mdt_detach_(tensor_t t) { MDT_STATUS(t->detach_()) }
// Replaces the tensor's data, keeping its identity (as Module.to does with parameters).
MDT_API int32_t mdt_set_data(tensor_t t, tensor_t data) { MDT_STATUS(t->set_data(*data)) }

// ---- arithmetic every layer needs ---------------------------------------------------------------
// op: 0 add, 1 sub, 2 mul, 3 div, 4 pow, 5 remainder, 6 atan2, 7 maximum, 8 minimum, 9 floor_divide
static at::Tensor binary(const at::Tensor& a, const at::Tensor& b, int32_t op, mdt_scalar alpha) {
  switch (op) {
    case 0: return at::add(a, b, to_scalar(alpha));
    case 1: return at::sub(a, b, to_scalar(alpha));
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::remainder(a, b);
    case 6: return at::atan2(a, b);
    case 7: return at::maximum(a, b);
    case 8: return at::minimum(a, b);
    case 9: return at::div(a, b, "floor");
    default: TORCH_CHECK_VALUE(false, "unknown binary op ", op);
  }
}
static at::Tensor binary_scalar(const at::Tensor& a, mdt_scalar s, int32_t op, mdt_scalar alpha) {
  const at::Scalar b = to_scalar(s);
  switch (op) {
    case 0: return at::add(a, b, to_scalar(alpha));
    case 1: return at::sub(a, b, to_scalar(alpha));
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::remainder(a, b);
    case 9: return at::div(a, at::scalar_tensor(b, a.options().dtype(at::kDouble)).to(a.scalar_type()), "floor");
    default: TORCH_CHECK_VALUE(false, "unknown scalar op ", op);
  }
}
static void binary_(at::Tensor& a, const at::Tensor& b, int32_t op, mdt_scalar alpha) {
  switch (op) {
    case 0: a.add_(b, to_scalar(alpha)); return;
    case 1: a.sub_(b, to_scalar(alpha)); return;
    case 2: a.mul_(b); return;
    case 3: a.div_(b); return;
    case 4: a.pow_(b); return;
    case 7: a.copy_(at::maximum(a, b)); return;
    case 8: a.copy_(at::minimum(a, b)); return;
    default: TORCH_CHECK_VALUE(false, "unknown in-place binary op ", op);
  }
}
static void binary_scalar_(at::Tensor& a, mdt_scalar s, int32_t op, mdt_scalar alpha) {
  const at::Scalar b = to_scalar(s);
  switch (op) {
    case 0: a.add_(b, to_scalar(alpha)); return;
    case 1: a.sub_(b, to_scalar(alpha)); return;
    case 2: a.mul_(b); return;
    case 3: a.div_(b); return;
    case 4: a.pow_(b); return;
    default: TORCH_CHECK_VALUE(false, "unknown in-place scalar op ", op);
  }
}
MDT_API tensor_t mdt_binary(tensor_t a, tensor_t b, int32_t op, mdt_scalar alpha) { MDT_TENSOR(binary(*a, *b, op, alpha)) }
MDT_API tensor_t mdt_binary_scalar(tensor_t a, mdt_scalar b, int32_t op, mdt_scalar alpha) { MDT_TENSOR(binary_scalar(*a, b, op, alpha)) }
// scalar OP tensor, for the operators whose left side is a number.
MDT_API tensor_t mdt_scalar_binary(mdt_scalar a, tensor_t b, int32_t op) {
  MDT_TRY
    const at::Scalar s = to_scalar(a);
    switch (op) {
      case 1: return wrap(at::rsub(*b, s));
      case 3: return wrap(at::reciprocal(*b).mul_(s));
      case 4: return wrap(at::pow(s, *b));
      default: TORCH_CHECK_VALUE(false, "unknown scalar-left op ", op);
    }
  MDT_CATCH(nullptr)
}
MDT_API int32_t mdt_binary_(tensor_t a, tensor_t b, int32_t op, mdt_scalar alpha) { MDT_STATUS(binary_(*a, *b, op, alpha)) }
MDT_API int32_t mdt_binary_scalar_(tensor_t a, mdt_scalar b, int32_t op, mdt_scalar alpha) { MDT_STATUS(binary_scalar_(*a, b, op, alpha)) }

// op: 0 eq, 1 ne, 2 lt, 3 le, 4 gt, 5 ge
static at::Tensor compare(const at::Tensor& a, const at::Tensor& b, int32_t op) {
  switch (op) {
    case 0: return at::eq(a, b);
    case 1: return at::ne(a, b);
    case 2: return at::lt(a, b);
    case 3: return at::le(a, b);
    case 4: return at::gt(a, b);
    case 5: return at::ge(a, b);
    default: TORCH_CHECK_VALUE(false, "unknown comparison ", op);
  }
}
static at::Tensor compare_scalar(const at::Tensor& a, const at::Scalar& b, int32_t op) {
  switch (op) {
    case 0: return at::eq(a, b);
    case 1: return at::ne(a, b);
    case 2: return at::lt(a, b);
    case 3: return at::le(a, b);
    case 4: return at::gt(a, b);
    case 5: return at::ge(a, b);
    default: TORCH_CHECK_VALUE(false, "unknown comparison ", op);
  }
}
MDT_API tensor_t mdt_compare(tensor_t a, tensor_t b, int32_t op) { MDT_TENSOR(compare(*a, *b, op)) }
MDT_API tensor_t mdt_compare_scalar(tensor_t a, mdt_scalar b, int32_t op) { MDT_TENSOR(compare_scalar(*a, to_scalar(b), op)) }

// In-place updates used by initialisers and optimizers (all run under no-grad on the managed side).
MDT_API int32_t mdt_fill_(tensor_t t, mdt_scalar v) { MDT_STATUS(t->fill_(to_scalar(v))) }
MDT_API int32_t mdt_zero_(tensor_t t) { MDT_STATUS(t->zero_()) }
MDT_API int32_t mdt_copy_(tensor_t dst, tensor_t src, int32_t non_blocking) { MDT_STATUS(dst->copy_(*src, non_blocking != 0)) }
MDT_API int32_t mdt_uniform_(tensor_t t, double from, double to) { MDT_STATUS(t->uniform_(from, to)) }
MDT_API int32_t mdt_normal_(tensor_t t, double mean, double std) { MDT_STATUS(t->normal_(mean, std)) }
MDT_API int32_t mdt_bernoulli_(tensor_t t, double p) { MDT_STATUS(t->bernoulli_(p)) }
MDT_API int32_t mdt_addcmul_(tensor_t t, tensor_t a, tensor_t b, mdt_scalar value) { MDT_STATUS(t->addcmul_(*a, *b, to_scalar(value))) }
MDT_API int32_t mdt_addcdiv_(tensor_t t, tensor_t a, tensor_t b, mdt_scalar value) { MDT_STATUS(t->addcdiv_(*a, *b, to_scalar(value))) }
MDT_API int32_t mdt_lerp_(tensor_t t, tensor_t end, mdt_scalar weight) { MDT_STATUS(t->lerp_(*end, to_scalar(weight))) }
MDT_API int32_t mdt_sqrt_(tensor_t t) { MDT_STATUS(t->sqrt_()) }
MDT_API int32_t mdt_clamp_(tensor_t t, double lo, int32_t has_lo, double hi, int32_t has_hi) {
  MDT_STATUS(t->clamp_(has_lo ? mdt::optional<at::Scalar>(lo) : mdt::nullopt, has_hi ? mdt::optional<at::Scalar>(hi) : mdt::nullopt))
}

// ---- unary math and whole-tensor reductions (the per-dimension ones live in ops.cpp) -------------
// op codes: see Tensor.Arithmetic.cs (UnaryOp).
static at::Tensor unary(const at::Tensor& t, int32_t op) {
  switch (op) {
    case 0: return at::neg(t);
    case 1: return at::abs(t);
    case 2: return at::sqrt(t);
    case 3: return at::exp(t);
    case 4: return at::log(t);
    case 5: return at::sigmoid(t);
    case 6: return at::tanh(t);
    case 7: return at::relu(t);
    case 8: return at::sign(t);
    case 9: return at::floor(t);
    case 10: return at::ceil(t);
    case 11: return at::round(t);
    case 12: return at::rsqrt(t);
    case 13: return at::reciprocal(t);
    case 14: return at::square(t);
    case 15: return at::log1p(t);
    case 16: return at::expm1(t);
    case 17: return at::sin(t);
    case 18: return at::cos(t);
    case 19: return at::logical_not(t);
    case 20: return at::isnan(t);
    case 21: return at::isfinite(t);
    case 22: return at::log2(t);
    case 23: return at::trunc(t);
    default: TORCH_CHECK_VALUE(false, "unknown unary op ", op);
  }
}
MDT_API tensor_t mdt_unary(tensor_t t, int32_t op) { MDT_TENSOR(unary(*t, op)) }
// dtype < 0: keep libtorch's default accumulation type.
MDT_API tensor_t mdt_sum_all(tensor_t t, int32_t dtype) {
  MDT_TENSOR(dtype < 0 ? t->sum() : t->sum(to_dtype(dtype)))
}
MDT_API tensor_t mdt_mean_all(tensor_t t) { MDT_TENSOR(t->mean()) }
MDT_API tensor_t mdt_max_all(tensor_t t) { MDT_TENSOR(t->max()) }
MDT_API tensor_t mdt_min_all(tensor_t t) { MDT_TENSOR(t->min()) }
MDT_API tensor_t mdt_all_all(tensor_t t) { MDT_TENSOR(t->all()) }
MDT_API tensor_t mdt_any_all(tensor_t t) { MDT_TENSOR(t->any()) }

// ---- autocast (mixed precision) -----------------------------------------------------------------
// device_type: 0 = CPU, 1 = CUDA. libtorch 2.4 replaced the per-device setters with ones taking the device type
// (the old names are deprecated there), so the version decides which family is called.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MDT_AUTOCAST_BY_DEVICE 1
#endif
MDT_API int32_t mdt_autocast_set(int32_t device_type, int32_t enabled, int32_t dtype) {
  MDT_TRY
#ifdef MDT_AUTOCAST_BY_DEVICE
  const auto dev = device_type == 1 ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_dtype(dev, to_dtype(dtype));
  at::autocast::set_autocast_enabled(dev, enabled != 0);
#else
  if (device_type == 1) {
    at::autocast::set_autocast_gpu_dtype(to_dtype(dtype));
    at::autocast::set_enabled(enabled != 0);
  } else {
    at::autocast::set_autocast_cpu_dtype(to_dtype(dtype));
    at::autocast::set_cpu_enabled(enabled != 0);
  }
#endif
  return 0;
  MDT_CATCH(-1)
}
// Returns enabled (0/1) and writes the current lower-precision dtype code to *dtype; -1 on error.
MDT_API int32_t mdt_autocast_get(int32_t device_type, int32_t* dtype) {
  MDT_TRY
#ifdef MDT_AUTOCAST_BY_DEVICE
  const auto dev = device_type == 1 ? at::kCUDA : at::kCPU;
  *dtype = static_cast<int32_t>(at::autocast::get_autocast_dtype(dev));
  return at::autocast::is_autocast_enabled(dev) ? 1 : 0;
#else
  if (device_type == 1) {
    *dtype = static_cast<int32_t>(at::autocast::get_autocast_gpu_dtype());
    return at::autocast::is_enabled() ? 1 : 0;
  }
  *dtype = static_cast<int32_t>(at::autocast::get_autocast_cpu_dtype());
  return at::autocast::is_cpu_enabled() ? 1 : 0;
#endif
  MDT_CATCH(-1)
}
// Autocast caches the lower-precision copies of weights while any autocast region is open; the outermost
// region's exit must drop them (as torch.autocast.__exit__ does), or the cache outlives the weights' updates.
MDT_API int32_t mdt_autocast_enter() { MDT_TRY return at::autocast::increment_nesting(); MDT_CATCH(-1) }
MDT_API int32_t mdt_autocast_exit() {
  MDT_TRY
  const int depth = at::autocast::decrement_nesting();
  if (depth == 0) at::autocast::clear_cache();
  return depth;
  MDT_CATCH(-1)
}
