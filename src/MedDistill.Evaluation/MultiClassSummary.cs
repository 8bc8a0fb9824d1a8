namespace MedDistill.Evaluation;

/// <summary>
/// One class over a group of cases: mean and sample standard deviation of each metric (<see cref="MetricStats"/>). A case
/// where the class is absent contributes NaN, so it is left out and counted in each metric's <c>Excluded</c>.
/// </summary>
public sealed record ClassSummary
{
    public required int ClassLabel { get; init; }
    public required bool IsForeground { get; init; }
    public required int Cases { get; init; }
    public required int AbsentCases { get; init; }
    public required MetricStats Dice { get; init; }
    public required MetricStats Iou { get; init; }
    public required MetricStats Sensitivity { get; init; }
    public required MetricStats Specificity { get; init; }
    public required MetricStats Hd95 { get; init; }
    public required MetricStats Asd { get; init; }
}

/// <summary>
/// Multi-class metrics over a group of cases (one site, or all with <see cref="Site"/> null). Two "averages over classes"
/// are kept apart because papers use both and they differ when a class is missing from some cases:
/// <list type="bullet">
/// <item><c>*OfClassMeans</c>: per class, the mean over cases; then the mean of those per-class means (TransUNet-style
/// Synapse tables: the "average" column is the mean of the organ columns).</item>
/// <item><c>Case*</c>: per case, the mean over classes (<see cref="MultiClassCaseMetrics.MeanDice"/> …); then mean and
/// sample std over cases.</item>
/// </list>
/// </summary>
public sealed record MultiClassSummary
{
    public required string? Site { get; init; }
    public required int Cases { get; init; }

    /// <summary>Indexed by class label.</summary>
    public required IReadOnlyList<ClassSummary> Classes { get; init; }

    /// <summary>Mean over foreground classes of the per-class mean Dice; null when no foreground class has one.</summary>
    public required double? MeanDiceOfClassMeans { get; init; }
    public required double? MeanHd95OfClassMeans { get; init; }

    /// <summary>Over all classes or the foreground ones, as the cases' <see cref="MultiClassCaseMetrics.MeanIouIncludesBackground"/>.</summary>
    public required double? MeanIouOfClassMeans { get; init; }
    public required bool MeanIouIncludesBackground { get; init; }

    public required MetricStats CaseMeanDice { get; init; }
    public required MetricStats CaseMeanHd95 { get; init; }
    public required MetricStats CaseMeanIou { get; init; }
    public required MetricStats PixelAccuracy { get; init; }

    /// <summary>
    /// The summary of <paramref name="rows"/>. All rows must share the class count, the foreground classes and the mIoU
    /// choice: a mean over cases of differently defined numbers would mean nothing. Rows are taken in the order given.
    /// </summary>
    public static MultiClassSummary Of(string? site, IReadOnlyCollection<MultiClassCaseMetrics> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("no case to summarise", nameof(rows));
        var first = rows.First();
        int classCount = first.Classes.Count;
        foreach (var row in rows)
        {
            if (row.Classes.Count != classCount)
                throw new ArgumentException($"case '{row.CaseId}' has {row.Classes.Count} classes, case '{first.CaseId}' has {classCount}", nameof(rows));
            for (int c = 0; c < classCount; c++)
                if (row.Classes[c].IsForeground != first.Classes[c].IsForeground)
                    throw new ArgumentException($"class {c} is foreground in one of cases '{first.CaseId}' and '{row.CaseId}' but not the other", nameof(rows));
            if (row.MeanIouIncludesBackground != first.MeanIouIncludesBackground)
                throw new ArgumentException($"cases '{first.CaseId}' and '{row.CaseId}' define mIoU differently (background included or not)", nameof(rows));
        }

        var classes = new ClassSummary[classCount];
        for (int c = 0; c < classCount; c++)
        {
            var perCase = rows.Select(r => r.Classes[c]).ToArray();
            classes[c] = new ClassSummary
            {
                ClassLabel = c,
                IsForeground = first.Classes[c].IsForeground,
                Cases = perCase.Length,
                AbsentCases = perCase.Count(m => m.Absent),
                Dice = MetricStats.Of(perCase.Select(m => m.Dice)),
                Iou = MetricStats.Of(perCase.Select(m => m.Iou)),
                Sensitivity = MetricStats.Of(perCase.Select(m => m.Sensitivity)),
                Specificity = MetricStats.Of(perCase.Select(m => m.Specificity)),
                Hd95 = MetricStats.Of(perCase.Select(m => m.Hd95)),
                Asd = MetricStats.Of(perCase.Select(m => m.Asd)),
            };
        }
        var fg = classes.Where(c => c.IsForeground).ToArray();
        var iouClasses = first.MeanIouIncludesBackground ? classes : fg;
        return new MultiClassSummary
        {
            Site = site,
            Cases = rows.Count,
            Classes = classes,
            MeanDiceOfClassMeans = MeanOfMeans(fg.Select(c => c.Dice)),
            MeanHd95OfClassMeans = MeanOfMeans(fg.Select(c => c.Hd95)),
            MeanIouOfClassMeans = MeanOfMeans(iouClasses.Select(c => c.Iou)),
            MeanIouIncludesBackground = first.MeanIouIncludesBackground,
            CaseMeanDice = MetricStats.Of(rows.Select(r => r.MeanDice)),
            CaseMeanHd95 = MetricStats.Of(rows.Select(r => r.MeanHd95)),
            CaseMeanIou = MetricStats.Of(rows.Select(r => r.MeanIou)),
            PixelAccuracy = MetricStats.Of(rows.Select(r => r.PixelAccuracy)),
        };
    }

    /// <summary>A class with no value in any case (absent everywhere) has no mean and does not enter the mean of means.</summary>
    private static double? MeanOfMeans(IEnumerable<MetricStats> stats)
    {
        var means = stats.Where(s => s.Mean.HasValue).Select(s => s.Mean!.Value).ToArray();
        return means.Length == 0 ? null : MultiClassMetrics.MeanSkippingNaN(means);
    }
}
