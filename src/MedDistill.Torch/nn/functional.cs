using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Stateless layers and losses, as PyTorch's torch.nn.functional.</summary>
        public static unsafe partial class functional
        {
            private static readonly long[] OnePair = [1, 1];
            private static readonly long[] ZeroPair = [0, 0];

            private static IntPtr H(Tensor? t) => t?.Handle ?? IntPtr.Zero;

            private static void CheckPositive(long[] values, string name)
            {
                foreach (var v in values)
                    if (v <= 0) throw new ArgumentException($"{name} must be positive, got [{string.Join(", ", values)}]", name);
            }

            // ---- convolutions
            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null, long[]? padding = null,
                long[]? dilation = null, long groups = 1)
            {
                stride ??= OnePair; padding ??= ZeroPair; dilation ??= OnePair;
                fixed (long* s = stride) fixed (long* p = padding) fixed (long* d = dilation)
                    return new Tensor(Native.mdt_conv2d(input.Handle, weight.Handle, H(bias), s, stride.Length, p, padding.Length,
                        d, dilation.Length, groups));
            }

            public static Tensor conv_transpose2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null,
                long[]? padding = null, long[]? output_padding = null, long groups = 1, long[]? dilation = null)
            {
                stride ??= OnePair; padding ??= ZeroPair; output_padding ??= ZeroPair; dilation ??= OnePair;
                fixed (long* s = stride) fixed (long* p = padding) fixed (long* op = output_padding) fixed (long* d = dilation)
                    return new Tensor(Native.mdt_conv_transpose2d(input.Handle, weight.Handle, H(bias), s, stride.Length, p,
                        padding.Length, op, output_padding.Length, groups, d, dilation.Length));
            }

            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null) =>
                new(Native.mdt_linear(input.Handle, weight.Handle, H(bias)));

            // ---- normalisation and dropout
            /// <summary>Batch normalisation; in training mode the running statistics are updated in place, as in PyTorch.</summary>
            public static Tensor batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, Tensor? weight = null,
                Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5)
            {
                if (!training && (running_mean is null || running_var is null))
                    throw new ArgumentException("batch_norm in evaluation mode needs running_mean and running_var");
                return new Tensor(Native.mdt_batch_norm(input.Handle, H(running_mean), H(running_var), H(weight), H(bias),
                    training ? 1 : 0, momentum, eps));
            }

            public static Tensor dropout(Tensor input, double p = 0.5, bool training = true)
            {
                CheckProbability(p);
                return new Tensor(Native.mdt_dropout(input.Handle, p, training ? 1 : 0, 0));
            }

            /// <summary>Zeroes whole channels (feature maps) with probability p and rescales the rest by 1/(1-p).</summary>
            public static Tensor dropout2d(Tensor input, double p = 0.5, bool training = true)
            {
                CheckProbability(p);
                return new Tensor(Native.mdt_dropout(input.Handle, p, training ? 1 : 0, 1));
            }

            private static void CheckProbability(double p)
            {
                if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability has to be between 0 and 1");
            }

            // ---- pooling
            public static Tensor max_pool2d(Tensor input, long[] kernel_size, long[]? stride = null, long[]? padding = null,
                long[]? dilation = null, bool ceil_mode = false)
            {
                CheckPositive(kernel_size, nameof(kernel_size));
                stride ??= kernel_size; padding ??= ZeroPair; dilation ??= OnePair;
                fixed (long* k = kernel_size) fixed (long* s = stride) fixed (long* p = padding) fixed (long* d = dilation)
                    return new Tensor(Native.mdt_max_pool2d(input.Handle, k, kernel_size.Length, s, stride.Length, p, padding.Length,
                        d, dilation.Length, ceil_mode ? 1 : 0));
            }

            /// <summary>Max pooling that also returns the flat (per-plane) indices of the maxima, for max_unpool2d.</summary>
            public static (Tensor output, Tensor indices) max_pool2d_with_indices(Tensor input, long[] kernel_size, long[]? stride = null,
                long[]? padding = null, long[]? dilation = null, bool ceil_mode = false)
            {
                CheckPositive(kernel_size, nameof(kernel_size));
                stride ??= kernel_size; padding ??= ZeroPair; dilation ??= OnePair;
                IntPtr list;
                fixed (long* k = kernel_size) fixed (long* s = stride) fixed (long* p = padding) fixed (long* d = dilation)
                    list = Native.mdt_max_pool2d_with_indices(input.Handle, k, kernel_size.Length, s, stride.Length, p,
                        padding.Length, d, dilation.Length, ceil_mode ? 1 : 0);
                var parts = TensorList.Take(list);
                return (parts[0], parts[1]);
            }

            /// <summary>Inverse of max pooling: scatters values to the saved indices; output_size is (H, W) or (N, C, H, W).</summary>
            public static Tensor max_unpool2d(Tensor input, Tensor indices, long[] output_size)
            {
                if (output_size.Length == 4) output_size = output_size[2..];
                if (output_size.Length != 2) throw new ArgumentException("max_unpool2d: output_size must be (H, W) or (N, C, H, W)", nameof(output_size));
                fixed (long* o = output_size)
                    return new Tensor(Native.mdt_max_unpool2d(input.Handle, indices.Handle, o, 2));
            }

            public static Tensor avg_pool2d(Tensor input, long[] kernel_size, long[]? stride = null, long[]? padding = null,
                bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null)
            {
                CheckPositive(kernel_size, nameof(kernel_size));
                stride ??= kernel_size; padding ??= ZeroPair;
                fixed (long* k = kernel_size) fixed (long* s = stride) fixed (long* p = padding)
                    return new Tensor(Native.mdt_avg_pool2d(input.Handle, k, kernel_size.Length, s, stride.Length, p, padding.Length,
                        ceil_mode ? 1 : 0, count_include_pad ? 1 : 0, divisor_override ?? 0, divisor_override.HasValue ? 1 : 0));
            }

            public static Tensor adaptive_avg_pool2d(Tensor input, long[] output_size)
            {
                fixed (long* o = output_size)
                    return new Tensor(Native.mdt_adaptive_avg_pool2d(input.Handle, o, output_size.Length));
            }

            // ---- resampling and padding
            /// <summary>
            /// Resizes the last two dimensions to <paramref name="size"/>, or by <paramref name="scale_factor"/> (output =
            /// floor(input × scale), and the kernel maps coordinates by 1/scale, as PyTorch does when
            /// recompute_scale_factor is not set).
            /// </summary>
            public static Tensor interpolate(Tensor input, long[]? size = null, double[]? scale_factor = null,
                InterpolationMode mode = InterpolationMode.Nearest, bool? align_corners = null)
            {
                if ((size is null) == (scale_factor is null))
                    throw new ArgumentException("interpolate: give exactly one of size and scale_factor");
                if (mode == InterpolationMode.Nearest && align_corners.HasValue)
                    throw new ArgumentException("interpolate: align_corners only applies to bilinear and bicubic modes");
                var shape = input.shape;
                if (shape.Length != 4) throw new ArgumentException($"interpolate expects a 4-D (N, C, H, W) input, got {shape.Length}-D");
                long outH, outW;
                double sh = 0, sw = 0;
                if (size is not null)
                {
                    if (size.Length is not (1 or 2)) throw new ArgumentException("interpolate: size must have 1 or 2 values", nameof(size));
                    outH = size[0];
                    outW = size[^1];
                }
                else
                {
                    if (scale_factor!.Length is not (1 or 2)) throw new ArgumentException("interpolate: scale_factor must have 1 or 2 values", nameof(scale_factor));
                    sh = scale_factor[0];
                    sw = scale_factor[^1];
                    if (!(sh > 0 && sw > 0)) throw new ArgumentException("interpolate: scale_factor must be positive", nameof(scale_factor));
                    outH = (long)Math.Floor(shape[2] * sh);
                    outW = (long)Math.Floor(shape[3] * sw);
                }
                return new Tensor(Native.mdt_interpolate2d(input.Handle, outH, outW, (int)mode, align_corners == true ? 1 : 0,
                    sh, sw, scale_factor is null ? 0 : 1));
            }

            /// <summary>Pads the last dimensions: pad = (left, right[, top, bottom[, front, back]]).</summary>
            public static Tensor pad(Tensor input, long[] pad, PaddingModes mode = PaddingModes.Constant, double value = 0)
            {
                if (pad.Length == 0 || pad.Length % 2 != 0) throw new ArgumentException("pad needs an even, non-zero number of values", nameof(pad));
                fixed (long* p = pad)
                    return new Tensor(Native.mdt_pad(input.Handle, p, pad.Length, (int)mode, value));
            }

            // ---- activations
            public static Tensor relu(Tensor input) => input.relu();
            public static Tensor sigmoid(Tensor input) => input.sigmoid();
            public static Tensor tanh(Tensor input) => input.tanh();
            public static Tensor prelu(Tensor input, Tensor weight) => new(Native.mdt_prelu(input.Handle, weight.Handle));
            /// <summary>GELU; approximate is "none" (exact, erf) or "tanh".</summary>
            public static Tensor gelu(Tensor input, string approximate = "none") => approximate switch
            {
                "none" => new Tensor(Native.mdt_gelu(input.Handle, 0)),
                "tanh" => new Tensor(Native.mdt_gelu(input.Handle, 1)),
                _ => throw new ArgumentException($"gelu: approximate must be 'none' or 'tanh', got '{approximate}'", nameof(approximate)),
            };
            public static Tensor leaky_relu(Tensor input, double negative_slope = 0.01) => new(Native.mdt_leaky_relu(input.Handle, negative_slope));
            public static Tensor elu(Tensor input, double alpha = 1.0) => new(Native.mdt_elu(input.Handle, alpha));
            public static Tensor hardtanh(Tensor input, double min_val = -1, double max_val = 1) => new(Native.mdt_hardtanh(input.Handle, min_val, max_val));
            public static Tensor softmax(Tensor input, long dim, ScalarType? dtype = null) => input.softmax(dim, dtype);
            public static Tensor log_softmax(Tensor input, long dim, ScalarType? dtype = null) => input.log_softmax(dim, dtype);
            /// <summary>Class indices (int64) to one-hot vectors along a new last dimension.</summary>
            public static Tensor one_hot(Tensor input, long num_classes = -1) => torch.one_hot(input, num_classes);

            // ---- losses
            private static long Code(Reduction r, string loss) => r switch
            {
                Reduction.None => 0,
                Reduction.Mean => 1,
                Reduction.Sum => 2,
                _ => throw new ArgumentException($"{loss}: reduction {r} is not supported (only kl_div takes BatchMean)"),
            };

            /// <summary>
            /// Cross-entropy of logits (N, C, ...) against class indices (N, ...) or class probabilities (N, C, ...).
            /// With class weights and Reduction.Mean the sum is divided by the summed weights of the counted targets.
            /// </summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100,
                Reduction reduction = Reduction.Mean, double label_smoothing = 0.0) =>
                new(Native.mdt_cross_entropy(input.Handle, target.Handle, H(weight), Code(reduction, "cross_entropy"), ignore_index, label_smoothing));

            public static Tensor nll_loss(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100,
                Reduction reduction = Reduction.Mean) =>
                new(Native.mdt_nll_loss(input.Handle, target.Handle, H(weight), Code(reduction, "nll_loss"), ignore_index));

            /// <summary>
            /// KL divergence with input as log-probabilities: sum target·(log target − input). Reduction.Mean averages over
            /// every element (PyTorch's default, not the true KL); Reduction.BatchMean divides the sum by the batch size.
            /// </summary>
            public static Tensor kl_div(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool log_target = false)
            {
                if (reduction != Reduction.BatchMean)
                    return new Tensor(Native.mdt_kl_div(input.Handle, target.Handle, Code(reduction, "kl_div"), log_target ? 1 : 0));
                using var sum = new Tensor(Native.mdt_kl_div(input.Handle, target.Handle, 2, log_target ? 1 : 0));
                long batch = input.dim() == 0 ? 1 : input.size(0);
                return sum.div(batch);
            }

            public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                new(Native.mdt_mse_loss(input.Handle, target.Handle, Code(reduction, "mse_loss")));
            public static Tensor l1_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                new(Native.mdt_l1_loss(input.Handle, target.Handle, Code(reduction, "l1_loss")));
            public static Tensor smooth_l1_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0) =>
                new(Native.mdt_smooth_l1_loss(input.Handle, target.Handle, Code(reduction, "smooth_l1_loss"), beta));
            public static Tensor binary_cross_entropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean) =>
                new(Native.mdt_binary_cross_entropy(input.Handle, target.Handle, H(weight), Code(reduction, "binary_cross_entropy")));
            public static Tensor binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight = null,
                Reduction reduction = Reduction.Mean, Tensor? pos_weight = null) =>
                new(Native.mdt_binary_cross_entropy_with_logits(input.Handle, target.Handle, H(weight), H(pos_weight),
                    Code(reduction, "binary_cross_entropy_with_logits")));

            public static Tensor cosine_similarity(Tensor x1, Tensor x2, long dim = 1, double eps = 1e-8) =>
                new(Native.mdt_cosine_similarity(x1.Handle, x2.Handle, dim, eps));

            // ---- spatial transformer
            /// <summary>Sampling grid (N, H, W, 2) for affine matrices theta (N, 2, 3) and output size (N, C, H, W).</summary>
            public static Tensor affine_grid(Tensor theta, long[] size, bool align_corners = false)
            {
                fixed (long* s = size)
                    return new Tensor(Native.mdt_affine_grid(theta.Handle, s, size.Length, align_corners ? 1 : 0));
            }

            public static Tensor grid_sample(Tensor input, Tensor grid, GridSampleMode mode = GridSampleMode.Bilinear,
                GridSamplePaddingMode padding_mode = GridSamplePaddingMode.Zeros, bool align_corners = false) =>
                new(Native.mdt_grid_sample(input.Handle, grid.Handle, (int)mode, (int)padding_mode, align_corners ? 1 : 0));
        }
    }
}
