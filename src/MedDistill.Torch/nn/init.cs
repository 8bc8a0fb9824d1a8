namespace MedDistill.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// Parameter initialisers of PyTorch's <c>torch.nn.init</c>. Each fills the tensor in place under no_grad and
        /// returns it. The bounds are computed with the same double arithmetic as PyTorch and the values drawn with
        /// libtorch's own <c>uniform_</c>/<c>normal_</c>, so with the same seed the results equal PyTorch's.
        /// </summary>
        public static class init
        {
            /// <summary>
            /// The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
            /// sqrt(2/(1+slope²)) for leaky_relu (slope <paramref name="param"/>, default 0.01), 3/4 for selu.
            /// </summary>
            public static double calculate_gain(string nonlinearity, double? param = null)
            {
                ArgumentNullException.ThrowIfNull(nonlinearity);
                switch (nonlinearity)
                {
                    case "linear" or "conv1d" or "conv2d" or "conv3d" or "conv_transpose1d" or "conv_transpose2d"
                        or "conv_transpose3d" or "sigmoid":
                        return 1;
                    case "tanh":
                        return 5.0 / 3;
                    case "relu":
                        return Math.Sqrt(2.0);
                    case "leaky_relu":
                        double slope = param ?? 0.01;
                        return Math.Sqrt(2.0 / (1 + Math.Pow(slope, 2)));
                    case "selu":
                        return 3.0 / 4;
                    default:
                        throw new ArgumentException($"Unsupported nonlinearity {nonlinearity}", nameof(nonlinearity));
                }
            }

            /// <summary>PyTorch's fan computation: fan_in = size(1)·receptive field, fan_out = size(0)·receptive field.</summary>
            public static (long fan_in, long fan_out) calculate_fan_in_and_fan_out(Tensor tensor)
            {
                ArgumentNullException.ThrowIfNull(tensor);
                var shape = tensor.shape;
                if (shape.Length < 2)
                    throw new ArgumentException("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions", nameof(tensor));
                long receptive = 1;
                for (int i = 2; i < shape.Length; i++) receptive *= shape[i];
                return (shape[1] * receptive, shape[0] * receptive);
            }

            private static long Fan(Tensor tensor, string mode)
            {
                var (fanIn, fanOut) = calculate_fan_in_and_fan_out(tensor);
                return mode switch
                {
                    "fan_in" => fanIn,
                    "fan_out" => fanOut,
                    _ => throw new ArgumentException($"Mode {mode} not supported, please use one of fan_in, fan_out", nameof(mode)),
                };
            }

            public static Tensor uniform_(Tensor tensor, double a = 0, double b = 1)
            {
                ArgumentNullException.ThrowIfNull(tensor);
                using var _ = no_grad();
                return tensor.uniform_(a, b);
            }

            public static Tensor normal_(Tensor tensor, double mean = 0, double std = 1)
            {
                ArgumentNullException.ThrowIfNull(tensor);
                using var _ = no_grad();
                return tensor.normal_(mean, std);
            }

            public static Tensor constant_(Tensor tensor, Scalar val)
            {
                ArgumentNullException.ThrowIfNull(tensor);
                using var _ = no_grad();
                return tensor.fill_(val);
            }

            public static Tensor zeros_(Tensor tensor)
            {
                ArgumentNullException.ThrowIfNull(tensor);
                using var _ = no_grad();
                return tensor.zero_();
            }

            public static Tensor ones_(Tensor tensor) => constant_(tensor, 1);

            /// <summary>He initialisation, uniform on ±gain·sqrt(3/fan).</summary>
            public static Tensor kaiming_uniform_(Tensor tensor, double a = 0, string mode = "fan_in", string nonlinearity = "leaky_relu")
            {
                if (KaimingStd(tensor, a, mode, nonlinearity) is not double std) return tensor;
                double bound = Math.Sqrt(3.0) * std;
                return uniform_(tensor, -bound, bound);
            }

            /// <summary>He initialisation, normal with std gain/sqrt(fan).</summary>
            public static Tensor kaiming_normal_(Tensor tensor, double a = 0, string mode = "fan_in", string nonlinearity = "leaky_relu")
            {
                if (KaimingStd(tensor, a, mode, nonlinearity) is not double std) return tensor;
                return normal_(tensor, 0, std);
            }

            /// <summary>gain/sqrt(fan) for He initialisation; null for a zero-element tensor, which PyTorch leaves alone.</summary>
            private static double? KaimingStd(Tensor tensor, double a, string mode, string nonlinearity)
            {
                ArgumentNullException.ThrowIfNull(tensor);
                if (tensor.numel() == 0) return null;
                return calculate_gain(nonlinearity, a) / Math.Sqrt(Fan(tensor, mode));
            }

            /// <summary>Glorot initialisation, uniform on ±gain·sqrt(6/(fan_in+fan_out)).</summary>
            public static Tensor xavier_uniform_(Tensor tensor, double gain = 1)
            {
                ArgumentNullException.ThrowIfNull(tensor);
                var (fanIn, fanOut) = calculate_fan_in_and_fan_out(tensor);
                if (tensor.numel() == 0) return tensor;
                double std = gain * Math.Sqrt(2.0 / (fanIn + fanOut));
                double a = Math.Sqrt(3.0) * std;
                return uniform_(tensor, -a, a);
            }

            /// <summary>Glorot initialisation, normal with std gain·sqrt(2/(fan_in+fan_out)).</summary>
            public static Tensor xavier_normal_(Tensor tensor, double gain = 1)
            {
                ArgumentNullException.ThrowIfNull(tensor);
                var (fanIn, fanOut) = calculate_fan_in_and_fan_out(tensor);
                if (tensor.numel() == 0) return tensor;
                double std = gain * Math.Sqrt(2.0 / (fanIn + fanOut));
                return normal_(tensor, 0, std);
            }
        }
    }
}
