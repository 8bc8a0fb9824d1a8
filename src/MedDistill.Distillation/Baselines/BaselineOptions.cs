using MedDistill.Distillation.Emkd;
using MedDistill.Models;
using MedDistill.Models.Networks;

namespace MedDistill.Distillation.Baselines;

/// <summary>
/// A <c>+</c>-joined subset of a method's term names (e.g. SKD's <c>pi+pa</c>), parsed against the method's canonical order.
/// The options records keep the text so JSON binds it as a plain string; <see cref="Parse"/> is the one place it is checked.
/// </summary>
public static class BaselineTerms
{
    /// <summary>The names of <paramref name="text"/> in canonical order; case and spaces ignored, <c>all</c> means all.</summary>
    public static IReadOnlyList<string> Parse(string text, IReadOnlyList<string> canonical, string method)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new FormatException($"{method}: terms is empty; terms are {string.Join(", ", canonical)} joined by '+'");
        if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase)) return canonical;
        var chosen = new HashSet<string>();
        foreach (var raw in text.Split('+'))
        {
            var part = raw.Trim().ToLowerInvariant();
            if (!canonical.Contains(part))
                throw new FormatException($"{method}: unknown term '{raw.Trim()}' in '{text}'; terms are {string.Join(", ", canonical)} joined by '+' (or 'all')");
            if (!chosen.Add(part)) throw new FormatException($"{method}: term '{part}' is repeated in '{text}'");
        }
        return canonical.Where(chosen.Contains).ToArray();
    }

    internal static void CheckPairs(IReadOnlyList<TapPair>? pairs, string name, string owner)
    {
        if (pairs is null || pairs.Count == 0) throw new ArgumentException($"{owner}: {name} is empty");
        foreach (var pair in pairs)
            if (pair is null || string.IsNullOrWhiteSpace(pair.Student) || string.IsNullOrWhiteSpace(pair.Teacher))
                throw new ArgumentException($"{owner}: every tap pair in {name} needs a student and a teacher tap");
    }
}

/// <summary>Settings of <c>kd</c>, Hinton et al. 2015 ("Distilling the Knowledge in a Neural Network") applied per pixel.</summary>
public sealed record KdOptions
{
    /// <summary>Softmax temperature τ (default 4, the value EMKD's PMD uses; Hinton's paper tunes it per task).</summary>
    public double Temperature { get; init; } = 4.0;

    /// <summary>Weight of the term (default 1).</summary>
    public double Weight { get; init; } = 1.0;

    public void Validate()
    {
        TensorChecks.Finite(Temperature, nameof(Temperature), nameof(KdOptions), positive: true);
        TensorChecks.NonNegative(Weight, nameof(Weight), nameof(KdOptions));
    }
}

/// <summary>Which of two maps sets the common size that attention maps are resized to (bilinear, align_corners=false).</summary>
public enum CommonSize
{
    /// <summary>The teacher map's (h, w): the student's attention is resized (default).</summary>
    Teacher,

    /// <summary>The student map's (h, w): the (detached) teacher attention is resized.</summary>
    Student,

    /// <summary>The smaller of the two (by h·w): the larger map is averaged down rather than the smaller blown up.</summary>
    Smaller,
}

/// <summary>Settings of <c>at</c>, attention transfer (Zagoruyko &amp; Komodakis, ICLR 2017).</summary>
public sealed record AtOptions
{
    /// <summary>
    /// Student~teacher tap pairs, summed (default layer1~enc3, layer2~enc4, layer3~encoder: resnet18-unet's and unet's
    /// encoder stages at 1/4, 1/8 and 1/16 of the input, the same-resolution pairing of the paper's residual groups).
    /// </summary>
    public IReadOnlyList<TapPair> TapPairs { get; init; } = [new("layer1", "enc3"), new("layer2", "enc4"), new("layer3", SegmentationModel.EncoderTap)];

    /// <summary>Exponent p of the attention map Σ_c |F_c|^p (default 2, the paper's choice).</summary>
    public double Power { get; init; } = 2.0;

    /// <summary>Common size of each pair's two attention maps (default <see cref="CommonSize.Teacher"/>).</summary>
    public CommonSize Size { get; init; } = CommonSize.Teacher;

    /// <summary>
    /// Weight of the term (default 1). Our value is the per-sample ‖a_s − a_t‖² (summed over positions), so the paper's
    /// β = 1000 on a mean over positions corresponds to a weight of β/2/(h·w) here.
    /// </summary>
    public double Weight { get; init; } = 1.0;

    public void Validate()
    {
        const string owner = nameof(AtOptions);
        BaselineTerms.CheckPairs(TapPairs, nameof(TapPairs), owner);
        TensorChecks.Finite(Power, nameof(Power), owner, positive: true);
        if (!Enum.IsDefined(Size)) throw new ArgumentException($"{owner}: unknown size {Size}");
        TensorChecks.NonNegative(Weight, nameof(Weight), owner);
    }
}

