// Tensor operations beyond the core: views and indexing, reductions over dimensions, linear algebra,
// selection (where/masked_fill/clamp), sorting and comparison of whole tensors.
// Multi-result operations write their handles through out-pointers and return 0 / -1.
#include "shim.h"
#include <c10/core/DefaultDtype.h>
#include <memory>

namespace {

mdt::optional<at::ScalarType> opt_dtype(int32_t code) {
  return code < 0 ? mdt::optional<at::ScalarType>() : mdt::optional<at::ScalarType>(to_dtype(code));
}

// Both handles are created before either is published, so a failure leaves neither half-owned.
int32_t put_pair(std::tuple<at::Tensor, at::Tensor> r, tensor_t* first, tensor_t* second) {
  std::unique_ptr<at::Tensor> a(new at::Tensor(std::move(std::get<0>(r))));
  std::unique_ptr<at::Tensor> b(new at::Tensor(std::move(std::get<1>(r))));
  *first = a.release();
  *second = b.release();
  return 0;
}

// libtorch's list-of-optional-indices form used by index / index_put_; a null handle stands for
// "take this whole dimension" (Python's `:`).
c10::List<mdt::optional<at::Tensor>> index_list(const tensor_t* hs, int32_t n) {
  c10::List<mdt::optional<at::Tensor>> list;
  list.reserve(static_cast<size_t>(n));
  for (int32_t k = 0; k < n; ++k) list.push_back(opt(hs[k]));
  return list;
}

// A Python-style scalar operand of where(): its dtype follows PyTorch's promotion against the tensor
// operand, then it takes part as a 0-d tensor. Doing the promotion here keeps results identical
// between libtorch 1.13 and 2.x, whose scalar overloads of where() promote differently.
at::Tensor scalar_operand(const at::Scalar& s, at::ScalarType type, const at::Tensor& like) {
  return at::scalar_tensor(s, like.options().dtype(type));
}

at::ScalarType scalar_only_type(const at::Scalar& s) {
  if (s.isBoolean()) return at::kBool;
  if (s.isIntegral(false)) return at::kLong;
  return c10::typeMetaToScalarType(c10::get_default_dtype());
}

}  // namespace

// ---- views and reshaping ------------------------------------------------------------------------
MDT_API tensor_t mdt_view(tensor_t t, const int64_t* shape, int32_t n) { MDT_TENSOR(t->view(dims(shape, n))) }
MDT_API tensor_t mdt_reshape(tensor_t t, const int64_t* shape, int32_t n) { MDT_TENSOR(t->reshape(dims(shape, n))) }
MDT_API tensor_t mdt_permute(tensor_t t, const int64_t* order, int32_t n) { MDT_TENSOR(t->permute(dims(order, n))) }
MDT_API tensor_t mdt_transpose(tensor_t t, int64_t dim0, int64_t dim1) { MDT_TENSOR(t->transpose(dim0, dim1)) }
MDT_API tensor_t mdt_t(tensor_t t) { MDT_TENSOR(t->t()) }
MDT_API tensor_t mdt_movedim(tensor_t t, int64_t source, int64_t destination) { MDT_TENSOR(t->movedim(source, destination)) }
MDT_API tensor_t mdt_narrow(tensor_t t, int64_t dim, int64_t start, int64_t length) { MDT_TENSOR(t->narrow(dim, start, length)) }
MDT_API tensor_t mdt_select(tensor_t t, int64_t dim, int64_t index) { MDT_TENSOR(t->select(dim, index)) }
MDT_API tensor_t mdt_expand(tensor_t t, const int64_t* shape, int32_t n) { MDT_TENSOR(t->expand(dims(shape, n))) }
MDT_API tensor_t mdt_repeat(tensor_t t, const int64_t* repeats, int32_t n) { MDT_TENSOR(t->repeat(dims(repeats, n))) }
MDT_API tensor_t mdt_flatten(tensor_t t, int64_t start_dim, int64_t end_dim) { MDT_TENSOR(t->flatten(start_dim, end_dim)) }
MDT_API tensor_t mdt_unflatten(tensor_t t, int64_t dim, const int64_t* sizes, int32_t n) { MDT_TENSOR(t->unflatten(dim, dims(sizes, n))) }
MDT_API tensor_t mdt_squeeze(tensor_t t) { MDT_TENSOR(t->squeeze()) }
MDT_API tensor_t mdt_squeeze_dim(tensor_t t, int64_t dim) { MDT_TENSOR(t->squeeze(dim)) }
MDT_API tensor_t mdt_unsqueeze(tensor_t t, int64_t dim) { MDT_TENSOR(t->unsqueeze(dim)) }
MDT_API tensor_t mdt_flip(tensor_t t, const int64_t* d, int32_t n) { MDT_TENSOR(t->flip(dims(d, n))) }
MDT_API tensor_t mdt_roll(tensor_t t, const int64_t* shifts, int32_t ns, const int64_t* d, int32_t nd) {
  MDT_TENSOR(t->roll(dims(shifts, ns), dims(d, nd)))
}

