namespace MedDistill.Distillation.AffinityKd;

/// <summary>The Affinity-KD modules a run uses (Table 4 of the paper ablates over these subsets).</summary>
[Flags]
public enum AffinityKdTerms
{
    None = 0,
    /// <summary>LM, the logits module (eq. 7).</summary>
    Logits = 1,
    /// <summary>KMM, the kernel matrix module (eqs. 5–6).</summary>
    KernelMatrix = 2,
    /// <summary>AAM, the adaptive affinity module (eqs. 1–4).</summary>
    AdaptiveAffinity = 4,
    All = Logits | KernelMatrix | AdaptiveAffinity,
}

/// <summary>Spelling of <see cref="AffinityKdTerms"/> as in configurations and logs: <c>lm</c>, <c>kmm</c>, <c>aam</c> joined by <c>+</c>.</summary>
public static class AffinityKdTermNames
{
    public const string Logits = "lm";
    public const string KernelMatrix = "kmm";
    public const string AdaptiveAffinity = "aam";

    private static readonly (string name, AffinityKdTerms term)[] order =
        [(Logits, AffinityKdTerms.Logits), (KernelMatrix, AffinityKdTerms.KernelMatrix), (AdaptiveAffinity, AffinityKdTerms.AdaptiveAffinity)];

    /// <summary>
    /// Parses a <c>+</c>-separated subset such as <c>lm+kmm+aam</c>, <c>aam+kmm</c> or <c>lm</c> (case and spaces ignored;
    /// <c>all</c> means all three). A repeated or unknown name, or an empty subset, is an error.
    /// </summary>
    public static AffinityKdTerms Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase)) return AffinityKdTerms.All;
        var result = AffinityKdTerms.None;
        foreach (var raw in text.Split('+'))
        {
            var part = raw.Trim();
            var match = order.Where(o => o.name.Equals(part, StringComparison.OrdinalIgnoreCase)).Select(o => o.term).FirstOrDefault();
            if (match == AffinityKdTerms.None)
                throw new FormatException($"unknown Affinity-KD term '{part}' in '{text}'; terms are lm, kmm, aam joined by '+' (or 'all')");
            if ((result & match) != 0) throw new FormatException($"Affinity-KD term '{part}' is repeated in '{text}'");
            result |= match;
        }
        return result;
    }

    /// <summary>The canonical spelling, always in the order lm+kmm+aam.</summary>
    public static string Format(AffinityKdTerms terms)
    {
        if (terms == AffinityKdTerms.None) return "none";
        return string.Join("+", order.Where(o => (terms & o.term) != 0).Select(o => o.name));
    }
}

/// <summary>
/// Settings of the Affinity-KD objective (eq. 8): L = L_seg + λ1·LM + λ2·KMM + λ3·AAM, restricted to <see cref="Terms"/>.
/// L_seg is the trainer's (see <see cref="Losses.SegmentationLoss"/>).
/// </summary>
public sealed record AffinityKdOptions
{
    /// <summary>Which modules run (default all three). Parse strings with <see cref="AffinityKdTermNames.Parse"/>.</summary>
    public AffinityKdTerms Terms { get; init; } = AffinityKdTerms.All;

    /// <summary>λ1, the weight of LM (default 0.2, the paper's).</summary>
    public double LogitsWeight { get; init; } = 0.2;

    /// <summary>λ2, the weight of KMM (default 0.9, the paper's).</summary>
    public double KernelMatrixWeight { get; init; } = 0.9;

    /// <summary>λ3, the weight of AAM (default 0.9, the paper's).</summary>
    public double AffinityWeight { get; init; } = 0.9;

    public LogitsDistillationOptions Logits { get; init; } = new();
    public KernelMatrixOptions KernelMatrix { get; init; } = new();
    public AdaptiveAffinityOptions Affinity { get; init; } = new();

    public void Validate()
    {
        const string owner = nameof(AffinityKdOptions);
        if (Terms == AffinityKdTerms.None || (Terms & ~AffinityKdTerms.All) != 0)
            throw new ArgumentException($"{owner}: Terms must be a non-empty subset of lm, kmm, aam (got {Terms}); use the method 'none' for no distillation");
        TensorChecks.NonNegative(LogitsWeight, nameof(LogitsWeight), owner);
        TensorChecks.NonNegative(KernelMatrixWeight, nameof(KernelMatrixWeight), owner);
        TensorChecks.NonNegative(AffinityWeight, nameof(AffinityWeight), owner);
        ArgumentNullException.ThrowIfNull(Logits);
        ArgumentNullException.ThrowIfNull(KernelMatrix);
        ArgumentNullException.ThrowIfNull(Affinity);
        Logits.Validate();
        KernelMatrix.Validate();
        Affinity.Validate();
    }
}
