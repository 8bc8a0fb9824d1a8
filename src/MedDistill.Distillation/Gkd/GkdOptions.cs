using MedDistill.Models;

namespace MedDistill.Distillation.Gkd;

/// <summary>
/// The GKD terms a run chooses; the paper's ablation rows are intra, inter, cross, intra+inter and intra+inter+cross.
/// <c>act</c> is not listed: it trains the MSAN headers every other term reads, so it always runs.
/// </summary>
[Flags]
public enum GkdTerms
{
    None = 0,
    /// <summary><c>intra</c>: DCGD's intra-coupling graph (each anchor against every augmented view).</summary>
    Intra = 1,
    /// <summary><c>inter</c>: DCGD's inter-coupling graph (each augmented view against the other views).</summary>
    Inter = 2,
    /// <summary><c>cross</c>: DICD, the header-exchanged predictions supervised by the teacher's.</summary>
    Cross = 4,
    All = Intra | Inter | Cross,
}

/// <summary>Spelling of <see cref="GkdTerms"/> in configurations and logs: <c>intra</c>, <c>inter</c>, <c>cross</c> joined by <c>+</c>.</summary>
public static class GkdTermNames
{
    public const string Intra = "intra";
    public const string Inter = "inter";
    public const string Cross = "cross";
    /// <summary>Alignment consistency training of the MSAN headers, returned after the chosen terms.</summary>
    public const string Act = "act";

    private static readonly (string Name, GkdTerms Term)[] Order = [(Intra, GkdTerms.Intra), (Inter, GkdTerms.Inter), (Cross, GkdTerms.Cross)];

    /// <summary>Parses <c>intra+inter+cross</c>, any order and case, or <c>all</c>; unknown, repeated or no names are errors.</summary>
    public static GkdTerms Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase)) return GkdTerms.All;
        var result = GkdTerms.None;
        foreach (var raw in text.Split('+'))
        {
            var part = raw.Trim();
            var match = Order.Where(o => o.Name.Equals(part, StringComparison.OrdinalIgnoreCase)).Select(o => o.Term).FirstOrDefault();
            if (match == GkdTerms.None)
            {
                string hint = part.Equals(Act, StringComparison.OrdinalIgnoreCase) ? " (act always runs and is not chosen)" : "";
                throw new FormatException($"unknown GKD term '{part}' in '{text}'{hint}; terms are intra, inter, cross joined by '+' (or 'all')");
            }
            if ((result & match) != 0) throw new FormatException($"GKD term '{part}' is repeated in '{text}'");
            result |= match;
        }
        return result;
    }

    /// <summary>The canonical spelling, always in the order intra+inter+cross.</summary>
    public static string Format(GkdTerms terms) =>
        terms == GkdTerms.None ? "none" : string.Join("+", Order.Where(o => (terms & o.Term) != 0).Select(o => o.Name));

    /// <summary>The names <see cref="GkdMethod.Compute"/> returns for <paramref name="terms"/>, in order: the chosen ones, then act.</summary>
    public static IReadOnlyList<string> Returned(GkdTerms terms) =>
        [.. Order.Where(o => (terms & o.Term) != 0).Select(o => o.Name), Act];
}

/// <summary>What DICD's header-exchanged predictions are supervised with.</summary>
public enum CrossTarget
{
    /// <summary>τc²·KL(softmax(z_T/τc) ‖ softmax(z×/τc)) per pixel (default).</summary>
    Soft,
    /// <summary>Cross-entropy against the teacher's argmax.</summary>
    Hard,
}

/// <summary>Which of DICD's two header-exchanged predictions the cross term supervises.</summary>
public enum CrossPaths
{
    /// <summary>Both (default): the student's decoder from Restore_S(v_T) and the teacher's from Restore_T(v_S).</summary>
    Both,
    /// <summary>Only the student's decoder continuing from the teacher's vector.</summary>
    Student,
    /// <summary>Only the frozen teacher's decoder continuing from the student's vector.</summary>
    Teacher,
}

