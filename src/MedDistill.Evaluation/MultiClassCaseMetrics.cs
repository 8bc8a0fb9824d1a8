namespace MedDistill.Evaluation;

/// <summary>Choices for multi-class metrics that the binary <see cref="MetricsOptions"/> does not cover.</summary>
public sealed record MultiClassOptions
{
    public static MultiClassOptions Default { get; } = new();

    /// <summary>The binary options used for each class's surface distances (one-mask-empty policy, threads).</summary>
    public MetricsOptions Metrics { get; init; } = MetricsOptions.Default;

    /// <summary>
    /// Whether mIoU averages over every class (background and any other non-foreground class included) or over the foreground
    /// classes only. Default true: M2caiSeg-style scene-segmentation papers report PASCAL-VOC mIoU, which counts background as
    /// a class like any other.
    /// </summary>
    public bool MeanIouIncludesBackground { get; init; } = true;
}

/// <summary>
/// The metrics of one class in one case, from the class's voxels inside the evaluation mask (the whole volume without one).
/// A class absent from both reference and prediction has <see cref="Absent"/> set and NaN for every metric that would be 0/0 or
/// a perfect score by convention (Dice, IoU, sensitivity, HD95, ASD, HD); specificity stays defined (1) because TN &gt; 0.
/// Surface distances are computed for foreground classes only; for the others they are NaN and <see cref="IsForeground"/> is false.
/// </summary>
public sealed record ClassMetrics
{
    public required int ClassLabel { get; init; }
    public required bool IsForeground { get; init; }

    public required long TruePositives { get; init; }
    public required long FalsePositives { get; init; }
    public required long FalseNegatives { get; init; }
    public required long TrueNegatives { get; init; }

    /// <summary>2TP / (2TP + FP + FN); 0 when the class is in only one of the two volumes; NaN when absent from both.</summary>
    public required double Dice { get; init; }

    /// <summary>TP / (TP + FP + FN) (Jaccard); 0 or NaN as <see cref="Dice"/>.</summary>
    public required double Iou { get; init; }

    /// <summary>TP / (TP + FN); NaN when the reference has no voxel of the class (nothing to detect).</summary>
    public required double Sensitivity { get; init; }

    /// <summary>TN / (TN + FP); NaN only when the class fills the whole evaluated region in the reference.</summary>
    public required double Specificity { get; init; }

    /// <summary>As <see cref="CaseMetrics.Hd95"/> on the class's masks; the empty-mask policy applies when only one mask is empty.</summary>
    public required double Hd95 { get; init; }

    /// <summary>As <see cref="CaseMetrics.Asd"/> (mean of the union of both directed sets).</summary>
    public required double Asd { get; init; }

    /// <summary>As <see cref="CaseMetrics.Hd"/>.</summary>
    public required double Hd { get; init; }

    public long PredictionVoxels => TruePositives + FalsePositives;
    public long ReferenceVoxels => TruePositives + FalseNegatives;
    public bool Absent => PredictionVoxels == 0 && ReferenceVoxels == 0;
}

/// <summary>
/// The multi-class metrics of one case: one <see cref="ClassMetrics"/> per class 0..K−1 and the per-case means. Means skip
/// NaN (absent classes, and distances under <see cref="EmptyMaskDistance.NaN"/>); a mean with nothing to average is NaN.
/// </summary>
public sealed record MultiClassCaseMetrics
{
    public required string CaseId { get; init; }
    public required string Site { get; init; }

    /// <summary>Indexed by class label: <c>Classes[c].ClassLabel == c</c>.</summary>
    public required IReadOnlyList<ClassMetrics> Classes { get; init; }

    /// <summary>Voxels counted: those inside the mask, or the whole volume without one.</summary>
    public required long EvaluatedVoxels { get; init; }

    /// <summary>Mean Dice over the foreground classes that are not <see cref="ClassMetrics.Absent"/>.</summary>
    public required double MeanDice { get; init; }

    /// <summary>Mean HD95 over the foreground classes with a non-NaN HD95.</summary>
    public required double MeanHd95 { get; init; }

    /// <summary>Mean IoU over all classes or the foreground ones (<see cref="MeanIouIncludesBackground"/>), absent ones skipped.</summary>
    public required double MeanIou { get; init; }

    public required bool MeanIouIncludesBackground { get; init; }

    /// <summary>Voxels whose predicted label equals the reference label, over <see cref="EvaluatedVoxels"/>.</summary>
    public required double PixelAccuracy { get; init; }

    public IEnumerable<ClassMetrics> Foreground => Classes.Where(c => c.IsForeground);
}
