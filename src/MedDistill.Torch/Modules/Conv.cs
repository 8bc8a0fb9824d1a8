using System.Text;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Torch.Modules
{
    /// <summary>Shared parts of Conv2d and ConvTranspose2d: shapes, PyTorch's default initialisation, description.</summary>
    public abstract class ConvNd : WeightedLayer
    {

        public long in_channels { get; }
        public long out_channels { get; }
        public long[] kernel_size { get; }
        public long[] stride { get; }
        public long[] padding { get; }
        public long[] dilation { get; }
        public long groups { get; }
        public string padding_mode { get; }
        public bool transposed { get; }

        private protected ConvNd(long in_channels, long out_channels, long[] kernel_size, long[] stride, long[] padding,
            long[] dilation, long groups, bool bias, string padding_mode, bool transposed, Device? device, ScalarType? dtype)
        {
            this.in_channels = Args.Positive(in_channels, nameof(in_channels));
            this.out_channels = Args.Positive(out_channels, nameof(out_channels));
            this.groups = Args.Positive(groups, nameof(groups));
            if (in_channels % groups != 0) throw new ArgumentException("in_channels must be divisible by groups", nameof(in_channels));
            if (out_channels % groups != 0) throw new ArgumentException("out_channels must be divisible by groups", nameof(out_channels));
            if (padding_mode != "zeros")
                throw new NotSupportedException($"padding_mode '{padding_mode}' is not supported; only 'zeros' is (pad with nn.functional.pad first)");
            this.kernel_size = Args.Pair(kernel_size, nameof(kernel_size), 1);
            this.stride = Args.Pair(stride, nameof(stride), 1);
            this.padding = Args.Pair(padding, nameof(padding), 0);
            this.dilation = Args.Pair(dilation, nameof(dilation), 1);
            this.padding_mode = padding_mode;
            this.transposed = transposed;

            long[] shape = transposed
                ? [in_channels, out_channels / groups, this.kernel_size[0], this.kernel_size[1]]
                : [out_channels, in_channels / groups, this.kernel_size[0], this.kernel_size[1]];
            // Shape [out, in/groups, kH, kW] (Conv2d) or [in, out/groups, kH, kW] (ConvTranspose2d), as PyTorch's.
            CreateParameters(shape, bias ? out_channels : null, device, dtype);
        }

        private protected void CheckInput(Tensor input)
        {
            Args.RequireDim(input, 3, 4, GetName());
            long channels = input.size(-3);
            if (channels != in_channels)
                throw new ArgumentException($"{GetName()}: expected input with {in_channels} channels, got {channels} (input shape {nn.Module.FormatShape(input.shape)})", nameof(input));
        }

        public override string extra_repr()
        {
            var sb = new StringBuilder($"{in_channels}, {out_channels}, kernel_size={Args.Tuple(kernel_size)}, stride={Args.Tuple(stride)}");
            if (padding[0] != 0 || padding[1] != 0) sb.Append($", padding={Args.Tuple(padding)}");
            if (dilation[0] != 1 || dilation[1] != 1) sb.Append($", dilation={Args.Tuple(dilation)}");
            AppendExtra(sb);
            if (groups != 1) sb.Append($", groups={groups}");
            if (bias is null) sb.Append(", bias=False");
            return sb.ToString();
        }

        private protected virtual void AppendExtra(StringBuilder sb) { }
    }

    /// <summary>2-D convolution over (N, C, H, W) or (C, H, W) input, as PyTorch's nn.Conv2d.</summary>
    public sealed class Conv2d : ConvNd
    {
        public Conv2d(long in_channels, long out_channels, long[] kernel_size, long[]? stride = null, long[]? padding = null,
            long[]? dilation = null, long groups = 1, bool bias = true, string padding_mode = "zeros", Device? device = null, ScalarType? dtype = null)
            : base(in_channels, out_channels, kernel_size, stride ?? [1], padding ?? [0], dilation ?? [1], groups, bias, padding_mode,
                transposed: false, device, dtype)
        {
        }

        public override Tensor forward(Tensor input)
        {
            CheckInput(input);
            return F.conv2d(input, weight, bias, stride, padding, dilation, groups);
        }
    }

    /// <summary>2-D transposed convolution ("deconvolution"), as PyTorch's nn.ConvTranspose2d.</summary>
    public sealed class ConvTranspose2d : ConvNd
    {
        public long[] output_padding { get; }

        public ConvTranspose2d(long in_channels, long out_channels, long[] kernel_size, long[]? stride = null, long[]? padding = null,
            long[]? output_padding = null, long groups = 1, bool bias = true, long[]? dilation = null, string padding_mode = "zeros",
            Device? device = null, ScalarType? dtype = null)
            : base(in_channels, out_channels, kernel_size, stride ?? [1], padding ?? [0], dilation ?? [1], groups, bias, padding_mode,
                transposed: true, device, dtype)
        {
            this.output_padding = Args.Pair(output_padding ?? [0], nameof(output_padding), 0);
            for (int i = 0; i < 2; i++)
                if (this.output_padding[i] >= this.stride[i] && this.output_padding[i] >= this.dilation[i])
                    throw new ArgumentException(
                        $"output_padding must be smaller than either stride or dilation, got output_padding={Args.Tuple(this.output_padding)}, stride={Args.Tuple(this.stride)}, dilation={Args.Tuple(this.dilation)}",
                        nameof(output_padding));
        }

        public override Tensor forward(Tensor input)
        {
            CheckInput(input);
            return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation);
        }

        private protected override void AppendExtra(StringBuilder sb)
        {
            if (output_padding[0] != 0 || output_padding[1] != 0) sb.Append($", output_padding={Args.Tuple(output_padding)}");
        }
    }
}

namespace MedDistill.Torch
{
    public static partial class torch
    {
        public static partial class nn
        {
            public static Conv2d Conv2d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0,
                long dilation = 1, long groups = 1, bool bias = true, string padding_mode = "zeros", Device? device = null, ScalarType? dtype = null) =>
                new(in_channels, out_channels, [kernel_size], [stride], [padding], [dilation], groups, bias, padding_mode, device, dtype);

            public static Conv2d Conv2d(long in_channels, long out_channels, long[] kernel_size, long[]? stride = null, long[]? padding = null,
                long[]? dilation = null, long groups = 1, bool bias = true, string padding_mode = "zeros", Device? device = null, ScalarType? dtype = null) =>
                new(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, dtype);

            public static ConvTranspose2d ConvTranspose2d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0,
                long output_padding = 0, long groups = 1, bool bias = true, long dilation = 1, string padding_mode = "zeros",
                Device? device = null, ScalarType? dtype = null) =>
                new(in_channels, out_channels, [kernel_size], [stride], [padding], [output_padding], groups, bias, [dilation], padding_mode, device, dtype);

            public static ConvTranspose2d ConvTranspose2d(long in_channels, long out_channels, long[] kernel_size, long[]? stride = null,
                long[]? padding = null, long[]? output_padding = null, long groups = 1, bool bias = true, long[]? dilation = null,
                string padding_mode = "zeros", Device? device = null, ScalarType? dtype = null) =>
                new(in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation, padding_mode, device, dtype);
        }
    }
}