/// <summary>
/// Settings of <c>skd</c>, structured knowledge distillation (Liu et al., CVPR 2019; TPAMI 2020): the pixel-wise term
/// <c>pi</c> and the pair-wise term <c>pa</c>. The holistic (adversarial, GAN-discriminator) term is not implemented.
/// </summary>
public sealed record SkdOptions
{
    public static readonly IReadOnlyList<string> TermOrder = [SkdMethod.PixelTerm, SkdMethod.PairTerm];

    /// <summary>Terms used, <c>pi+pa</c> (default both).</summary>
    public string Terms { get; init; } = "pi+pa";

    /// <summary>Weight of the pixel-wise term (default 1).</summary>
    public double PixelWeight { get; init; } = 1.0;

    /// <summary>Weight of the pair-wise term (default 1).</summary>
    public double PairWeight { get; init; } = 1.0;

    /// <summary>Student tap of the pair-wise term (default <c>encoder</c>).</summary>
    public string StudentTap { get; init; } = SegmentationModel.EncoderTap;

    /// <summary>Teacher tap of the pair-wise term (default <c>encoder</c>).</summary>
    public string TeacherTap { get; init; } = SegmentationModel.EncoderTap;

    /// <summary>
    /// β: both maps are adaptive-average-pooled to β×β nodes before the β²×β² cosine-similarity matrices are built (default
    /// 4; the paper's node granularity is a pooling choice too). Pooling also makes maps of different sizes comparable.
    /// </summary>
    public int Grid { get; init; } = 4;

    public IReadOnlyList<string> TermList => BaselineTerms.Parse(Terms, TermOrder, SkdMethod.MethodName);

    public void Validate()
    {
        const string owner = nameof(SkdOptions);
        try { _ = TermList; }
        catch (FormatException e) { throw new ArgumentException(e.Message); }
        TensorChecks.NonNegative(PixelWeight, nameof(PixelWeight), owner);
        TensorChecks.NonNegative(PairWeight, nameof(PairWeight), owner);
        if (string.IsNullOrWhiteSpace(StudentTap) || string.IsNullOrWhiteSpace(TeacherTap)) throw new ArgumentException($"{owner}: taps must not be empty");
        if (Grid < 1) throw new ArgumentException($"{owner}: Grid must be ≥ 1, got {Grid}");
    }
}

/// <summary>Settings of <c>cwd</c>, channel-wise distillation (Shu et al., ICCV 2021).</summary>
public sealed record CwdOptions
{
    /// <summary>Temperature τ of the spatial softmax (default 4, the paper's value for logits).</summary>
    public double Temperature { get; init; } = 4.0;

    /// <summary>Weight of the term (default 1).</summary>
    public double Weight { get; init; } = 1.0;

    /// <summary>Student map (default <c>logits</c>); another tap with a channel count unlike the teacher's gets a 1×1 adapter.</summary>
    public string StudentTap { get; init; } = SegmentationModel.LogitsTap;

    /// <summary>Teacher map (default <c>logits</c>).</summary>
    public string TeacherTap { get; init; } = SegmentationModel.LogitsTap;

    /// <summary>Whether the adapter (if one is needed) has a bias (default true).</summary>
    public bool AdapterBias { get; init; } = true;

    public void Validate()
    {
        const string owner = nameof(CwdOptions);
        TensorChecks.Finite(Temperature, nameof(Temperature), owner, positive: true);
        TensorChecks.NonNegative(Weight, nameof(Weight), owner);
        if (string.IsNullOrWhiteSpace(StudentTap) || string.IsNullOrWhiteSpace(TeacherTap)) throw new ArgumentException($"{owner}: taps must not be empty");
    }
}

/// <summary>
/// Settings of <c>byot</c>, self-distillation in the style of "Be Your Own Teacher" (Zhang et al., ICCV 2019) on the one
/// auxiliary head of resnet18-unet: terms <c>ce</c> (aux head vs label), <c>kl</c> (aux head vs final logits) and
/// <c>hint</c> (adapted aux features vs final penultimate features).
/// </summary>
public sealed record ByotOptions
{
    public static readonly IReadOnlyList<string> TermOrder = [ByotMethod.CrossEntropyTerm, ByotMethod.KlTerm, ByotMethod.HintTerm];

    /// <summary>Terms used, <c>ce+kl+hint</c> (default all three).</summary>
    public string Terms { get; init; } = "ce+kl+hint";

    /// <summary>Weight of the aux head's cross-entropy (default 1).</summary>
    public double CrossEntropyWeight { get; init; } = 1.0;

    /// <summary>Weight of the aux head's KL to the final logits (default 1).</summary>
    public double KlWeight { get; init; } = 1.0;