// ---- joining and splitting ----------------------------------------------------------------------
MDT_API tensor_t mdt_cat(const tensor_t* hs, int32_t n, int64_t dim) { MDT_TENSOR(at::cat(unwrap_list(hs, n), dim)) }
MDT_API tensor_t mdt_stack(const tensor_t* hs, int32_t n, int64_t dim) { MDT_TENSOR(at::stack(unwrap_list(hs, n), dim)) }
MDT_API tensor_list_t mdt_split(tensor_t t, int64_t split_size, int64_t dim) {
  MDT_TRY return wrap_list(t->split(split_size, dim)); MDT_CATCH(nullptr)
}
MDT_API tensor_list_t mdt_split_with_sizes(tensor_t t, const int64_t* sizes, int32_t n, int64_t dim) {
  MDT_TRY return wrap_list(t->split_with_sizes(dims(sizes, n), dim)); MDT_CATCH(nullptr)
}
MDT_API tensor_list_t mdt_chunk(tensor_t t, int64_t chunks, int64_t dim) {
  MDT_TRY return wrap_list(t->chunk(chunks, dim)); MDT_CATCH(nullptr)
}

// ---- indexing -----------------------------------------------------------------------------------
MDT_API tensor_t mdt_index_select(tensor_t t, int64_t dim, tensor_t index) { MDT_TENSOR(t->index_select(dim, *index)) }
MDT_API tensor_t mdt_gather(tensor_t t, int64_t dim, tensor_t index) { MDT_TENSOR(t->gather(dim, *index)) }
// add != 0: scatter_add (sums colliding writes) instead of scatter (last write wins).
MDT_API tensor_t mdt_scatter(tensor_t t, int64_t dim, tensor_t index, tensor_t src, int32_t add) {
  MDT_TENSOR(add ? t->scatter_add(dim, *index, *src) : t->scatter(dim, *index, *src))
}
MDT_API tensor_t mdt_scatter_scalar(tensor_t t, int64_t dim, tensor_t index, mdt_scalar value) {
  MDT_TENSOR(t->scatter(dim, *index, to_scalar(value)))
}
MDT_API int32_t mdt_scatter_(tensor_t t, int64_t dim, tensor_t index, tensor_t src, int32_t add) {
  MDT_STATUS(if (add) t->scatter_add_(dim, *index, *src); else t->scatter_(dim, *index, *src))
}
MDT_API int32_t mdt_scatter_scalar_(tensor_t t, int64_t dim, tensor_t index, mdt_scalar value) {
  MDT_STATUS(t->scatter_(dim, *index, to_scalar(value)))
}
MDT_API tensor_t mdt_index(tensor_t t, const tensor_t* indices, int32_t n) { MDT_TENSOR(t->index(index_list(indices, n))) }
MDT_API int32_t mdt_index_put_(tensor_t t, const tensor_t* indices, int32_t n, tensor_t values, int32_t accumulate) {
  MDT_STATUS(t->index_put_(index_list(indices, n), *values, accumulate != 0))
}
MDT_API tensor_t mdt_masked_select(tensor_t t, tensor_t mask) { MDT_TENSOR(t->masked_select(*mask)) }
MDT_API tensor_t mdt_nonzero(tensor_t t) { MDT_TENSOR(t->nonzero()) }

