using MedDistill.Torch;

namespace MedDistill.Distillation.AcwSkd;

/// <summary>The ACW-SKD terms a run uses; the ablation adds them in the order aux, cw, frm, at.</summary>
[Flags]
public enum AcwSkdTerms
{
    None = 0,
    /// <summary><c>aux</c>: cross-entropy of the auxiliary head's coarse logits against the label.</summary>
    Aux = 1,
    /// <summary><c>cw</c>: class-wise feature distillation, aux-branch class features towards the final branch's.</summary>
    ClassWise = 2,
    /// <summary><c>frm</c>: the feature reconstruction module's losses (penultimate map and class prototypes).</summary>
    Reconstruction = 4,
    /// <summary><c>at</c>: logit self-distillation final → aux at the adversarial learnable temperature.</summary>
    AdversarialTemperature = 8,
    All = Aux | ClassWise | Reconstruction | AdversarialTemperature,
}

/// <summary>Spelling of <see cref="AcwSkdTerms"/> in configurations and logs: <c>aux</c>, <c>cw</c>, <c>frm</c>, <c>at</c> joined by <c>+</c>.</summary>
public static class AcwSkdTermNames
{
    public const string Aux = "aux";
    public const string ClassWise = "cw";
    public const string Reconstruction = "frm";
    public const string AdversarialTemperature = "at";

    private static readonly (string Name, AcwSkdTerms Term)[] Order =
    [
        (Aux, AcwSkdTerms.Aux), (ClassWise, AcwSkdTerms.ClassWise), (Reconstruction, AcwSkdTerms.Reconstruction),
        (AdversarialTemperature, AcwSkdTerms.AdversarialTemperature),
    ];

    /// <summary>Parses <c>aux+cw+frm+at</c>, any order and case, or <c>all</c>; unknown, repeated or no names are errors.</summary>
    public static AcwSkdTerms Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase)) return AcwSkdTerms.All;
        var result = AcwSkdTerms.None;
        foreach (var raw in text.Split('+'))
        {
            var part = raw.Trim();
            var match = Order.Where(o => o.Name.Equals(part, StringComparison.OrdinalIgnoreCase)).Select(o => o.Term).FirstOrDefault();
            if (match == AcwSkdTerms.None)
                throw new FormatException($"unknown ACW-SKD term '{part}' in '{text}'; terms are aux, cw, frm, at joined by '+' (or 'all')");
            if ((result & match) != 0) throw new FormatException($"ACW-SKD term '{part}' is repeated in '{text}'");
            result |= match;
        }
        return result;
    }

    /// <summary>The canonical spelling, always in the order aux+cw+frm+at.</summary>
    public static string Format(AcwSkdTerms terms) =>
        terms == AcwSkdTerms.None ? "none" : string.Join("+", Order.Where(o => (terms & o.Term) != 0).Select(o => o.Name));
}

/// <summary>Soft class probabilities or hard one-hot argmax masks for class-wise pooling.</summary>
public enum ClassMaskKind { Soft, Hard }

/// <summary>Whose prediction masks the final branch's penultimate features into class prototypes.</summary>
public enum TargetMaskSource
{
    /// <summary>The auxiliary head's coarse prediction, the same mask as the aux side (default).</summary>
    Aux,
    /// <summary>The final branch's own prediction (detached).</summary>
    Final,
}

/// <summary>The form of the class-wise feature distillation term.</summary>
public enum ClassWiseForm
{
    /// <summary>Squared difference of the K×K inter-class cosine-similarity matrices (default; channel counts may differ).</summary>
    Relation,
    /// <summary>Mean over classes of 1 − cos(aux prototype, final prototype); the two feature widths must be equal.</summary>
    Prototype,
    /// <summary>The sum of the two.</summary>
    Both,
}

/// <summary>The distance between a reconstruction and its target.</summary>
public enum ReconstructionDistance { Mse, L1, Cosine }

/// <summary>How the gradient-reversal factor λ grows with training progress.</summary>
public enum ReversalSchedule
{
    /// <summary>λ = λ_max·(1 − cos(π·p))/2, p = step/(ramp·total) clamped to [0, 1] (default; CTKD's curriculum).</summary>
    Cosine,
    /// <summary>λ = λ_max from the first step.</summary>
    Constant,
}

