using MedDistill.Torch;
using MedDistill.Torch.Modules;

namespace MedDistill.Models.Profiling;

/// <summary>What kind of work a layer is, for the per-layer listing.</summary>
public enum LayerKind
{
    Convolution,
    TransposedConvolution,
    Linear,
    BatchNorm,
    Activation,
    Pooling,
    Upsample,
}

/// <summary>
/// The cost of one call of a layer from its input and output shapes, in both conventions.
/// <para>
/// The paper convention follows ptflops 0.6.5–0.7.0 (read from its source, <c>pytorch_ops.py</c>/<c>flops_counter.py</c>):
/// a layer is counted only when its type is EXACTLY one of ptflops' table (a subclass is a zero-op, as with
/// <c>type(module) in MODULES_MAPPING</c>); ConvTranspose2d uses the plain convolution hook, so its kernel is counted at
/// every output position; MaxUnpool2d, Dropout, Identity, Sigmoid, Tanh, softmax and every functional call (F.relu,
/// F.interpolate, the + of a residual, torch.cat) count nothing. GELU is counted as an activation as in 0.6.8 and later
/// (0.6.5–0.6.7 did not count it; no network of the zoo uses it).
/// </para>
/// <para>
/// The true count is the multiply-accumulates of convolutions and Linear layers only: a convolution costs
/// (in/groups)·kH·kW MACs per output element; a transposed convolution scatters each INPUT element through
/// (out/groups)·kH·kW weights, so it costs that per input element. Dilation changes neither.
/// </para>
/// </summary>
public static class CostRules
{
    private static readonly Dictionary<Type, LayerKind> paperTable = new()
    {
        [typeof(Conv2d)] = LayerKind.Convolution,
        [typeof(ConvTranspose2d)] = LayerKind.TransposedConvolution,
        [typeof(Linear)] = LayerKind.Linear,
        [typeof(BatchNorm2d)] = LayerKind.BatchNorm,
        [typeof(ReLU)] = LayerKind.Activation,
        [typeof(ReLU6)] = LayerKind.Activation,
        [typeof(PReLU)] = LayerKind.Activation,
        [typeof(LeakyReLU)] = LayerKind.Activation,
        [typeof(GELU)] = LayerKind.Activation,
        [typeof(MaxPool2d)] = LayerKind.Pooling,
        // PyTorch's MaxPool2d(return_indices=True) is the same class as a plain MaxPool2d, so ptflops counts it.
        [typeof(MaxPool2dWithIndices)] = LayerKind.Pooling,
        [typeof(AvgPool2d)] = LayerKind.Pooling,
        [typeof(AdaptiveAvgPool2d)] = LayerKind.Pooling,
        [typeof(Upsample)] = LayerKind.Upsample,
    };

    /// <summary>
    /// The layer's kind when ptflops has a rule for its exact type, else null. Such a module is a leaf of ptflops'
    /// sum: its own count is taken and its children are not visited.
    /// </summary>
    public static LayerKind? PaperKind(torch.nn.Module module) =>
        paperTable.TryGetValue(module.GetType(), out var kind) ? kind : null;

    /// <summary>True multiply-accumulates of one call (convolutions and Linear; zero for every other layer).</summary>
    public static long TrueMacs(torch.nn.Module module, long[] input, long[] output)
    {
        switch (module)
        {
            case ConvTranspose2d t:
                // Each input element meets (out/groups)·kH·kW weights.
                return Elements(input) * (t.out_channels / t.groups) * t.kernel_size[0] * t.kernel_size[1];
            case Conv2d c:
                // Each output element sums (in/groups)·kH·kW products.
                return Elements(output) * (c.in_channels / c.groups) * c.kernel_size[0] * c.kernel_size[1];
            case Linear l:
                return Elements(input) * l.out_features;
            default:
                return 0;
        }
    }

    /// <summary>ptflops' count for one call; zero for a type outside its table.</summary>
    public static PaperMacs PaperMacs(torch.nn.Module module, long[] input, long[] output)
    {
        switch (PaperKind(module))
        {
            case LayerKind.Convolution or LayerKind.TransposedConvolution:
            {
                var conv = (ConvNd)module;
                // ptflops: kernel·in·(out/groups) per output position (the same formula for transposed layers),
                // plus out_channels per output position with a bias.
                long positions = output[0] * SpatialElements(output);
                long grid = positions * conv.kernel_size[0] * conv.kernel_size[1] * conv.in_channels * (conv.out_channels / conv.groups);
                long bias = conv.bias is null ? 0 : positions * conv.out_channels;
                long truth = TrueMacs(module, input, output);
                return new PaperMacs(truth, grid - truth, bias, 0, 0, 0, 0, 0);
            }
            case LayerKind.Linear:
            {
                var linear = (Linear)module;
                // ptflops adds the bias once per call (out_features), not once per input row.
                long count = Elements(input) * linear.out_features + (linear.bias is null ? 0 : linear.out_features);
                return new PaperMacs(0, 0, 0, count, 0, 0, 0, 0);
            }
            case LayerKind.BatchNorm:
                return new PaperMacs(0, 0, 0, 0, Elements(input) * (((BatchNorm2d)module).affine ? 2 : 1), 0, 0, 0);
            case LayerKind.Activation:
                return new PaperMacs(0, 0, 0, 0, 0, Elements(output), 0, 0);
            case LayerKind.Pooling:
                return new PaperMacs(0, 0, 0, 0, 0, 0, Elements(input), 0);
            case LayerKind.Upsample:
                // ptflops multiplies out the shape of output[0], i.e. the first image only.
                return new PaperMacs(0, 0, 0, 0, 0, 0, 0, output.Length == 0 ? 0 : Elements(output) / Math.Max(1, output[0]));
            default:
                return default;
        }
    }

    private static long Elements(long[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    // Convolutions see (N, C, H, W); ptflops multiplies the batch by the dimensions after the channel.
    private static long SpatialElements(long[] shape)
    {
        long n = 1;
        for (int i = 2; i < shape.Length; i++) n *= shape[i];
        return n;
    }
}