// ---- reductions over dimensions -----------------------------------------------------------------
// An empty dimension list means "every dimension", as PyTorch's dim=None does. (libtorch 2.x also
// reads an empty list that way but warns; 1.13 is not uniform across ops, so the whole-tensor
// overload is chosen explicitly.)
MDT_API tensor_t mdt_sum_dims(tensor_t t, const int64_t* d, int32_t n, int32_t keepdim, int32_t dtype) {
  MDT_TRY
    if (n == 0 && !keepdim) return wrap(t->sum(opt_dtype(dtype)));
    std::vector<int64_t> all;
    if (n == 0) { for (int64_t k = 0; k < t->dim(); ++k) all.push_back(k); }
    return wrap(t->sum(n == 0 ? at::IntArrayRef(all) : dims(d, n), keepdim != 0, opt_dtype(dtype)));
  MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_mean_dims(tensor_t t, const int64_t* d, int32_t n, int32_t keepdim, int32_t dtype) {
  MDT_TRY
    if (n == 0 && !keepdim) return wrap(t->mean(opt_dtype(dtype)));
    std::vector<int64_t> all;
    if (n == 0) { for (int64_t k = 0; k < t->dim(); ++k) all.push_back(k); }
    return wrap(t->mean(n == 0 ? at::IntArrayRef(all) : dims(d, n), keepdim != 0, opt_dtype(dtype)));
  MDT_CATCH(nullptr)
}
// which: 0 var, 1 std.
MDT_API tensor_t mdt_var_std(tensor_t t, const int64_t* d, int32_t n, int32_t unbiased, int32_t keepdim, int32_t which) {
  MDT_TRY
    const bool u = unbiased != 0, k = keepdim != 0;
    if (n == 0 && !k) return wrap(which ? t->std(u) : t->var(u));
    std::vector<int64_t> all;
    if (n == 0) { for (int64_t j = 0; j < t->dim(); ++j) all.push_back(j); }
    const at::IntArrayRef ds = n == 0 ? at::IntArrayRef(all) : dims(d, n);
    return wrap(which ? t->std(ds, u, k) : t->var(ds, u, k));
  MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_norm(tensor_t t, mdt_scalar p, const int64_t* d, int32_t n, int32_t keepdim) {
  MDT_TRY
    if (n == 0 && !keepdim) return wrap(t->norm(to_scalar(p)));
    std::vector<int64_t> all;
    if (n == 0) { for (int64_t j = 0; j < t->dim(); ++j) all.push_back(j); }
    return wrap(t->norm(mdt::optional<at::Scalar>(to_scalar(p)), n == 0 ? at::IntArrayRef(all) : dims(d, n), keepdim != 0));
  MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_logsumexp(tensor_t t, const int64_t* d, int32_t n, int32_t keepdim) {
  MDT_TRY
    std::vector<int64_t> all;
    if (n == 0) { for (int64_t j = 0; j < t->dim(); ++j) all.push_back(j); }
    return wrap(t->logsumexp(n == 0 ? at::IntArrayRef(all) : dims(d, n), keepdim != 0));
  MDT_CATCH(nullptr)
}
// has_dim == 0: product of every element.
MDT_API tensor_t mdt_prod(tensor_t t, int64_t dim, int32_t has_dim, int32_t keepdim, int32_t dtype) {
  MDT_TENSOR(has_dim ? t->prod(dim, keepdim != 0, opt_dtype(dtype)) : t->prod(opt_dtype(dtype)))
}
MDT_API tensor_t mdt_cumsum(tensor_t t, int64_t dim, int32_t dtype) { MDT_TENSOR(t->cumsum(dim, opt_dtype(dtype))) }
// which: 0 all, 1 any.
MDT_API tensor_t mdt_all_any_dim(tensor_t t, int64_t dim, int32_t keepdim, int32_t which) {
  MDT_TENSOR(which ? t->any(dim, keepdim != 0) : t->all(dim, keepdim != 0))
}
MDT_API tensor_t mdt_count_nonzero(tensor_t t, const int64_t* d, int32_t n) {
  MDT_TENSOR(n == 0 ? t->count_nonzero(mdt::optional<int64_t>()) : t->count_nonzero(dims(d, n)))
}
// which: 0 max, 1 min. Values and the indices where they occur.
MDT_API int32_t mdt_max_min_dim(tensor_t t, int64_t dim, int32_t keepdim, int32_t which, tensor_t* values, tensor_t* indices) {
  MDT_TRY return put_pair(which ? t->min(dim, keepdim != 0) : t->max(dim, keepdim != 0), values, indices); MDT_CATCH(-1)
}
// which: 0 argmax, 1 argmin; has_dim == 0 indexes the flattened tensor.
MDT_API tensor_t mdt_arg_max_min(tensor_t t, int64_t dim, int32_t has_dim, int32_t keepdim, int32_t which) {
  MDT_TRY
    const mdt::optional<int64_t> d = has_dim ? mdt::optional<int64_t>(dim) : mdt::optional<int64_t>();
    return wrap(which ? t->argmin(d, keepdim != 0) : t->argmax(d, keepdim != 0));
  MDT_CATCH(nullptr)
}

// ---- linear algebra and normalisation -----------------------------------------------------------
MDT_API tensor_t mdt_matmul(tensor_t a, tensor_t b) { MDT_TENSOR(at::matmul(*a, *b)) }
MDT_API tensor_t mdt_mm(tensor_t a, tensor_t b) { MDT_TENSOR(at::mm(*a, *b)) }
MDT_API tensor_t mdt_bmm(tensor_t a, tensor_t b) { MDT_TENSOR(at::bmm(*a, *b)) }
// which: 0 softmax, 1 log_softmax.
MDT_API tensor_t mdt_softmax(tensor_t t, int64_t dim, int32_t dtype, int32_t which) {
  MDT_TENSOR(which ? at::log_softmax(*t, dim, opt_dtype(dtype)) : at::softmax(*t, dim, opt_dtype(dtype)))
}

// ---- selection ----------------------------------------------------------------------------------
MDT_API tensor_t mdt_clamp(tensor_t t, mdt_scalar lo, int32_t has_lo, mdt_scalar hi, int32_t has_hi) {
  MDT_TENSOR(t->clamp(has_lo ? mdt::optional<at::Scalar>(to_scalar(lo)) : mdt::optional<at::Scalar>(),
                      has_hi ? mdt::optional<at::Scalar>(to_scalar(hi)) : mdt::optional<at::Scalar>()))
}
MDT_API tensor_t mdt_clamp_tensor(tensor_t t, tensor_t lo, tensor_t hi) { MDT_TENSOR(t->clamp(opt(lo), opt(hi))) }
MDT_API tensor_t mdt_where(tensor_t cond, tensor_t a, tensor_t b) { MDT_TENSOR(at::where(*cond, *a, *b)) }
MDT_API tensor_t mdt_where_scalar_other(tensor_t cond, tensor_t a, mdt_scalar b) {
  MDT_TRY
    const at::Scalar s = to_scalar(b);
    return wrap(at::where(*cond, *a, scalar_operand(s, at::result_type(*a, s), *a)));
  MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_where_scalar_self(tensor_t cond, mdt_scalar a, tensor_t b) {
  MDT_TRY
    const at::Scalar s = to_scalar(a);
    return wrap(at::where(*cond, scalar_operand(s, at::result_type(s, *b), *b), *b));
  MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_where_scalars(tensor_t cond, mdt_scalar a, mdt_scalar b) {
  MDT_TRY
    const at::Scalar sa = to_scalar(a), sb = to_scalar(b);
    const at::ScalarType type = at::promote_types(scalar_only_type(sa), scalar_only_type(sb));
    return wrap(at::where(*cond, scalar_operand(sa, type, *cond), scalar_operand(sb, type, *cond)));
  MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_masked_fill(tensor_t t, tensor_t mask, mdt_scalar value) { MDT_TENSOR(t->masked_fill(*mask, to_scalar(value))) }
MDT_API tensor_t mdt_masked_fill_tensor(tensor_t t, tensor_t mask, tensor_t value) { MDT_TENSOR(t->masked_fill(*mask, *value)) }
MDT_API int32_t mdt_masked_fill_(tensor_t t, tensor_t mask, mdt_scalar value) { MDT_STATUS(t->masked_fill_(*mask, to_scalar(value))) }
MDT_API int32_t mdt_masked_fill_tensor_(tensor_t t, tensor_t mask, tensor_t value) { MDT_STATUS(t->masked_fill_(*mask, *value)) }
MDT_API tensor_t mdt_one_hot(tensor_t t, int64_t num_classes) { MDT_TENSOR(at::one_hot(*t, num_classes)) }
MDT_API tensor_t mdt_lerp(tensor_t t, tensor_t end, mdt_scalar weight) { MDT_TENSOR(t->lerp(*end, to_scalar(weight))) }
MDT_API tensor_t mdt_lerp_tensor(tensor_t t, tensor_t end, tensor_t weight) { MDT_TENSOR(t->lerp(*end, *weight)) }

// ---- whole-tensor comparison, sorting, uniqueness -----------------------------------------------
MDT_API int32_t mdt_allclose(tensor_t a, tensor_t b, double rtol, double atol, int32_t equal_nan) {
  MDT_TRY return at::allclose(*a, *b, rtol, atol, equal_nan != 0) ? 1 : 0; MDT_CATCH(-1)
}
MDT_API int32_t mdt_equal(tensor_t a, tensor_t b) { MDT_TRY return a->equal(*b) ? 1 : 0; MDT_CATCH(-1) }
MDT_API int32_t mdt_sort(tensor_t t, int64_t dim, int32_t descending, int32_t stable, tensor_t* values, tensor_t* indices) {
  MDT_TRY return put_pair(t->sort(mdt::optional<bool>(stable != 0), dim, descending != 0), values, indices); MDT_CATCH(-1)
}
MDT_API tensor_t mdt_argsort(tensor_t t, int64_t dim, int32_t descending) { MDT_TENSOR(t->argsort(dim, descending != 0)) }
MDT_API int32_t mdt_topk(tensor_t t, int64_t k, int64_t dim, int32_t largest, int32_t sorted, tensor_t* values, tensor_t* indices) {
  MDT_TRY return put_pair(t->topk(k, dim, largest != 0, sorted != 0), values, indices); MDT_CATCH(-1)
}
// has_dim == 0: unique elements of the flattened tensor. inverse/counts are written (else left null)
// only when asked for.
MDT_API int32_t mdt_unique(tensor_t t, int64_t dim, int32_t has_dim, int32_t sorted, int32_t return_inverse,
                           int32_t return_counts, tensor_t* output, tensor_t* inverse, tensor_t* counts) {
  MDT_TRY
    auto r = has_dim ? at::unique_dim(*t, dim, sorted != 0, return_inverse != 0, return_counts != 0)
                     : at::_unique2(*t, sorted != 0, return_inverse != 0, return_counts != 0);
    std::unique_ptr<at::Tensor> o(new at::Tensor(std::move(std::get<0>(r))));
    std::unique_ptr<at::Tensor> i(return_inverse ? new at::Tensor(std::move(std::get<1>(r))) : nullptr);
    std::unique_ptr<at::Tensor> c(return_counts ? new at::Tensor(std::move(std::get<2>(r))) : nullptr);
    *output = o.release();
    *inverse = i.release();
    *counts = c.release();
    return 0;
  MDT_CATCH(-1)
}
