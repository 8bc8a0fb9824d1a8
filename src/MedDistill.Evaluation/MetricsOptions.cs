namespace MedDistill.Evaluation;

/// <summary>What the surface distances of a case are when exactly one of prediction and reference has no foreground voxel.</summary>
public enum EmptyMaskDistance
{
    /// <summary>
    /// HD, HD95, ASD and ASSD (MedPy) are the volume's physical diagonal in mm (<see cref="VolumeGrid.PhysicalDiagonalMm"/>):
    /// a finite worst case, so every case counts in the means and a missed organ is penalised, not skipped.
    /// </summary>
    VolumeDiagonal,

    /// <summary>The distances are NaN: written as null in JSON, left out of means and standard deviations, and counted as excluded.</summary>
    NaN,
}

/// <summary>Choices the papers leave open when computing the metrics of one case.</summary>
public sealed record MetricsOptions
{
    public static MetricsOptions Default { get; } = new();

    /// <summary>Surface distances when exactly one mask is empty. Default <see cref="EmptyMaskDistance.VolumeDiagonal"/>.</summary>
    public EmptyMaskDistance EmptyMaskDistance { get; init; } = EmptyMaskDistance.VolumeDiagonal;

    /// <summary>
    /// Threads for the distance transforms of a case whose masks span a large box (small boxes always run on one); −1 lets
    /// the runtime choose. Not a metric choice: every value gives the same numbers bit for bit. Set 1 when the caller already
    /// evaluates cases in parallel. Default −1.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;
}
