using MedDistill.Distillation.AffinityKd;
using MedDistill.Models;

namespace MedDistill.Distillation.Emkd;

/// <summary>A student feature tap and the teacher tap it is compared with.</summary>
public sealed record TapPair(string Student, string Teacher)
{
    public override string ToString() => $"{Student}~{Teacher}";
}

/// <summary>
/// Settings of the EMKD baseline (Qin et al., IEEE TMI 2021), without its segmentation loss:
/// 0.1·PMD + 0.9·IMD + 0.9·RAD (LOSS-SPEC.md, "EMKD").
/// </summary>
public sealed record EmkdOptions
{
    /// <summary>Weight of PMD, pixel-wise logits distillation (default 0.1).</summary>
    public double PixelWeight { get; init; } = 0.1;

    /// <summary>Weight of IMD, importance-map (attention) distillation (default 0.9).</summary>
    public double ImportanceMapWeight { get; init; } = 0.9;

    /// <summary>Weight of RAD, region-affinity distillation (default 0.9).</summary>
    public double RegionAffinityWeight { get; init; } = 0.9;

    /// <summary>PMD temperature T (default 4); PMD is KL(teacher ‖ student) of softmax(z/T), times T².</summary>
    public double Temperature { get; init; } = 4.0;

    /// <summary>Exponent p of the attention map A(f) = mean_c |f_c|^p (default 2, classic attention transfer).</summary>
    public double Power { get; init; } = 2.0;

    /// <summary>
    /// Tap pairs on which IMD and RAD are computed and summed (default: a low- and a high-level pair, encoder~encoder and
    /// decoder~decoder; EMKD's code uses two encoder stages, which the zoo's networks name differently).
    /// </summary>
    public IReadOnlyList<TapPair> TapPairs { get; init; } =
        [new(SegmentationModel.EncoderTap, SegmentationModel.EncoderTap), new(SegmentationModel.DecoderTap, SegmentationModel.DecoderTap)];

    public void Validate()
    {
        const string owner = nameof(EmkdOptions);
        TensorChecks.NonNegative(PixelWeight, nameof(PixelWeight), owner);
        TensorChecks.NonNegative(ImportanceMapWeight, nameof(ImportanceMapWeight), owner);
        TensorChecks.NonNegative(RegionAffinityWeight, nameof(RegionAffinityWeight), owner);
        TensorChecks.Finite(Temperature, nameof(Temperature), owner, positive: true);
        TensorChecks.Finite(Power, nameof(Power), owner, positive: true);
        if (TapPairs is null || TapPairs.Count == 0) throw new ArgumentException($"{owner}: TapPairs is empty");
        foreach (var pair in TapPairs)
            if (pair is null || string.IsNullOrWhiteSpace(pair.Student) || string.IsNullOrWhiteSpace(pair.Teacher))
                throw new ArgumentException($"{owner}: every tap pair needs a student and a teacher tap");
    }

    /// <summary>PMD as a logits-distillation setting: T = <see cref="Temperature"/>, KL(teacher ‖ student).</summary>
    public LogitsDistillationOptions PixelDistillation => new() { Temperature = Temperature, Direction = KlDirection.TeacherToStudent };
}