/// <summary>
/// Settings of our reconstruction of GKD (Qi et al., "Exploring Generalizable Distillation for Efficient Medical Image
/// Segmentation"; arXiv 2207.12995, JBHI 2024). Only the abstract, figures and network code are public, so every setting is
/// our choice; docs/distillation.md ("GKD") quotes the sentence each one serves. The objective adds
/// <see cref="IntraWeight"/>·intra + <see cref="InterWeight"/>·inter + <see cref="CrossWeight"/>·cross over
/// <see cref="Terms"/>, and <see cref="ActWeight"/>·act always.
/// </summary>
public sealed record GkdOptions
{
    /// <summary>Which distillation terms run (default all; act always runs because it trains the headers they read).</summary>
    public GkdTerms Terms { get; init; } = GkdTerms.All;

    /// <summary>
    /// Tap both networks' MSAN headers read and DICD substitutes (default <c>encoder</c>, the deepest encoder map: the
    /// authors' header reads the 512×16×16 bottleneck of their autoencoder).
    /// </summary>
    public string Tap { get; init; } = SegmentationModel.EncoderTap;

    /// <summary>
    /// D, the semantic vector's length: the header's 1×1 convolution maps each network's C channels to D (default 64; the
    /// authors' 512-d vector comes from a fixed 512-channel autoencoder, which a 1×1 projection replaces for any width).
    /// </summary>
    public int SemanticDim { get; init; } = 64;

    /// <summary>
    /// g: the header pools each channel to g×g before its per-channel MLP (default 4). The authors flatten a fixed 16×16 grid;
    /// adaptive pooling to a fixed grid makes the header independent of the input size.
    /// </summary>
    public int Grid { get; init; } = 4;

    /// <summary>Hidden width of the per-channel MLPs g² → hidden → 1 and 1 → hidden → g² (default 64, the authors' 256→64→1).</summary>
    public int Hidden { get; init; } = 64;

    /// <summary>K, augmented views per image for DCGD (default 2).</summary>
    public int Views { get; init; } = 2;

    /// <summary>τ of both contrastive graphs' softmax over cosine similarities (default 0.1, a common contrastive temperature).</summary>
    public double Tau { get; init; } = 0.1;

    /// <summary>τc of DICD's soft target (default 1).</summary>
    public double CrossTemperature { get; init; } = 1.0;

    /// <summary>Soft (default) or hard supervision of the header-exchanged predictions by the teacher's.</summary>
    public CrossTarget CrossTarget { get; init; } = CrossTarget.Soft;

    /// <summary>
    /// Which exchanged predictions the cross term supervises (default both, as the abstract's "header exchange" with "both
    /// cross reconstructions"); one path alone is a probe of which one a result comes from.
    /// </summary>
    public CrossPaths CrossPaths { get; init; } = CrossPaths.Both;

    /// <summary>Weight of the intra-coupling graph term (default 1).</summary>
    public double IntraWeight { get; init; } = 1.0;

    /// <summary>Weight of the inter-coupling graph term (default 1).</summary>
    public double InterWeight { get; init; } = 1.0;

    /// <summary>Weight of DICD's cross term (default 1).</summary>
    public double CrossWeight { get; init; } = 1.0;

    /// <summary>Weight of ACT, the headers' consistency training (default 1).</summary>
    public double ActWeight { get; init; } = 1.0;

    /// <summary>
    /// Weight, inside act, of MSE(v_S, v_T) that pulls the student's semantic vectors onto the teacher's (default 1); the two
    /// reconstructions have weight 1.
    /// </summary>
    public double ActAlign { get; init; } = 1.0;

