using MedDistill.Distillation.AcwSkd;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.Baselines;

/// <summary>
/// <c>byot</c>: self-distillation in the style of "Be Your Own Teacher" (Zhang et al., ICCV 2019) with the single auxiliary
/// head of resnet18-unet as the shallow classifier and the final head as its teacher. Terms, in order, restricted to
/// <see cref="ByotOptions.Terms"/>:
/// <list type="bullet">
/// <item><c>ce</c>: cross-entropy of the aux logits, resized (bilinear) to the label, against the label;</item>
/// <item><c>kl</c>: τ²·KL(softmax(z_final/τ) ‖ softmax(z_aux/τ)), the aux logits resized to the final map, final detached,
/// averaged over pixels (<see cref="AcwSkdLosses.TemperatureKd"/> with a fixed τ);</item>
/// <item><c>hint</c>: mean squared error between a 1×1 adapter of the aux features (aux → penultimate channels, resized to
/// the penultimate map) and the detached penultimate features (<see cref="BaselineLosses.Hint"/>).</item>
/// </list>
/// As ACW-SKD, it reads only the network's own maps: <see cref="TeacherTaps"/> is empty and the teacher argument is unused.
/// </summary>
public sealed class ByotMethod : IDistillationMethod
{
    public const string MethodName = "byot";
    public const string CrossEntropyTerm = "ce";
    public const string KlTerm = "kl";
    public const string HintTerm = "hint";

    private readonly IReadOnlyList<string> terms;
    private readonly BaselineAdapters? adapters;

    /// <summary>Builds the method for known channel counts of the aux-features and penultimate taps (read only for the hint).</summary>
    public ByotMethod(ByotOptions? options, long auxChannels, long penultimateChannels, Device? device = null, ScalarType? dtype = null)
    {
        Options = options ?? new ByotOptions();
        Options.Validate();
        terms = Options.TermList;
        var o = Options;
        bool hint = terms.Contains(HintTerm);
        if (hint) adapters = new BaselineAdapters([(HintTerm, auxChannels, penultimateChannels)], o.AdapterBias, device, dtype);
        var taps = new List<string>();
        if (terms.Contains(CrossEntropyTerm) || terms.Contains(KlTerm)) taps.Add(o.AuxLogitsTap);
        if (hint) taps.AddRange([o.AuxFeaturesTap, o.PenultimateTap]);
        StudentTaps = Taps.Requested(taps);
    }

    /// <summary>As above, the channel counts probed from <paramref name="student"/> (when the hint runs), adapter placed as the student.</summary>
    public ByotMethod(ByotOptions? options, SegmentationModel student)
        : this(options, Probe(options, student, true), Probe(options, student, false), Taps.Placement(student).Device, Taps.Placement(student).Dtype)
    {
    }

    private static long Probe(ByotOptions? options, SegmentationModel student, bool aux)
    {
        options ??= new ByotOptions();
        options.Validate();
        var list = options.TermList;
        Taps.Check(student, list.Contains(HintTerm) ? [options.AuxLogitsTap, options.AuxFeaturesTap, options.PenultimateTap] : [options.AuxLogitsTap],
            "network", MethodName);
        if (!list.Contains(HintTerm)) return 1;
        return Taps.Channels(student, aux ? options.AuxFeaturesTap : options.PenultimateTap);
    }

    public ByotOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps => [];

    /// <summary>The hint adapter (key <c>hint.weight</c>), null without the hint term.</summary>
    public MedDistill.Torch.Modules.Conv2d? Adapter => adapters?[HintTerm];

    public IEnumerable<nn.Parameter> TrainableParameters() => adapters?.parameters() ?? [];
    public nn.Module? TrainableModule => adapters;

    /// <summary>The terms for one batch of the network's own maps; <paramref name="teacher"/> is not read.</summary>
    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps? teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        var o = Options;
        var result = new List<LossTerm>(3);
        if (terms.Contains(CrossEntropyTerm))
            result.Add(new LossTerm(CrossEntropyTerm, o.CrossEntropyWeight, AcwSkdLosses.AuxCrossEntropy(Taps.Read(student, o.AuxLogitsTap), label)));
        if (terms.Contains(KlTerm))
        {
            var aux = Taps.Read(student, o.AuxLogitsTap);
            var tau = scalar_tensor(o.Temperature, aux.dtype, aux.device);
            result.Add(new LossTerm(KlTerm, o.KlWeight, AcwSkdLosses.TemperatureKd(aux, student.Logits, tau)));
        }
        if (adapters is not null)
            result.Add(new LossTerm(HintTerm, o.HintWeight,
                BaselineLosses.Hint(adapters[HintTerm], Taps.Read(student, o.AuxFeaturesTap), Taps.Read(student, o.PenultimateTap))));
        return result;
    }

    public void Dispose() => adapters?.Dispose();
}
