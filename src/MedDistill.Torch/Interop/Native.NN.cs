using System.Runtime.InteropServices;

namespace MedDistill.Torch.Interop;

// Entry points of native/nn.cpp.
internal static unsafe partial class Native
{
    [LibraryImport(Lib)] internal static partial IntPtr mdt_conv2d(IntPtr input, IntPtr weight, IntPtr bias, long* stride, int ns, long* padding, int np, long* dilation, int nd, long groups);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_conv_transpose2d(IntPtr input, IntPtr weight, IntPtr bias, long* stride, int ns, long* padding, int np, long* outputPadding, int nop, long groups, long* dilation, int nd);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_batch_norm(IntPtr input, IntPtr runningMean, IntPtr runningVar, IntPtr weight, IntPtr bias, int training, double momentum, double eps);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_dropout(IntPtr input, double p, int training, int kind);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_max_pool2d(IntPtr input, long* kernel, int nk, long* stride, int ns, long* padding, int np, long* dilation, int nd, int ceilMode);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_max_pool2d_with_indices(IntPtr input, long* kernel, int nk, long* stride, int ns, long* padding, int np, long* dilation, int nd, int ceilMode);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_max_unpool2d(IntPtr input, IntPtr indices, long* outputSize, int n);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_avg_pool2d(IntPtr input, long* kernel, int nk, long* stride, int ns, long* padding, int np, int ceilMode, int countIncludePad, long divisorOverride, int hasDivisor);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_adaptive_avg_pool2d(IntPtr input, long* outputSize, int n);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_interpolate2d(IntPtr input, long outH, long outW, int mode, int alignCorners, double scaleH, double scaleW, int hasScales);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_pad(IntPtr input, long* pad, int n, int mode, double value);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_prelu(IntPtr input, IntPtr weight);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_gelu(IntPtr input, int tanhApproximation);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_leaky_relu(IntPtr input, double slope);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_elu(IntPtr input, double alpha);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_hardtanh(IntPtr input, double lo, double hi);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_linear(IntPtr input, IntPtr weight, IntPtr bias);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_softmax(IntPtr input, long dim, int dtype, int kind);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_cross_entropy(IntPtr input, IntPtr target, IntPtr weight, long reduction, long ignoreIndex, double labelSmoothing);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_nll_loss(IntPtr input, IntPtr target, IntPtr weight, long reduction, long ignoreIndex);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_kl_div(IntPtr input, IntPtr target, long reduction, int logTarget);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_mse_loss(IntPtr input, IntPtr target, long reduction);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_l1_loss(IntPtr input, IntPtr target, long reduction);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_smooth_l1_loss(IntPtr input, IntPtr target, long reduction, double beta);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_binary_cross_entropy(IntPtr input, IntPtr target, IntPtr weight, long reduction);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_binary_cross_entropy_with_logits(IntPtr input, IntPtr target, IntPtr weight, IntPtr posWeight, long reduction);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_cosine_similarity(IntPtr x1, IntPtr x2, long dim, double eps);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_affine_grid(IntPtr theta, long* size, int n, int alignCorners);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_grid_sample(IntPtr input, IntPtr grid, int mode, int paddingMode, int alignCorners);
}
