// nn.functional: convolutions, normalisation, dropout, pooling, resampling, padding, activations,
// losses and the spatial-transformer pair (affine_grid/grid_sample) used for augmentation.
// Reductions are passed as at::Reduction codes: 0 none, 1 mean, 2 sum.
#include "shim.h"

namespace {
inline c10::optional<double> opt_double(double v, int32_t has) { return has ? c10::optional<double>(v) : c10::nullopt; }
}  // namespace

MDT_API tensor_t mdt_conv2d(tensor_t input, tensor_t weight, tensor_t bias, const int64_t* stride, int32_t ns,
                            const int64_t* padding, int32_t np, const int64_t* dilation, int32_t nd, int64_t groups) {
  MDT_TENSOR(at::conv2d(*input, *weight, opt(bias), dims(stride, ns), dims(padding, np), dims(dilation, nd), groups))
}
MDT_API tensor_t mdt_conv_transpose2d(tensor_t input, tensor_t weight, tensor_t bias, const int64_t* stride, int32_t ns,
                                      const int64_t* padding, int32_t np, const int64_t* output_padding, int32_t nop,
                                      int64_t groups, const int64_t* dilation, int32_t nd) {
  MDT_TENSOR(at::conv_transpose2d(*input, *weight, opt(bias), dims(stride, ns), dims(padding, np), dims(output_padding, nop),
                                  groups, dims(dilation, nd)))
}
MDT_API tensor_t mdt_batch_norm(tensor_t input, tensor_t running_mean, tensor_t running_var, tensor_t weight, tensor_t bias,
                                int32_t training, double momentum, double eps) {
  MDT_TENSOR(at::batch_norm(*input, opt(weight), opt(bias), opt(running_mean), opt(running_var), training != 0, momentum, eps,
                            at::globalContext().userEnabledCuDNN()))
}
// kind: 0 elementwise dropout, 1 channel-wise (dropout2d: whole feature maps).
MDT_API tensor_t mdt_dropout(tensor_t input, double p, int32_t training, int32_t kind) {
  MDT_TENSOR(kind == 1 ? at::feature_dropout(*input, p, training != 0) : at::dropout(*input, p, training != 0))
}
MDT_API tensor_t mdt_max_pool2d(tensor_t input, const int64_t* kernel, int32_t nk, const int64_t* stride, int32_t ns,
                                const int64_t* padding, int32_t np, const int64_t* dilation, int32_t nd, int32_t ceil_mode) {
  MDT_TENSOR(at::max_pool2d(*input, dims(kernel, nk), dims(stride, ns), dims(padding, np), dims(dilation, nd), ceil_mode != 0))
}
MDT_API tensor_list_t mdt_max_pool2d_with_indices(tensor_t input, const int64_t* kernel, int32_t nk, const int64_t* stride,
                                                  int32_t ns, const int64_t* padding, int32_t np, const int64_t* dilation,
                                                  int32_t nd, int32_t ceil_mode) {
  MDT_TRY
    auto r = at::max_pool2d_with_indices(*input, dims(kernel, nk), dims(stride, ns), dims(padding, np), dims(dilation, nd),
                                         ceil_mode != 0);
    return wrap_list({std::get<0>(r), std::get<1>(r)});
  MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_max_unpool2d(tensor_t input, tensor_t indices, const int64_t* output_size, int32_t n) {
  MDT_TENSOR(at::max_unpool2d(*input, *indices, dims(output_size, n)))
}
MDT_API tensor_t mdt_avg_pool2d(tensor_t input, const int64_t* kernel, int32_t nk, const int64_t* stride, int32_t ns,
                                const int64_t* padding, int32_t np, int32_t ceil_mode, int32_t count_include_pad,
                                int64_t divisor_override, int32_t has_divisor) {
  MDT_TENSOR(at::avg_pool2d(*input, dims(kernel, nk), dims(stride, ns), dims(padding, np), ceil_mode != 0,
                            count_include_pad != 0,
                            has_divisor ? c10::optional<int64_t>(divisor_override) : c10::optional<int64_t>()))
}
MDT_API tensor_t mdt_adaptive_avg_pool2d(tensor_t input, const int64_t* output_size, int32_t n) {
  MDT_TENSOR(at::adaptive_avg_pool2d(*input, dims(output_size, n)))
}
// mode: 0 nearest, 1 bilinear, 2 bicubic. The managed side computes the output size; scales are passed
// on when the caller gave scale factors, because PyTorch's kernels then map coordinates by 1/scale.
MDT_API tensor_t mdt_interpolate2d(tensor_t input, int64_t out_h, int64_t out_w, int32_t mode, int32_t align_corners,
                                   double scale_h, double scale_w, int32_t has_scales) {
  MDT_TRY
    const int64_t size[2] = {out_h, out_w};
    auto sh = opt_double(scale_h, has_scales), sw = opt_double(scale_w, has_scales);
    switch (mode) {
      case 0: return wrap(at::upsample_nearest2d(*input, at::IntArrayRef(size, 2), sh, sw));
      case 1: return wrap(at::upsample_bilinear2d(*input, at::IntArrayRef(size, 2), align_corners != 0, sh, sw));
      case 2: return wrap(at::upsample_bicubic2d(*input, at::IntArrayRef(size, 2), align_corners != 0, sh, sw));
      default: TORCH_CHECK_VALUE(false, "unknown interpolation mode ", mode);
    }
  MDT_CATCH(nullptr)
}
// mode: 0 constant, 1 reflect, 2 replicate. pad lists (left, right, top, bottom, ...) from the last dimension backwards.
MDT_API tensor_t mdt_pad(tensor_t input, const int64_t* pad, int32_t n, int32_t mode, double value) {
  MDT_TRY
    auto p = dims(pad, n);
    if (mode == 0) return wrap(at::constant_pad_nd(*input, p, value));
    TORCH_CHECK_VALUE(n == 2 || n == 4 || n == 6, "reflect/replicate padding takes 2, 4 or 6 values, got ", n);
    if (mode == 1) return wrap(n == 2 ? at::reflection_pad1d(*input, p) : n == 4 ? at::reflection_pad2d(*input, p) : at::reflection_pad3d(*input, p));
    if (mode == 2) return wrap(n == 2 ? at::replication_pad1d(*input, p) : n == 4 ? at::replication_pad2d(*input, p) : at::replication_pad3d(*input, p));
    TORCH_CHECK_VALUE(false, "unknown padding mode ", mode);
  MDT_CATCH(nullptr)
}
MDT_API tensor_t mdt_prelu(tensor_t input, tensor_t weight) { MDT_TENSOR(at::prelu(*input, *weight)) }
MDT_API tensor_t mdt_gelu(tensor_t input, int32_t tanh_approximation) {
  MDT_TENSOR(at::gelu(*input, tanh_approximation ? "tanh" : "none"))
}
MDT_API tensor_t mdt_leaky_relu(tensor_t input, double slope) { MDT_TENSOR(at::leaky_relu(*input, slope)) }
MDT_API tensor_t mdt_elu(tensor_t input, double alpha) { MDT_TENSOR(at::elu(*input, alpha)) }
MDT_API tensor_t mdt_hardtanh(tensor_t input, double lo, double hi) { MDT_TENSOR(at::hardtanh(*input, lo, hi)) }
MDT_API tensor_t mdt_linear(tensor_t input, tensor_t weight, tensor_t bias) { MDT_TENSOR(at::linear(*input, *weight, opt(bias))) }
// kind: 0 softmax, 1 log_softmax. dtype < 0: keep the input's.
MDT_API tensor_t mdt_softmax(tensor_t input, int64_t dim, int32_t dtype, int32_t kind) {
  MDT_TRY
    auto dt = dtype < 0 ? c10::optional<at::ScalarType>() : c10::optional<at::ScalarType>(to_dtype(dtype));
    return wrap(kind == 1 ? at::log_softmax(*input, dim, dt) : at::softmax(*input, dim, dt));
  MDT_CATCH(nullptr)
}

// ---- losses
MDT_API tensor_t mdt_cross_entropy(tensor_t input, tensor_t target, tensor_t weight, int64_t reduction, int64_t ignore_index,
                                   double label_smoothing) {
  MDT_TENSOR(at::cross_entropy_loss(*input, *target, opt(weight), reduction, ignore_index, label_smoothing))
}
MDT_API tensor_t mdt_nll_loss(tensor_t input, tensor_t target, tensor_t weight, int64_t reduction, int64_t ignore_index) {
  MDT_TENSOR(at::nll_loss_nd(*input, *target, opt(weight), reduction, ignore_index))
}
MDT_API tensor_t mdt_kl_div(tensor_t input, tensor_t target, int64_t reduction, int32_t log_target) {
  MDT_TENSOR(at::kl_div(*input, *target, reduction, log_target != 0))
}
MDT_API tensor_t mdt_mse_loss(tensor_t input, tensor_t target, int64_t reduction) { MDT_TENSOR(at::mse_loss(*input, *target, reduction)) }
MDT_API tensor_t mdt_l1_loss(tensor_t input, tensor_t target, int64_t reduction) { MDT_TENSOR(at::l1_loss(*input, *target, reduction)) }
MDT_API tensor_t mdt_smooth_l1_loss(tensor_t input, tensor_t target, int64_t reduction, double beta) {
  MDT_TENSOR(at::smooth_l1_loss(*input, *target, reduction, beta))
}
MDT_API tensor_t mdt_binary_cross_entropy(tensor_t input, tensor_t target, tensor_t weight, int64_t reduction) {
  MDT_TENSOR(at::binary_cross_entropy(*input, *target, opt(weight), reduction))
}
MDT_API tensor_t mdt_binary_cross_entropy_with_logits(tensor_t input, tensor_t target, tensor_t weight, tensor_t pos_weight,
                                                      int64_t reduction) {
  MDT_TENSOR(at::binary_cross_entropy_with_logits(*input, *target, opt(weight), opt(pos_weight), reduction))
}
MDT_API tensor_t mdt_cosine_similarity(tensor_t x1, tensor_t x2, int64_t dim, double eps) {
  MDT_TENSOR(at::cosine_similarity(*x1, *x2, dim, eps))
}

// ---- spatial transformer
MDT_API tensor_t mdt_affine_grid(tensor_t theta, const int64_t* size, int32_t n, int32_t align_corners) {
  MDT_TENSOR(at::affine_grid_generator(*theta, dims(size, n), align_corners != 0))
}
// mode: 0 bilinear, 1 nearest, 2 bicubic; padding: 0 zeros, 1 border, 2 reflection (libtorch's codes).
MDT_API tensor_t mdt_grid_sample(tensor_t input, tensor_t grid, int32_t mode, int32_t padding_mode, int32_t align_corners) {
  MDT_TENSOR(at::grid_sampler(*input, *grid, mode, padding_mode, align_corners != 0))
}