    /// <summary>
    /// Whether ACT's gradient reaches the student's network (default false: ACT trains only the MSAN headers, reading the
    /// student's map detached). The abstract designs ACT "to promote the MSAN training"; the student learns from GKD through
    /// DCGD and DICD. True lets the reconstruction and alignment losses shape the student's encoder too — the first
    /// reconstruction did so, and on the fundus phantom it drove ERFNet's encoder map towards what the header reconstructs
    /// easily, a collapse to an empty prediction (docs/gkd.md, "ACT and the student").
    /// </summary>
    public bool ActTrainsStudent { get; init; }

    /// <summary>Lower end of the random gamma (default 0.7), applied to the image min–max rescaled to [0, 1] and mapped back.</summary>
    public double GammaMin { get; init; } = 0.7;

    /// <summary>Upper end of the random gamma (default 1.5).</summary>
    public double GammaMax { get; init; } = 1.5;

    /// <summary>Contrast factor range around the image mean: [1 − c, 1 + c] (default 0.2).</summary>
    public double Contrast { get; init; } = 0.2;

    /// <summary>Brightness shift range [−b, b] in units of the image's standard deviation (default 0.1).</summary>
    public double Brightness { get; init; } = 0.1;

    /// <summary>σ of additive Gaussian noise in units of the image's standard deviation (default 0.05).</summary>
    public double NoiseStd { get; init; } = 0.05;

    public void Validate()
    {
        const string owner = nameof(GkdOptions);
        if (Terms == GkdTerms.None || (Terms & ~GkdTerms.All) != 0)
            throw new ArgumentException($"{owner}: Terms must be a non-empty subset of intra, inter, cross (got {Terms})");
        if (string.IsNullOrWhiteSpace(Tap)) throw new ArgumentException($"{owner}: Tap is empty");
        if (Tap == SegmentationModel.LogitsTap) throw new ArgumentException($"{owner}: Tap must be a feature map, not the logits");
        if (SemanticDim < 1) throw new ArgumentException($"{owner}: SemanticDim must be ≥ 1, got {SemanticDim}");
        if (Grid < 1) throw new ArgumentException($"{owner}: Grid must be ≥ 1, got {Grid}");
        if (Hidden < 1) throw new ArgumentException($"{owner}: Hidden must be ≥ 1, got {Hidden}");
        if (Views < 1) throw new ArgumentException($"{owner}: Views must be ≥ 1, got {Views}");
        TensorChecks.Finite(Tau, nameof(Tau), owner, positive: true);
        TensorChecks.Finite(CrossTemperature, nameof(CrossTemperature), owner, positive: true);
        if (!Enum.IsDefined(CrossTarget)) throw new ArgumentException($"{owner}: unknown cross target {CrossTarget}");
        if (!Enum.IsDefined(CrossPaths)) throw new ArgumentException($"{owner}: unknown cross paths {CrossPaths}");
        TensorChecks.NonNegative(IntraWeight, nameof(IntraWeight), owner);
        TensorChecks.NonNegative(InterWeight, nameof(InterWeight), owner);
        TensorChecks.NonNegative(CrossWeight, nameof(CrossWeight), owner);
        TensorChecks.NonNegative(ActWeight, nameof(ActWeight), owner);
        TensorChecks.NonNegative(ActAlign, nameof(ActAlign), owner);
        TensorChecks.Finite(GammaMin, nameof(GammaMin), owner, positive: true);
        TensorChecks.Finite(GammaMax, nameof(GammaMax), owner, positive: true);
        if (GammaMin > GammaMax) throw new ArgumentException($"{owner}: GammaMin ({GammaMin}) exceeds GammaMax ({GammaMax})");
        if (!(Contrast >= 0 && Contrast < 1)) throw new ArgumentException($"{owner}: Contrast must be in [0, 1), got {Contrast}");
        TensorChecks.NonNegative(Brightness, nameof(Brightness), owner);
        TensorChecks.NonNegative(NoiseStd, nameof(NoiseStd), owner);
    }

    /// <summary>The photometric augmentation these options describe.</summary>
    public PhotometricAugmentation Augmentation => new(GammaMin, GammaMax, Contrast, Brightness, NoiseStd);
}
