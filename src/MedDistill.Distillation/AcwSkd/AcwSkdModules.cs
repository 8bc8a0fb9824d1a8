using MedDistill.Torch;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.AcwSkd;

/// <summary>
/// The feature reconstruction module (FRM): maps the aux branch's features into the final branch's penultimate feature
/// space, so the final branch's own features serve as the next-stage target and no extra intermediate branch is needed.
/// Map level (<c>map.*</c>): 1×1 conv (no bias: BN follows) – BN – ReLU – 3×3 conv, Ca → hidden → Cp, applied to the aux
/// map after it is resized to the penultimate size. Class level (<c>proto.*</c>, optional): Linear Ca → hidden – ReLU –
/// Linear hidden → Cp on class prototypes; no BN there, because a batch of N·K prototypes mixes absent classes in.
/// Trained with the network, dropped at inference.
/// </summary>
public sealed class FeatureReconstruction : nn.Module
{
    private readonly Sequential map;
    private readonly Linear? protoHidden;
    private readonly Linear? protoOut;

    public FeatureReconstruction(long auxChannels, long targetChannels, long hidden = 0, bool classLevel = true,
        Device? device = null, ScalarType? dtype = null)
    {
        if (auxChannels < 1 || targetChannels < 1 || hidden < 0)
            throw new ArgumentException($"{nameof(FeatureReconstruction)}: channel counts must be positive, got {auxChannels} → {targetChannels} (hidden {hidden})");
        AuxChannels = auxChannels;
        TargetChannels = targetChannels;
        Hidden = hidden == 0 ? targetChannels : hidden;
        map = nn.Sequential(
            ("reduce", nn.Conv2d(auxChannels, Hidden, 1, bias: false, device: device, dtype: dtype)),
            ("bn", nn.BatchNorm2d(Hidden, device: device, dtype: dtype)),
            ("relu", nn.ReLU()),
            ("out", nn.Conv2d(Hidden, targetChannels, 3, padding: 1, device: device, dtype: dtype)));
        register_module("map", map);
        if (classLevel)
        {
            protoHidden = nn.Linear(auxChannels, Hidden, device: device, dtype: dtype);
            protoOut = nn.Linear(Hidden, targetChannels, device: device, dtype: dtype);
            register_module("proto_hidden", protoHidden);
            register_module("proto_out", protoOut);
        }
    }

    public long AuxChannels { get; }
    public long TargetChannels { get; }
    public long Hidden { get; }
    public bool ClassLevel => protoOut is not null;

    /// <summary>The map-level head (for tests and inspection).</summary>
    public Sequential MapHead => map;

    /// <summary>Reconstructs a (N, Cp, h, w) penultimate map from aux features (N, Ca, h', w'), resized first.</summary>
    public Tensor ReconstructMap(Tensor auxFeatures, long h, long w, InterpolationMode resize = InterpolationMode.Bilinear)
    {
        var shape = TensorChecks.Map(auxFeatures, nameof(auxFeatures), nameof(FeatureReconstruction));
        if (shape[1] != AuxChannels)
            throw new ArgumentException($"{nameof(FeatureReconstruction)}: built for {AuxChannels} aux channels, got {TensorChecks.Shape(auxFeatures)}");
        return map.call(TensorChecks.ResizeTo(auxFeatures, h, w, resize));
    }

    /// <summary>Reconstructs (N, K, Cp) final-branch prototypes from (N, K, Ca) aux prototypes.</summary>
    public Tensor ReconstructPrototypes(Tensor auxPrototypes)
    {
        if (protoHidden is null || protoOut is null) throw new InvalidOperationException($"{nameof(FeatureReconstruction)} was built without its class level");
        return protoOut.call(protoHidden.call(auxPrototypes).relu());
    }

    public override string extra_repr() => $"{AuxChannels} → {Hidden} → {TargetChannels}, class level={ClassLevel}";
}

/// <summary>
/// CTKD-style learnable temperature: one raw parameter <c>t</c> (shape [1]), τ = τ_min + (τ_max − τ_min)·sigmoid(t), so τ
/// stays in (τ_min, τ_max) whatever the optimiser does. It becomes adversarial only through
/// <see cref="AcwSkdLosses.GradientReversal"/> between τ and the loss.
/// </summary>
public sealed class LearnableTemperature : nn.Module
{
    private readonly nn.Parameter raw;

    public LearnableTemperature(double min, double max, double initial, Device? device = null, ScalarType? dtype = null)
    {
        if (!(min > 0 && min < initial && initial < max && double.IsFinite(max)))
            throw new ArgumentException($"{nameof(LearnableTemperature)}: need 0 < min < initial < max, got {min}, {initial}, {max}");
        Min = min;
        Max = max;
        double q = (initial - min) / (max - min);
        using var data = full([1], Math.Log(q / (1 - q)), dtype ?? ScalarType.Float32, device);
        raw = new nn.Parameter(data);
        register_parameter("t", raw);
    }

    public double Min { get; }
    public double Max { get; }

    /// <summary>The raw parameter t.</summary>
    public nn.Parameter Raw => raw;

    /// <summary>τ as a 0-dim tensor with autograd history to t.</summary>
    public Tensor Temperature() => raw.sum().sigmoid().mul(Max - Min).add(Min);

    /// <summary>τ now, read to the host (for logs).</summary>
    public double Value
    {
        get
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            return Temperature().to(ScalarType.Float64).item<double>();
        }
    }
}

/// <summary>ACW-SKD's trainable parts for checkpoints: <c>frm.*</c> and <c>temperature.t</c>, each only when its term runs.</summary>
public sealed class AcwSkdModules : nn.Module
{
    public AcwSkdModules(FeatureReconstruction? frm, LearnableTemperature? temperature)
    {
        Frm = frm;
        Temperature = temperature;
        if (frm is not null) register_module("frm", frm);
        if (temperature is not null) register_module("temperature", temperature);
    }

    public FeatureReconstruction? Frm { get; }
    public LearnableTemperature? Temperature { get; }
}