    /// <summary>Weight of the feature hint (default 1).</summary>
    public double HintWeight { get; init; } = 1.0;

    /// <summary>Temperature τ of the KL term (default 3).</summary>
    public double Temperature { get; init; } = 3.0;

    public string AuxLogitsTap { get; init; } = ResNet18UNet.AuxLogitsTap;
    public string AuxFeaturesTap { get; init; } = ResNet18UNet.AuxFeaturesTap;
    public string PenultimateTap { get; init; } = ResNet18UNet.PenultimateTap;

    /// <summary>Whether the hint adapter (1×1 conv aux features → penultimate channels) has a bias (default true).</summary>
    public bool AdapterBias { get; init; } = true;

    public IReadOnlyList<string> TermList => BaselineTerms.Parse(Terms, TermOrder, ByotMethod.MethodName);

    public void Validate()
    {
        const string owner = nameof(ByotOptions);
        try { _ = TermList; }
        catch (FormatException e) { throw new ArgumentException(e.Message); }
        TensorChecks.NonNegative(CrossEntropyWeight, nameof(CrossEntropyWeight), owner);
        TensorChecks.NonNegative(KlWeight, nameof(KlWeight), owner);
        TensorChecks.NonNegative(HintWeight, nameof(HintWeight), owner);
        TensorChecks.Finite(Temperature, nameof(Temperature), owner, positive: true);
        if (new[] { AuxLogitsTap, AuxFeaturesTap, PenultimateTap }.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException($"{owner}: taps must not be empty");
    }
}

/// <summary>
/// One FSP pair: two taps of the student (first, second) whose flow matrix is matched to that of two taps of the teacher.
/// "First" is the map whose channels index the rows of G; the order of the two maps in the network does not matter.
/// </summary>
public sealed record FspPair(string StudentFirst, string StudentSecond, string TeacherFirst, string TeacherSecond);

/// <summary>Settings of <c>fsp</c>, the flow of solution procedure (Yim et al., CVPR 2017), one of GKD's baselines.</summary>
public sealed record FspOptions
{
    /// <summary>
    /// The pairs, summed (default one: encoder → decoder on both networks). Every network of the zoo has those two taps,
    /// so the default works for the unet teacher and the enet, erfnet and mobilenetv2-unet students alike; the flow it
    /// describes spans the whole decoder, where a U-Net teacher and a light student differ most. The paper's pairs (start
    /// and end of a residual stage) need per-network tap names: give them here.
    /// </summary>
    public IReadOnlyList<FspPair> Pairs { get; init; } =
        [new(SegmentationModel.EncoderTap, SegmentationModel.DecoderTap, SegmentationModel.EncoderTap, SegmentationModel.DecoderTap)];

    /// <summary>
    /// Weight of the term (default 1). Our value is a mean over the N·C1·C2 matrix entries; the paper's λ/N·Σ‖G_s − G_t‖²
    /// (summed over entries) corresponds to a weight of λ·C1·C2 here.
    /// </summary>
    public double Weight { get; init; } = 1.0;

    /// <summary>Whether the adapters (1×1 convs student → teacher channels, where the widths differ) have a bias (default true).</summary>
    public bool AdapterBias { get; init; } = true;

    public void Validate()
    {
        const string owner = nameof(FspOptions);
        if (Pairs is null || Pairs.Count == 0) throw new ArgumentException($"{owner}: {nameof(Pairs)} is empty");
        foreach (var p in Pairs)
            if (p is null || new[] { p.StudentFirst, p.StudentSecond, p.TeacherFirst, p.TeacherSecond }.Any(string.IsNullOrWhiteSpace))
                throw new ArgumentException($"{owner}: every pair needs studentFirst, studentSecond, teacherFirst and teacherSecond taps");
        TensorChecks.NonNegative(Weight, nameof(Weight), owner);
    }
}

/// <summary>Settings of <c>ifvd</c>, intra-class feature variation distillation (Wang et al., ECCV 2020), one of GKD's baselines.</summary>
public sealed record IfvdOptions
{
    /// <summary>Student map (default <c>decoder</c>, the last map before the classifier, as the paper's penultimate features).</summary>
    public string StudentTap { get; init; } = SegmentationModel.DecoderTap;

    /// <summary>Teacher map (default <c>decoder</c>).</summary>
    public string TeacherTap { get; init; } = SegmentationModel.DecoderTap;

    /// <summary>Weight of the term (default 1, our choice: the paper's weights were tuned for Cityscapes beside its other terms).</summary>
    public double Weight { get; init; } = 1.0;

    public void Validate()
    {
        const string owner = nameof(IfvdOptions);
        if (string.IsNullOrWhiteSpace(StudentTap) || string.IsNullOrWhiteSpace(TeacherTap)) throw new ArgumentException($"{owner}: taps must not be empty");
        TensorChecks.NonNegative(Weight, nameof(Weight), owner);
    }
}
