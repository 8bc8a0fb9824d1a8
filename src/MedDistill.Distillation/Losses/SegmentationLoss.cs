using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.Losses;

/// <summary>
/// Settings of the supervised loss L_seg = DiceWeight·Dice + FocalWeight·Focal (LOSS-SPEC.md, "Segmentation loss"). The
/// Affinity-KD paper says only that L_seg is Dice and/or focal; the defaults are EMKD's 0.5/0.5 with focal γ = 2.
/// </summary>
public sealed record SegmentationLossOptions
{
    /// <summary>Weight of the soft Dice loss (default 0.5). 0 leaves the term out.</summary>
    public double DiceWeight { get; init; } = 0.5;

    /// <summary>Weight of the focal loss (default 0.5). 0 leaves the term out.</summary>
    public double FocalWeight { get; init; } = 0.5;

    /// <summary>Focusing exponent γ of the focal loss (default 2; 0 makes it plain cross-entropy).</summary>
    public double FocalGamma { get; init; } = 2.0;

    /// <summary>Whether Dice also scores class 0, the background (default false: classes 1..C−1 only).</summary>
    public bool IncludeBackground { get; init; }

    /// <summary>
    /// ε added to numerator and denominator of each class's Dice (default 1e-5), so a class absent from both prediction and
    /// label scores 1 instead of 0/0.
    /// </summary>
    public double Smooth { get; init; } = 1e-5;

    /// <summary>
    /// Optional per-class focal weight α_c (one per logit channel; for a single-channel binary model two: background,
    /// foreground). Each pixel's focal term is multiplied by α of its true class and the mean stays over all pixels
    /// (not divided by Σα). Default null: no weighting.
    /// </summary>
    public IReadOnlyList<double>? ClassAlpha { get; init; }

    public void Validate()
    {
        const string owner = nameof(SegmentationLossOptions);
        TensorChecks.NonNegative(DiceWeight, nameof(DiceWeight), owner);
        TensorChecks.NonNegative(FocalWeight, nameof(FocalWeight), owner);
        if (DiceWeight == 0 && FocalWeight == 0) throw new ArgumentException($"{owner}: DiceWeight and FocalWeight are both 0");
        TensorChecks.NonNegative(FocalGamma, nameof(FocalGamma), owner);
        TensorChecks.Finite(Smooth, nameof(Smooth), owner, positive: true);
        if (ClassAlpha is { } alpha)
        {
            if (alpha.Count == 0) throw new ArgumentException($"{owner}: ClassAlpha is empty (use null for no weighting)");
            foreach (var a in alpha) TensorChecks.NonNegative(a, nameof(ClassAlpha) + " entries", owner);
        }
    }
}

/// <summary>
/// The supervised segmentation loss: soft Dice over the scored classes plus focal loss (LOSS-SPEC.md). Inputs are logits
/// (N, C, H, W) and int64 labels (N, H, W). A single-channel model (C = 1) is binary: its logit z is treated as the two-class
/// logits (0, z), so softmax gives (1 − σ(z), σ(z)) and every formula below applies unchanged with label 0/1.
/// <para>Every tensor created belongs to the caller's dispose scope.</para>
/// </summary>
public sealed class SegmentationLoss
{
    public const string DiceName = "dice";
    public const string FocalName = "focal";

    public SegmentationLoss(SegmentationLossOptions? options = null)
    {
        Options = options ?? new SegmentationLossOptions();
        Options.Validate();
    }

    public SegmentationLossOptions Options { get; }

    /// <summary>DiceWeight·Dice + FocalWeight·Focal (terms with weight 0 are not computed).</summary>
    public Tensor Compute(Tensor logits, Tensor label) => LossTerms.Total(Terms(logits, label));

    /// <summary>The weighted parts (<c>dice</c>, <c>focal</c>), each unweighted; terms with weight 0 are left out.</summary>
    public IReadOnlyList<LossTerm> Terms(Tensor logits, Tensor label)
    {
        // One log_softmax serves both terms (Dice takes its exp).
        var logProbs = Prepare(logits, label).log_softmax(1);
        var terms = new List<LossTerm>(2);
        if (Options.DiceWeight != 0) terms.Add(new LossTerm(DiceName, Options.DiceWeight, DiceOf(logProbs.exp(), label)));
        if (Options.FocalWeight != 0) terms.Add(new LossTerm(FocalName, Options.FocalWeight, FocalOf(logProbs, label)));
        return terms;
    }

    /// <summary>
    /// 1 − mean over scored classes c of (2·Σ P_c·G_c + ε) / (Σ P_c + Σ G_c + ε), sums over the whole batch (N, H, W).
    /// Scored classes: 1..C−1, or all with <see cref="SegmentationLossOptions.IncludeBackground"/>.
    /// </summary>
    public Tensor Dice(Tensor logits, Tensor label) => DiceOf(Prepare(logits, label).softmax(1), label);

    /// <summary>Mean over pixels of −α_y·(1 − p_y)^γ·log p_y, p_y the softmax probability of the true class.</summary>
    public Tensor Focal(Tensor logits, Tensor label) => FocalOf(Prepare(logits, label).log_softmax(1), label);

    private Tensor Prepare(Tensor logits, Tensor label)
    {
        var shape = TensorChecks.Map(logits, nameof(logits), nameof(SegmentationLoss));
        TensorChecks.Label(label, shape, nameof(SegmentationLoss));
        long classes = shape[1] == 1 ? 2 : shape[1];
        if (Options.ClassAlpha is { } alpha && alpha.Count != classes)
            throw new ArgumentException(
                $"{nameof(SegmentationLoss)}: ClassAlpha has {alpha.Count} entries but the logits have {classes} classes" +
                (shape[1] == 1 ? " (a single-channel binary model needs two: background, foreground)" : ""));
        // Binary model: the background logit is 0, so softmax over (0, z) is (1 − σ(z), σ(z)).
        return TensorChecks.AsClassLogits(logits);
    }

    private Tensor DiceOf(Tensor probs, Tensor label)
    {
        long classes = probs.size(1);
        // One-hot as a broadcast comparison with the class indices: one pass, where one_hot + permute takes ten times longer.
        var classIndices = arange(classes, ScalarType.Int64, label.device).view(1, classes, 1, 1);
        var truth = label.unsqueeze(1).eq(classIndices).to(probs.dtype);
        long[] batchAndPixels = [0, 2, 3];
        var intersection = probs.mul(truth).sum(batchAndPixels);
        var denominator = probs.sum(batchAndPixels).add(truth.sum(batchAndPixels));
        double eps = Options.Smooth;
        var perClass = intersection.mul(2.0).add(eps).div(denominator.add(eps));
        var scored = Options.IncludeBackground ? perClass : perClass.narrow(0, 1, classes - 1);
        return 1.0 - scored.mean();
    }

    private Tensor FocalOf(Tensor logProbs, Tensor label)
    {
        var logTrue = logProbs.gather(1, label.unsqueeze(1)).squeeze(1);
        double gamma = Options.FocalGamma;
        Tensor weighted = gamma switch
        {
            0 => logTrue,
            // (1 − p)^γ with p = exp(log p); squaring avoids pow's general kernel for the default γ.
            2 => (1.0 - logTrue.exp()).square().mul(logTrue),
            _ => (1.0 - logTrue.exp()).pow(gamma).mul(logTrue),
        };
        if (Options.ClassAlpha is { } alpha)
        {
            var alphaTable = tensor(alpha.ToArray(), [alpha.Count], weighted.dtype, weighted.device);
            weighted = weighted.mul(alphaTable.index(label));
        }
        return weighted.mean().neg();
    }
}