/// <summary>
/// Settings of our reconstruction of ACW-SKD (Yu et al., Sci Rep 2025) without the final head's segmentation loss. Only the
/// abstract is public: every setting is our choice, and docs/distillation.md ("ACW-SKD") gives the sentence each serves.
/// The objective adds <see cref="AuxWeight"/>·aux + <see cref="ClassWiseWeight"/>·cw + <see cref="ReconstructionWeight"/>·frm
/// + <see cref="TemperatureWeight"/>·at over <see cref="Terms"/>.
/// </summary>
public sealed record AcwSkdOptions
{
    public const string DefaultAuxLogitsTap = "aux_logits";
    public const string DefaultAuxFeaturesTap = "aux_features";
    public const string DefaultPenultimateTap = "penultimate";

    /// <summary>Which terms run (default all four; the ablation rows are aux, aux+cw, aux+cw+frm, aux+cw+frm+at).</summary>
    public AcwSkdTerms Terms { get; init; } = AcwSkdTerms.All;

    /// <summary>Weight of the aux head's cross-entropy (default 0.4, the usual weight of an FCN auxiliary head in MMSeg).</summary>
    public double AuxWeight { get; init; } = 0.4;

    /// <summary>λ_cw, weight of class-wise feature distillation (default 1).</summary>
    public double ClassWiseWeight { get; init; } = 1.0;

    /// <summary>λ_frm, weight of the FRM reconstruction losses (default 1).</summary>
    public double ReconstructionWeight { get; init; } = 1.0;

    /// <summary>λ_at, weight of the adversarial-temperature KD term (default 1).</summary>
    public double TemperatureWeight { get; init; } = 1.0;

    /// <summary>Tap with the auxiliary head's coarse class logits (default <c>aux_logits</c>).</summary>
    public string AuxLogitsTap { get; init; } = DefaultAuxLogitsTap;

    /// <summary>Tap with the decoder features the auxiliary head reads (default <c>aux_features</c>).</summary>
    public string AuxFeaturesTap { get; init; } = DefaultAuxFeaturesTap;

    /// <summary>Tap with the final decoder features before the classifier (default <c>penultimate</c>).</summary>
    public string PenultimateTap { get; init; } = DefaultPenultimateTap;

    /// <summary>Soft probabilities (default) or hard one-hot argmax masks for class-wise pooling.</summary>
    public ClassMaskKind Mask { get; init; } = ClassMaskKind.Soft;

    /// <summary>Whether the mask is detached (default true: the mask selects pixels; it is not trained by the cw/frm terms).</summary>
    public bool DetachMask { get; init; } = true;

    /// <summary>Resize of the class probabilities to a feature map's size (default bilinear, align_corners=false).</summary>
    public InterpolationMode MaskResize { get; init; } = InterpolationMode.Bilinear;

    /// <summary>Resize of the aux features to the penultimate size before FRM's map head (default bilinear).</summary>
    public InterpolationMode FeatureResize { get; init; } = InterpolationMode.Bilinear;

    /// <summary>Whose prediction masks the penultimate features (default <see cref="TargetMaskSource.Aux"/>).</summary>
    public TargetMaskSource TargetMask { get; init; } = TargetMaskSource.Aux;

    /// <summary>ε of the masked pooling Σ P·F / (Σ P + ε) (default 1e-6).</summary>
    public double PoolingEps { get; init; } = 1e-6;

    /// <summary>
    /// A class takes part in cw and class-level frm only where its mask covers more than this fraction of the map (default
    /// 1e-3): classes absent from a slice would otherwise add prototypes pooled from a few stray probabilities.
    /// </summary>
    public double MinClassFraction { get; init; } = 1e-3;

    /// <summary>Form of the class-wise distillation term (default <see cref="ClassWiseForm.Relation"/>).</summary>
    public ClassWiseForm ClassWise { get; init; } = ClassWiseForm.Relation;

    /// <summary>Distance of both FRM levels (default <see cref="ReconstructionDistance.Mse"/>).</summary>
    public ReconstructionDistance Reconstruction { get; init; } = ReconstructionDistance.Mse;

    /// <summary>Whether FRM also reconstructs the final branch's class prototypes from the aux prototypes (default true).</summary>
    public bool ReconstructClassWise { get; init; } = true;

    /// <summary>Hidden width of the FRM heads (default 0: the penultimate channel count).</summary>
    public long ReconstructionHidden { get; init; }

    /// <summary>τ_min of τ = τ_min + (τ_max − τ_min)·sigmoid(t) (default 1, CTKD's).</summary>
    public double MinTemperature { get; init; } = 1.0;

    /// <summary>τ_max (default 21: CTKD's 1 + 20·sigmoid).</summary>
    public double MaxTemperature { get; init; } = 21.0;

