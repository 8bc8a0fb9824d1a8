using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Torch.Modules
{
    /// <summary>Returns its input unchanged (the same object).</summary>
    public sealed class Identity : nn.Module<Tensor, Tensor>
    {
        public override Tensor forward(Tensor input) => input;
    }

    public sealed class ReLU : nn.Module<Tensor, Tensor>
    {
        public override Tensor forward(Tensor input) => F.relu(input);
    }

    /// <summary>
    /// min(max(0, x), 6), PyTorch's nn.ReLU6 (MobileNetV2's activation), composed from hardtanh(x, 0, 6): the same values and,
    /// like PyTorch's, zero gradient outside the open interval (0, 6).
    /// </summary>
    public sealed class ReLU6 : nn.Module<Tensor, Tensor>
    {
        public override Tensor forward(Tensor input) => F.hardtanh(input, 0, 6);
    }

    public sealed class LeakyReLU(double negative_slope = 0.01) : nn.Module<Tensor, Tensor>
    {
        public double negative_slope { get; } = negative_slope;
        public override Tensor forward(Tensor input) => F.leaky_relu(input, negative_slope);
        public override string extra_repr() => $"negative_slope={Args.Py(negative_slope)}";
    }

    public sealed class GELU(string approximate = "none") : nn.Module<Tensor, Tensor>
    {
        public string approximate { get; } = approximate is "none" or "tanh"
            ? approximate : throw new ArgumentException($"approximate must be 'none' or 'tanh', got '{approximate}'", nameof(approximate));
        public override Tensor forward(Tensor input) => F.gelu(input, approximate);
        public override string extra_repr() => $"approximate='{approximate}'";
    }

    public sealed class Sigmoid : nn.Module<Tensor, Tensor>
    {
        public override Tensor forward(Tensor input) => input.sigmoid();
    }

    public sealed class Tanh : nn.Module<Tensor, Tensor>
    {
        public override Tensor forward(Tensor input) => input.tanh();
    }

    /// <summary>
    /// PReLU(x) = max(0, x) + a·min(0, x) with a learnable <c>weight</c> a of shape [num_parameters]: one slope shared
    /// by all channels, or one per channel (dimension 1 of the input). Initialised to <c>init</c> (0.25).
    /// </summary>
    public sealed class PReLU : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Parameter weight_;
        public long num_parameters { get; }
        public double init { get; }

        public PReLU(long num_parameters = 1, double init = 0.25, Device? device = null, ScalarType? dtype = null)
        {
            this.num_parameters = Args.Positive(num_parameters, nameof(num_parameters));
            this.init = init;
            using (var w = full([num_parameters], init, dtype ?? ScalarType.Float32, device)) weight_ = new nn.Parameter(w);
            register_parameter("weight", weight_);
        }

        public nn.Parameter weight => weight_;

        public void reset_parameters() => nn.init.constant_(weight_, init);

        public override Tensor forward(Tensor input)
        {
            if (num_parameters > 1)
            {
                // As in PyTorch, the channel dimension is dim 1; inputs with fewer dimensions have one channel.
                long channels = input.dim() >= 2 ? input.size(1) : 1;
                if (channels != num_parameters)
                    throw new ArgumentException($"PReLU: input has {channels} channels but the layer has {num_parameters} slopes", nameof(input));
            }
            return F.prelu(input, weight_);
        }

        public override string extra_repr() => $"num_parameters={num_parameters}";
    }

    /// <summary>Zeroes elements with probability p during training and scales the rest by 1/(1-p); identity in eval mode.</summary>
    public sealed class Dropout(double p = 0.5) : nn.Module<Tensor, Tensor>
    {
        public double p { get; } = Args.Probability(p);
        public override Tensor forward(Tensor input) => F.dropout(input, p, training);
        public override string extra_repr() => $"p={Args.Py(p)}, inplace=False";
    }

    /// <summary>Zeroes whole channels with probability p during training (input (N, C, H, W) or (C, H, W)); identity in eval.</summary>
    public sealed class Dropout2d(double p = 0.5) : nn.Module<Tensor, Tensor>
    {
        public double p { get; } = Args.Probability(p);
        public override Tensor forward(Tensor input) => F.dropout2d(input, p, training);
        public override string extra_repr() => $"p={Args.Py(p)}, inplace=False";
    }

    /// <summary>y = x·Wᵀ + b with weight [out_features, in_features] and bias [out_features], as PyTorch's nn.Linear.</summary>
    public sealed class Linear : WeightedLayer
    {
        public long in_features { get; }
        public long out_features { get; }

        public Linear(long in_features, long out_features, bool bias = true, Device? device = null, ScalarType? dtype = null)
        {
            this.in_features = Args.Positive(in_features, nameof(in_features));
            this.out_features = Args.Positive(out_features, nameof(out_features));
            CreateParameters([out_features, in_features], bias ? out_features : null, device, dtype);
        }

        public override Tensor forward(Tensor input)
        {
            long last = input.dim() == 0 ? -1 : input.size(-1);
            if (last != in_features)
                throw new ArgumentException($"Linear: input's last dimension is {last} but in_features is {in_features} (input shape {nn.Module.FormatShape(input.shape)})", nameof(input));
            return F.linear(input, weight, bias);
        }

        public override string extra_repr() => $"in_features={in_features}, out_features={out_features}, bias={Args.Py(bias is not null)}";
    }
}

namespace MedDistill.Torch
{
    public static partial class torch
    {
        public static partial class nn
        {
            public static Identity Identity() => new();
            public static ReLU ReLU() => new();
            public static ReLU6 ReLU6() => new();
            public static LeakyReLU LeakyReLU(double negative_slope = 0.01) => new(negative_slope);
            public static GELU GELU(string approximate = "none") => new(approximate);
            public static Sigmoid Sigmoid() => new();
            public static Tanh Tanh() => new();
            public static PReLU PReLU(long num_parameters = 1, double init = 0.25, Device? device = null, ScalarType? dtype = null) =>
                new(num_parameters, init, device, dtype);
            public static Dropout Dropout(double p = 0.5) => new(p);
            public static Dropout2d Dropout2d(double p = 0.5) => new(p);
            public static Linear Linear(long in_features, long out_features, bool bias = true, Device? device = null, ScalarType? dtype = null) =>
                new(in_features, out_features, bias, device, dtype);
        }
    }
}
