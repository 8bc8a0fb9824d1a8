using System.Text;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Torch.Modules
{
    /// <summary>2-D max pooling; stride defaults to the kernel size, as in PyTorch's nn.MaxPool2d.</summary>
    public class MaxPool2d : nn.Module<Tensor, Tensor>
    {
        public long[] kernel_size { get; }
        public long[] stride { get; }
        public long[] padding { get; }
        public long[] dilation { get; }
        public bool ceil_mode { get; }

        public MaxPool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false)
        {
            this.kernel_size = Args.Pair(kernel_size, nameof(kernel_size), 1);
            this.stride = stride is null ? (long[])this.kernel_size.Clone() : Args.Pair(stride, nameof(stride), 1);
            this.padding = Args.Pair(padding ?? [0], nameof(padding), 0);
            this.dilation = Args.Pair(dilation ?? [1], nameof(dilation), 1);
            this.ceil_mode = ceil_mode;
            for (int i = 0; i < 2; i++)
                if (this.padding[i] * 2 > (this.kernel_size[i] - 1) * this.dilation[i] + 1)
                    throw new ArgumentException($"pad should be at most half of effective kernel size, but got pad={Args.Tuple(this.padding)}, kernel_size={Args.Tuple(this.kernel_size)}, dilation={Args.Tuple(this.dilation)}", nameof(padding));
        }

        public override Tensor forward(Tensor input) => F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode);

        /// <summary>The pooled output and the flat per-plane indices of the maxima (for <see cref="MaxUnpool2d"/>).</summary>
        public (Tensor output, Tensor indices) forward_with_indices(Tensor input) =>
            F.max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode);

        public override string extra_repr() =>
            $"kernel_size={Args.Tuple(kernel_size)}, stride={Args.Tuple(stride)}, padding={Args.Tuple(padding)}, dilation={Args.Tuple(dilation)}, ceil_mode={Args.Py(ceil_mode)}";
    }

    /// <summary>MaxPool2d with return_indices=True: forward returns (output, indices).</summary>
    public sealed class MaxPool2dWithIndices : nn.Module<Tensor, (Tensor output, Tensor indices)>
    {
        private readonly MaxPool2d pool;

        public MaxPool2dWithIndices(long[] kernel_size, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false) =>
            pool = new MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode);

        public long[] kernel_size => pool.kernel_size;
        public long[] stride => pool.stride;
        public long[] padding => pool.padding;
        public long[] dilation => pool.dilation;
        public bool ceil_mode => pool.ceil_mode;

        public override string GetName() => "MaxPool2d";
        public override (Tensor output, Tensor indices) forward(Tensor input) => pool.forward_with_indices(input);
        public override string extra_repr() => pool.extra_repr() + ", return_indices=True";
    }

    /// <summary>
    /// Inverse of max pooling: puts each value at its saved index in a zero map. The output size defaults to
    /// (in - 1)·stride - 2·padding + kernel, as in PyTorch; pass it explicitly when pooling floored an odd size.
    /// </summary>
    public sealed class MaxUnpool2d : nn.Module<Tensor, Tensor, Tensor>
    {
        public long[] kernel_size { get; }
        public long[] stride { get; }
        public long[] padding { get; }

        public MaxUnpool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null)
        {
            this.kernel_size = Args.Pair(kernel_size, nameof(kernel_size), 1);
            this.stride = stride is null ? (long[])this.kernel_size.Clone() : Args.Pair(stride, nameof(stride), 1);
            this.padding = Args.Pair(padding ?? [0], nameof(padding), 0);
        }

        public override Tensor forward(Tensor input, Tensor indices) => forward(input, indices, null);

        /// <summary><paramref name="output_size"/>: (H, W) or (N, C, H, W); null for the default size.</summary>
        public Tensor forward(Tensor input, Tensor indices, long[]? output_size)
        {
            Args.RequireDim(input, 3, 4, GetName());
            if (output_size is null)
            {
                long h = input.size(-2), w = input.size(-1);
                output_size =
                [
                    (h - 1) * stride[0] - 2 * padding[0] + kernel_size[0],
                    (w - 1) * stride[1] - 2 * padding[1] + kernel_size[1],
                ];
            }
            return F.max_unpool2d(input, indices, output_size);
        }

        public Tensor call(Tensor input, Tensor indices, long[]? output_size) => forward(input, indices, output_size);

        public override string extra_repr() => $"kernel_size={Args.Tuple(kernel_size)}, stride={Args.Tuple(stride)}, padding={Args.Tuple(padding)}";
    }

    /// <summary>2-D average pooling, as PyTorch's nn.AvgPool2d.</summary>
    public sealed class AvgPool2d : nn.Module<Tensor, Tensor>
    {
        public long[] kernel_size { get; }
        public long[] stride { get; }
        public long[] padding { get; }
        public bool ceil_mode { get; }
        public bool count_include_pad { get; }
        public long? divisor_override { get; }

        public AvgPool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null, bool ceil_mode = false,
            bool count_include_pad = true, long? divisor_override = null)
        {
            this.kernel_size = Args.Pair(kernel_size, nameof(kernel_size), 1);
            this.stride = stride is null ? (long[])this.kernel_size.Clone() : Args.Pair(stride, nameof(stride), 1);
            this.padding = Args.Pair(padding ?? [0], nameof(padding), 0);
            this.ceil_mode = ceil_mode;
            this.count_include_pad = count_include_pad;
            if (divisor_override is { } d && d <= 0) throw new ArgumentException("divisor must be not zero", nameof(divisor_override));
            this.divisor_override = divisor_override;
            for (int i = 0; i < 2; i++)
                if (this.padding[i] * 2 > this.kernel_size[i])
                    throw new ArgumentException($"pad should be at most half of kernel size, but got pad={Args.Tuple(this.padding)}, kernel_size={Args.Tuple(this.kernel_size)}", nameof(padding));
        }

        public override Tensor forward(Tensor input) =>
            F.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override);

        public override string extra_repr() =>
            $"kernel_size={Args.Tuple(kernel_size)}, stride={Args.Tuple(stride)}, padding={Args.Tuple(padding)}";
    }

    /// <summary>Average pooling to a fixed (H, W) output whatever the input size.</summary>
    public sealed class AdaptiveAvgPool2d : nn.Module<Tensor, Tensor>
    {
        public long[] output_size { get; }

        public AdaptiveAvgPool2d(long[] output_size) => this.output_size = Args.Pair(output_size, nameof(output_size), 1);

        public override Tensor forward(Tensor input)
        {
            Args.RequireDim(input, 3, 4, GetName());
            return F.adaptive_avg_pool2d(input, output_size);
        }

        public override string extra_repr() => $"output_size={Args.Tuple(output_size)}";
    }

    /// <summary>Resizes (N, C, H, W) input to a size or by a scale factor, as PyTorch's nn.Upsample.</summary>
    public sealed class Upsample : nn.Module<Tensor, Tensor>
    {
        public long[]? size { get; }
        public double[]? scale_factor { get; }
        public InterpolationMode mode { get; }
        public bool? align_corners { get; }

        public Upsample(long[]? size = null, double[]? scale_factor = null, InterpolationMode mode = InterpolationMode.Nearest, bool? align_corners = null)
        {
            if ((size is null) == (scale_factor is null))
                throw new ArgumentException("Upsample: give exactly one of size and scale_factor");
            if (mode == InterpolationMode.Nearest && align_corners.HasValue)
                throw new ArgumentException("align_corners option can only be set with the interpolating modes: bilinear | bicubic", nameof(align_corners));
            if (size is not null) size = Args.Pair(size, nameof(size), 1);
            if (scale_factor is not null)
            {
                if (scale_factor.Length == 1) scale_factor = [scale_factor[0], scale_factor[0]];
                if (scale_factor.Length != 2 || !(scale_factor[0] > 0 && scale_factor[1] > 0))
                    throw new ArgumentException("Upsample: scale_factor must be one or two positive numbers", nameof(scale_factor));
            }
            this.size = size;
            this.scale_factor = scale_factor;
            this.mode = mode;
            this.align_corners = align_corners;
        }

        public override Tensor forward(Tensor input) => F.interpolate(input, size, scale_factor, mode, align_corners);

        public override string extra_repr()
        {
            var sb = new StringBuilder();
            if (scale_factor is not null)
                sb.Append("scale_factor=").Append(scale_factor[0] == scale_factor[1] ? Args.Py(scale_factor[0]) : $"({Args.Py(scale_factor[0])}, {Args.Py(scale_factor[1])})");
            else sb.Append("size=").Append(Args.Tuple(size!));
            sb.Append(", mode='").Append(mode.ToString().ToLowerInvariant()).Append('\'');
            if (align_corners is { } a) sb.Append(", align_corners=").Append(Args.Py(a));
            return sb.ToString();
        }
    }
}