    /// <summary>τ at step 0, strictly between τ_min and τ_max (default 4, the usual KD temperature, EMKD's T).</summary>
    public double InitialTemperature { get; init; } = 4.0;

    /// <summary>Whether τ is learnt adversarially (default true); false keeps τ = <see cref="InitialTemperature"/> fixed.</summary>
    public bool LearnableTemperature { get; init; } = true;

    /// <summary>λ_max, the final gradient-reversal factor (default 1, CTKD's).</summary>
    public double LambdaMax { get; init; } = 1.0;

    /// <summary>Schedule of λ (default <see cref="ReversalSchedule.Cosine"/>).</summary>
    public ReversalSchedule Schedule { get; init; } = ReversalSchedule.Cosine;

    /// <summary>Fraction of training over which the cosine schedule ramps λ from 0 to λ_max (default 1: all of it).</summary>
    public double RampFraction { get; init; } = 1.0;

    /// <summary>Resize of the aux logits to the final logits' (and the label's) size (default bilinear).</summary>
    public InterpolationMode LogitsResize { get; init; } = InterpolationMode.Bilinear;

    public void Validate()
    {
        const string owner = nameof(AcwSkdOptions);
        if (Terms == AcwSkdTerms.None || (Terms & ~AcwSkdTerms.All) != 0)
            throw new ArgumentException($"{owner}: Terms must be a non-empty subset of aux, cw, frm, at (got {Terms})");
        TensorChecks.NonNegative(AuxWeight, nameof(AuxWeight), owner);
        TensorChecks.NonNegative(ClassWiseWeight, nameof(ClassWiseWeight), owner);
        TensorChecks.NonNegative(ReconstructionWeight, nameof(ReconstructionWeight), owner);
        TensorChecks.NonNegative(TemperatureWeight, nameof(TemperatureWeight), owner);
        foreach (var (tap, name) in new[] { (AuxLogitsTap, nameof(AuxLogitsTap)), (AuxFeaturesTap, nameof(AuxFeaturesTap)), (PenultimateTap, nameof(PenultimateTap)) })
            if (string.IsNullOrWhiteSpace(tap)) throw new ArgumentException($"{owner}: {name} is empty");
        if (!Enum.IsDefined(Mask)) throw new ArgumentException($"{owner}: unknown mask kind {Mask}");
        if (!Enum.IsDefined(MaskResize)) throw new ArgumentException($"{owner}: unknown resize mode {MaskResize}");
        if (!Enum.IsDefined(FeatureResize)) throw new ArgumentException($"{owner}: unknown resize mode {FeatureResize}");
        if (!Enum.IsDefined(LogitsResize)) throw new ArgumentException($"{owner}: unknown resize mode {LogitsResize}");
        if (!Enum.IsDefined(TargetMask)) throw new ArgumentException($"{owner}: unknown target mask {TargetMask}");
        if (!Enum.IsDefined(ClassWise)) throw new ArgumentException($"{owner}: unknown class-wise form {ClassWise}");
        if (!Enum.IsDefined(Reconstruction)) throw new ArgumentException($"{owner}: unknown distance {Reconstruction}");
        if (!Enum.IsDefined(Schedule)) throw new ArgumentException($"{owner}: unknown schedule {Schedule}");
        TensorChecks.Finite(PoolingEps, nameof(PoolingEps), owner, positive: true);
        if (!(MinClassFraction >= 0 && MinClassFraction < 1)) throw new ArgumentException($"{owner}: MinClassFraction must be in [0, 1), got {MinClassFraction}");
        if (ReconstructionHidden < 0) throw new ArgumentException($"{owner}: ReconstructionHidden must be ≥ 0, got {ReconstructionHidden}");
        TensorChecks.Finite(MinTemperature, nameof(MinTemperature), owner, positive: true);
        TensorChecks.Finite(MaxTemperature, nameof(MaxTemperature), owner);
        TensorChecks.Finite(InitialTemperature, nameof(InitialTemperature), owner);
        if (!(MinTemperature < InitialTemperature && InitialTemperature < MaxTemperature))
            throw new ArgumentException($"{owner}: need MinTemperature < InitialTemperature < MaxTemperature, got {MinTemperature}, {InitialTemperature}, {MaxTemperature}");
        TensorChecks.NonNegative(LambdaMax, nameof(LambdaMax), owner);
        if (!(RampFraction > 0 && RampFraction <= 1)) throw new ArgumentException($"{owner}: RampFraction must be in (0, 1], got {RampFraction}");
    }
}
