namespace MedDistill.Evaluation;

/// <summary>
/// The metrics of one case and one class. Distances are in mm; NaN only under <see cref="EmptyMaskDistance.NaN"/> when exactly
/// one mask is empty. Equality treats NaN as equal to NaN (record equality uses <c>double.Equals</c>).
/// </summary>
public sealed record CaseMetrics
{
    public required string CaseId { get; init; }
    public required string Site { get; init; }

    /// <summary>The label value counted as foreground (0–255).</summary>
    public required int ClassLabel { get; init; }

    /// <summary>2 |P ∩ R| / (|P| + |R|); 1 when both are empty.</summary>
    public required double Dice { get; init; }

    /// <summary>95th percentile (NumPy linear) of the union of both directed surface-distance sets, as MedPy's <c>hd95</c>.</summary>
    public required double Hd95 { get; init; }

    /// <summary>Average symmetric surface distance: the mean of the union of both directed sets (sum of all distances / (|S_P| + |S_R|)).</summary>
    public required double Asd { get; init; }

    /// <summary>MedPy's <c>assd</c>: the mean of the two directed means. Differs from <see cref="Asd"/> when the surfaces differ in size.</summary>
    public required double AssdMedPy { get; init; }

    /// <summary>Hausdorff distance: the largest distance of either directed set.</summary>
    public required double Hd { get; init; }

    public required long PredictionVoxels { get; init; }
    public required long ReferenceVoxels { get; init; }
    public required long IntersectionVoxels { get; init; }

    public bool PredictionEmpty => PredictionVoxels == 0;
    public bool ReferenceEmpty => ReferenceVoxels == 0;
}
