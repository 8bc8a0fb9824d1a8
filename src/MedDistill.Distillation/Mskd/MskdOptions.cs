using MedDistill.Distillation.Emkd;
using MedDistill.Models;

namespace MedDistill.Distillation.Mskd;

/// <summary>Where the class regions (graph nodes, prototype masks) come from.</summary>
public enum RegionSource
{
    /// <summary>The ground-truth label map (default): offline distillation has it, and it is what the anatomy is.</summary>
    Label,

    /// <summary>The teacher's argmax prediction: regions as the teacher sees them.</summary>
    TeacherPrediction,
}

/// <summary>Which pixels of a region the filter keeps (the "filtering redundant information" of FFD).</summary>
public enum RegionFilter
{
    /// <summary>Keep every pixel of the region.</summary>
    None,

    /// <summary>Keep pixels whose teacher argmax equals the label (default): drops the teacher's own organ confusions.</summary>
    TeacherCorrect,

    /// <summary>Keep pixels where the teacher's top softmax probability is at least <see cref="MskdOptions.ConfidenceThreshold"/>.</summary>
    TeacherConfident,
}

/// <summary>How FFD compares a student region prototype with the teacher's.</summary>
public enum PrototypeDistance
{
    /// <summary>1 − cos(p_s, p_t) (default): independent of the two networks' feature scales.</summary>
    Cosine,

    /// <summary>Mean over channels of (p_s − p_t)²: FitNets-style, the adapter must also learn the teacher's scale.</summary>
    SquaredError,
}

/// <summary>
/// Settings of our reconstruction of MSKD (Zhao et al., Computers in Biology and Medicine 2023), without its segmentation
/// loss: <see cref="FilteringWeight"/>·FFD + <see cref="GraphWeight"/>·RGD. Only the paper's abstract is public, so every
/// setting below is our choice; each says which sentence of the abstract it serves (docs/distillation.md, "MSKD").
/// </summary>
public sealed record MskdOptions
{
    /// <summary>
    /// Weight of FFD, feature filtering distillation (default 1). The paper's weights are unknown; 1 keeps FFD (bounded by 2
    /// with cosine distance) on the scale of the 0.5·Dice + 0.5·focal segmentation loss.
    /// </summary>
    public double FilteringWeight { get; init; } = 1.0;

    /// <summary>
    /// Weight of RGD, region graph distillation (default 1; our choice, as <see cref="FilteringWeight"/>: the mean squared
    /// difference of cosine adjacencies is at most 4 and in practice far below 1).
    /// </summary>
    public double GraphWeight { get; init; } = 1.0;

    /// <summary>
    /// Tap pairs FFD is computed on and summed over (default encoder~encoder and decoder~decoder: the low- and high-level
    /// pair EMKD uses, so the two Table 3 baselines read the same layers). Serves "transfers region-level semantic
    /// information": the deepest encoder map holds the most semantic features, the decoder map the finest regions.
    /// </summary>
    public IReadOnlyList<TapPair> FilteringTaps { get; init; } = DefaultTaps;

    /// <summary>
    /// Tap pairs RGD is computed on and summed over (default as <see cref="FilteringTaps"/>). Serves "imitate the structured
    /// semantic information" at both levels.
    /// </summary>
    public IReadOnlyList<TapPair> GraphTaps { get; init; } = DefaultTaps;

    /// <summary>
    /// Source of the class regions shared by FFD and RGD (default <see cref="Mskd.RegionSource.Label"/>). Serves
    /// "region-level": the abstract does not say whose regions; with <see cref="RegionFilter.TeacherCorrect"/> both sources
    /// give the same masks.
    /// </summary>
    public RegionSource Regions { get; init; } = RegionSource.Label;

    /// <summary>
    /// The filter applied to every region mask before prototypes are pooled (default
    /// <see cref="RegionFilter.TeacherCorrect"/>). Serves "filtering redundant information" and "confusion between internal
    /// organs with similar appearance": pixels the teacher itself gets wrong carry exactly that confusion, so the student is
    /// not asked to imitate them. RGD's nodes use the same filtered regions.
    /// </summary>
    public RegionFilter Filter { get; init; } = RegionFilter.TeacherCorrect;

    /// <summary>
    /// Threshold τ of <see cref="RegionFilter.TeacherConfident"/> on the teacher's top softmax probability (default 0.9; in
    /// (0, 1]; checked whatever the filter, so a typo is caught before it is switched on).
    /// </summary>
    public double ConfidenceThreshold { get; init; } = 0.9;

    /// <summary>
    /// Whether class 0 (background) is a region (default true). With two classes and no background, the graph has one node
    /// and RGD is always 0; background is also the region organs are most often confused with at their borders.
    /// </summary>
    public bool IncludeBackground { get; init; } = true;

    /// <summary>Distance FFD puts between student and teacher prototypes (default <see cref="PrototypeDistance.Cosine"/>).</summary>
    public PrototypeDistance Distance { get; init; } = PrototypeDistance.Cosine;

    /// <summary>
    /// Whether FFD's 1×1 adapter (created only for a tap pair whose channel counts differ; trained with the student, dropped
    /// at inference: "no additional parameters at inference") has a bias (default true, PyTorch's Conv2d default).
    /// </summary>
    public bool AdapterBias { get; init; } = true;

    private static readonly IReadOnlyList<TapPair> DefaultTaps =
        [new(SegmentationModel.EncoderTap, SegmentationModel.EncoderTap), new(SegmentationModel.DecoderTap, SegmentationModel.DecoderTap)];

    public void Validate()
    {
        const string owner = nameof(MskdOptions);
        TensorChecks.NonNegative(FilteringWeight, nameof(FilteringWeight), owner);
        TensorChecks.NonNegative(GraphWeight, nameof(GraphWeight), owner);
        CheckTaps(FilteringTaps, nameof(FilteringTaps), owner);
        CheckTaps(GraphTaps, nameof(GraphTaps), owner);
        if (!Enum.IsDefined(Regions)) throw new ArgumentException($"{owner}: {nameof(Regions)} has an unknown value {Regions}");
        if (!Enum.IsDefined(Filter)) throw new ArgumentException($"{owner}: {nameof(Filter)} has an unknown value {Filter}");
        if (!Enum.IsDefined(Distance)) throw new ArgumentException($"{owner}: {nameof(Distance)} has an unknown value {Distance}");
        if (!(ConfidenceThreshold > 0 && ConfidenceThreshold <= 1))
            throw new ArgumentException($"{owner}: {nameof(ConfidenceThreshold)} must be in (0, 1], got {ConfidenceThreshold}");
    }

    private static void CheckTaps(IReadOnlyList<TapPair>? taps, string name, string owner)
    {
        if (taps is null || taps.Count == 0) throw new ArgumentException($"{owner}: {name} is empty");
        foreach (var pair in taps)
            if (pair is null || string.IsNullOrWhiteSpace(pair.Student) || string.IsNullOrWhiteSpace(pair.Teacher))
                throw new ArgumentException($"{owner}: every pair in {name} needs a student and a teacher tap");
    }
}
