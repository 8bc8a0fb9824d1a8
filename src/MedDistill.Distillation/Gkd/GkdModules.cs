using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation.Gkd;

/// <summary>
/// One model-specific alignment network (MSAN) header: TAN for the teacher, SAN for the student. It maps a network's
/// feature map F (N, C, h, w) to a semantic vector v (N, D) and back, so vectors of networks of any width live in one
/// D-dimensional space and either network's vector can be restored into the other's feature space (DICD).
/// <para>
/// <see cref="Align"/>: 1×1 conv C → D, adaptive average pool to g×g, per-channel MLP g² → hidden → 1 with GELU (the
/// authors' <c>Mlp</c> compresses each channel's flattened 16×16 grid 256 → 64 → 1). <see cref="Restore"/>: per-channel
/// MLP 1 → hidden → g² with GELU, reshape to D×g×g, bilinear upsample to h×w, 1×1 conv D → C.
/// </para>
/// <para>
/// Both take <c>frozen</c>: the same computation on detached weights, so gradients pass through the header to its input
/// without training it (GKD keeps TAN out of the student's losses; see <see cref="GkdMethod"/>).
/// </para>
/// </summary>
public sealed class MsanHeader : nn.Module
{
    private readonly Conv2d project, unproject;
    private readonly Linear squeezeHidden, squeezeOut, expandHidden, expandOut;

    public MsanHeader(long channels, int semanticDim, int grid, int hidden, Device? device = null, ScalarType? dtype = null)
    {
        if (channels < 1 || semanticDim < 1 || grid < 1 || hidden < 1)
            throw new ArgumentException($"{nameof(MsanHeader)}: sizes must be positive, got channels {channels}, D {semanticDim}, grid {grid}, hidden {hidden}");
        Channels = channels;
        SemanticDim = semanticDim;
        Grid = grid;
        Hidden = hidden;
        long cells = (long)grid * grid;
        project = nn.Conv2d(channels, semanticDim, 1, device: device, dtype: dtype);
        squeezeHidden = nn.Linear(cells, hidden, device: device, dtype: dtype);
        squeezeOut = nn.Linear(hidden, 1, device: device, dtype: dtype);
        expandHidden = nn.Linear(1, hidden, device: device, dtype: dtype);
        expandOut = nn.Linear(hidden, cells, device: device, dtype: dtype);
        unproject = nn.Conv2d(semanticDim, channels, 1, device: device, dtype: dtype);
        register_module("project", project);
        register_module("squeeze_hidden", squeezeHidden);
        register_module("squeeze_out", squeezeOut);
        register_module("expand_hidden", expandHidden);
        register_module("expand_out", expandOut);
        register_module("unproject", unproject);
    }

    /// <summary>C, the channels of the network's tap this header reads and restores.</summary>
    public long Channels { get; }
    public int SemanticDim { get; }
    public int Grid { get; }
    public int Hidden { get; }

    /// <summary>The dtype of the header's weights, which its inputs must have.</summary>
    public ScalarType Dtype => project.weight.dtype;

    /// <summary>The semantic vector (N, D) of a feature map (N, C, h, w).</summary>
    public Tensor Align(Tensor features, bool frozen = false)
    {
        var shape = TensorChecks.Map(features, nameof(features), nameof(MsanHeader) + "." + nameof(Align));
        if (shape[1] != Channels)
            throw new ArgumentException($"{nameof(MsanHeader)}: built for {Channels} channels, got a map of shape {TensorChecks.Shape(features)}");
        var projected = F.conv2d(features, W(project.weight, frozen), B(project.bias, frozen));
        var cells = F.adaptive_avg_pool2d(projected, [Grid, Grid]).flatten(2);                           // (N, D, g²)
        var hidden = F.gelu(F.linear(cells, W(squeezeHidden.weight, frozen), B(squeezeHidden.bias, frozen)));
        return F.linear(hidden, W(squeezeOut.weight, frozen), B(squeezeOut.bias, frozen)).squeeze(2); // (N, D)
    }

    /// <summary>A feature map (N, C, h, w) restored from semantic vectors (N, D).</summary>
    public Tensor Restore(Tensor vectors, long h, long w, bool frozen = false)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        if (vectors.dim() != 2 || vectors.size(1) != SemanticDim)
            throw new ArgumentException($"{nameof(MsanHeader)}.{nameof(Restore)}: vectors must be (N, {SemanticDim}), got {TensorChecks.Shape(vectors)}");
        if (h < 1 || w < 1) throw new ArgumentException($"{nameof(MsanHeader)}.{nameof(Restore)}: size must be positive, got {h}×{w}");
        var hidden = F.gelu(F.linear(vectors.unsqueeze(2), W(expandHidden.weight, frozen), B(expandHidden.bias, frozen)));
        var cells = F.linear(hidden, W(expandOut.weight, frozen), B(expandOut.bias, frozen));          // (N, D, g²)
        var grid = cells.view(vectors.size(0), SemanticDim, Grid, Grid);
        var map = TensorChecks.ResizeTo(grid, h, w);
        return F.conv2d(map, W(unproject.weight, frozen), B(unproject.bias, frozen));
    }

    private static Tensor W(nn.Parameter p, bool frozen) => frozen ? p.detach() : p;
    private static Tensor? B(nn.Parameter? p, bool frozen) => p is null ? null : frozen ? p.detach() : p;

    public override string extra_repr() => $"{Channels} → D={SemanticDim} (grid {Grid}×{Grid}, hidden {Hidden}) → {Channels}";
}

/// <summary>GKD's trainable parts for checkpoints: <c>tan.*</c> (the teacher's header) and <c>san.*</c> (the student's).</summary>
public sealed class GkdModules : nn.Module
{
    public GkdModules(MsanHeader tan, MsanHeader san)
    {
        if (tan.SemanticDim != san.SemanticDim)
            throw new ArgumentException($"{nameof(GkdModules)}: TAN and SAN must share the semantic dimension, got {tan.SemanticDim} and {san.SemanticDim}");
        Tan = tan;
        San = san;
        register_module("tan", tan);
        register_module("san", san);
    }

    public MsanHeader Tan { get; }
    public MsanHeader San { get; }
}