namespace MedDistill.Torch
{
    public static partial class torch
    {
        public static partial class nn
        {
            public static MaxPool2d MaxPool2d(long kernel_size, long? stride = null, long padding = 0, long dilation = 1, bool ceil_mode = false) =>
                new([kernel_size], stride is { } s ? [s] : null, [padding], [dilation], ceil_mode);
            public static MaxPool2d MaxPool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false) =>
                new(kernel_size, stride, padding, dilation, ceil_mode);

            /// <summary>PyTorch's MaxPool2d(..., return_indices=True): forward returns (output, indices).</summary>
            public static MaxPool2dWithIndices MaxPool2dWithIndices(long kernel_size, long? stride = null, long padding = 0, long dilation = 1, bool ceil_mode = false) =>
                new([kernel_size], stride is { } s ? [s] : null, [padding], [dilation], ceil_mode);
            public static MaxPool2dWithIndices MaxPool2dWithIndices(long[] kernel_size, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false) =>
                new(kernel_size, stride, padding, dilation, ceil_mode);

            public static MaxUnpool2d MaxUnpool2d(long kernel_size, long? stride = null, long padding = 0) =>
                new([kernel_size], stride is { } s ? [s] : null, [padding]);
            public static MaxUnpool2d MaxUnpool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null) =>
                new(kernel_size, stride, padding);

            public static AvgPool2d AvgPool2d(long kernel_size, long? stride = null, long padding = 0, bool ceil_mode = false,
                bool count_include_pad = true, long? divisor_override = null) =>
                new([kernel_size], stride is { } s ? [s] : null, [padding], ceil_mode, count_include_pad, divisor_override);
            public static AvgPool2d AvgPool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null, bool ceil_mode = false,
                bool count_include_pad = true, long? divisor_override = null) =>
                new(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override);

            public static AdaptiveAvgPool2d AdaptiveAvgPool2d(long output_size) => new([output_size]);
            public static AdaptiveAvgPool2d AdaptiveAvgPool2d(long[] output_size) => new(output_size);

            public static Upsample Upsample(long[]? size = null, double[]? scale_factor = null, InterpolationMode mode = InterpolationMode.Nearest,
                bool? align_corners = null) => new(size, scale_factor, mode, align_corners);
            public static Upsample Upsample(double scale_factor, InterpolationMode mode = InterpolationMode.Nearest, bool? align_corners = null) =>
                new(null, [scale_factor], mode, align_corners);
        }
    }
}
