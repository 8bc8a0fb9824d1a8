namespace MedDistill.Evaluation;

/// <summary>
/// Mean and sample standard deviation of one metric over a group of cases. NaN values (distances under
/// <see cref="EmptyMaskDistance.NaN"/>) are left out and counted in <see cref="Excluded"/>.
/// </summary>
/// <param name="Mean">Arithmetic mean of the <see cref="Count"/> values; null when there is none.</param>
/// <param name="StandardDeviation">Sample standard deviation, √(Σ(x − mean)² / (n − 1)); null when fewer than two values (undefined, and 0 would claim no spread).</param>
/// <param name="Count">Values that entered the mean.</param>
/// <param name="Excluded">NaN values left out.</param>
public sealed record MetricStats(double? Mean, double? StandardDeviation, int Count, int Excluded)
{
    public static MetricStats Of(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var kept = new List<double>();
        int excluded = 0;
        foreach (var v in values)
        {
            if (double.IsNaN(v)) excluded++;
            else kept.Add(v);
        }
        if (kept.Count == 0) return new MetricStats(null, null, 0, excluded);
        double sum = 0;
        foreach (var v in kept) sum += v;
        double mean = sum / kept.Count;
        if (kept.Count == 1) return new MetricStats(mean, null, 1, excluded);
        // Two passes: the naive Σx² − n·mean² loses digits when the spread is small next to the mean (Dice near 0.9).
        double squares = 0;
        foreach (var v in kept) squares += (v - mean) * (v - mean);
        return new MetricStats(mean, Math.Sqrt(squares / (kept.Count - 1)), kept.Count, excluded);
    }
}

/// <summary>The summary of one class over a group of cases: one site (<see cref="Site"/> set) or all cases (<see cref="Site"/> null).</summary>
public sealed record MetricsSummary
{
    /// <summary>The site, or null for the summary over all sites.</summary>
    public required string? Site { get; init; }
    public required int ClassLabel { get; init; }

    /// <summary>Rows (cases) in the group.</summary>
    public required int Cases { get; init; }
    public required int PredictionEmptyCases { get; init; }
    public required int ReferenceEmptyCases { get; init; }
    public required MetricStats Dice { get; init; }
    public required MetricStats Hd95 { get; init; }
    public required MetricStats Asd { get; init; }
    public required MetricStats AssdMedPy { get; init; }
    public required MetricStats Hd { get; init; }

    /// <summary>The summary of <paramref name="rows"/>, all of one class. Rows are taken in the order given (sums are order-sensitive in the last bit).</summary>
    public static MetricsSummary Of(string? site, int classLabel, IReadOnlyCollection<CaseMetrics> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Any(r => r.ClassLabel != classLabel))
            throw new ArgumentException($"rows of class {classLabel} expected, found class {rows.First(r => r.ClassLabel != classLabel).ClassLabel}", nameof(rows));
        return new MetricsSummary
        {
            Site = site,
            ClassLabel = classLabel,
            Cases = rows.Count,
            PredictionEmptyCases = rows.Count(r => r.PredictionEmpty),
            ReferenceEmptyCases = rows.Count(r => r.ReferenceEmpty),
            Dice = MetricStats.Of(rows.Select(r => r.Dice)),
            Hd95 = MetricStats.Of(rows.Select(r => r.Hd95)),
            Asd = MetricStats.Of(rows.Select(r => r.Asd)),
            AssdMedPy = MetricStats.Of(rows.Select(r => r.AssdMedPy)),
            Hd = MetricStats.Of(rows.Select(r => r.Hd)),
        };
    }
}
