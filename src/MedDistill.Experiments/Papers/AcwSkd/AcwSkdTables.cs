using System.Text;
using MedDistill.Evaluation;
using MedDistill.Evaluation.Statistics;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// Fills ACW-SKD's main and ablation tables from finished runs. A class cell is the mean over the test cases of that
/// organ's 3D Dice (cases where the organ is in neither reference nor prediction do not count; an M2caiSeg frame is a
/// case of depth 1, so there it is 2D Dice); <c>mean_dice</c> and <c>mean_hd95</c> average the class cells, as
/// TransUNet-style tables do; M2caiSeg's tables add <c>miou</c> (<see cref="DatasetMeanIou"/>). Rows the harness does not implement hold
/// <c>n/r</c>. The published tables are empty: the paper's numbers are not available here (published/README.md).
/// </summary>
public static class AcwSkdTables
{
    public const string NotReproduced = "n/r";
    public const int Decimals = 4;

    public static IReadOnlyList<BuiltTable> Build(ExperimentProfile profile, IReadOnlyList<PlannedRun> plan, RunStore store, string publishedDir,
        IEnumerable<string> tables)
    {
        var result = new List<BuiltTable>();
        foreach (var name in tables)
        {
            var dataset = AcwSkdExperiment.Datasets(profile).First(d => name == d.Tag || name == d.Tag + "-ablation");
            bool ablation = name.EndsWith("-ablation", StringComparison.Ordinal);
            var columns = dataset.ClassNames.Append(AcwSkdExperiment.MeanDice).Append(AcwSkdExperiment.MeanHd95)
                .Concat(dataset.ReportsMeanIou ? [AcwSkdExperiment.MeanIou] : []).ToList();
            var rows = ablation ? AcwSkdExperiment.Ablation.Select(a => a.Row).ToList() : AcwSkdExperiment.MainRows.Select(m => m.Row).ToList();
            var published = PaperTables.ReadPublished(Path.Combine(publishedDir, name + ".csv"), rows, columns);
            var reproduced = new ResultTable("method", columns);
            var stats = new List<CellStats>();
            var baseline = plan.FirstOrDefault(r => r.Key == $"student/{AcwSkdExperiment.Student}/{dataset.Tag}");
            var baselineCases = baseline is not null && store.Folder(baseline.Id).IsFinished ? PerCaseMeanDice(store.Folder(baseline.Id)) : null;
            int missing = 0;
            foreach (var row in rows)
            {
                var run = plan.FirstOrDefault(r => r.Cells.Any(c => c.Table == name && c.Row == row));
                if (run is null)
                {
                    reproduced.AddRow(row, columns.ToDictionary(c => c, _ => (string?)NotReproduced));
                    continue;
                }
                var folder = store.Folder(run.Id);
                if (!folder.IsFinished)
                {
                    missing++;
                    reproduced.AddRow(row, new Dictionary<string, string?>());
                    continue;
                }
                var report = MetricsReport.Read(folder.MetricsPath);
                var values = new Dictionary<string, double?>();
                var dice = new List<double>();
                var hd = new List<double>();
                for (int k = 1; k <= dataset.ClassNames.Count; k++)
                {
                    var classRows = report.Cases.Where(c => c.ClassLabel == k && !BothEmpty(c)).ToList();
                    double? d = classRows.Count == 0 ? null : classRows.Average(c => c.Dice);
                    values[dataset.ClassNames[k - 1]] = d;
                    if (d is double dv) dice.Add(dv);
                    var finite = classRows.Select(c => c.Hd95).Where(double.IsFinite).ToList();
                    if (finite.Count > 0) hd.Add(finite.Average());
                }
                values[AcwSkdExperiment.MeanDice] = dice.Count > 0 ? dice.Average() : null;
                values[AcwSkdExperiment.MeanHd95] = hd.Count > 0 ? hd.Average() : null;
                if (dataset.ReportsMeanIou) values[AcwSkdExperiment.MeanIou] = DatasetMeanIou(report.Cases, dataset.ClassNames.Count);
                reproduced.AddRow(row, values, Decimals);
                stats.Add(PaperTables.PairedStats(name, row, AcwSkdExperiment.MeanDice, values[AcwSkdExperiment.MeanDice], PerCaseMeanDice(folder),
                    run == baseline ? null : baselineCases, AcwSkdExperiment.MainRows[1].Row));
            }
            result.Add(new BuiltTable(name, reproduced, published, PaperTables.Compare(reproduced, published, stats),
                Notes(name, dataset, profile, plan.Where(r => r.Cells.Any(c => c.Table == name))), missing) { Stats = stats });
        }
        return result;
    }

    /// <summary>
    /// mIoU as scene-segmentation benchmarks (PASCAL VOC) compute it: per class, intersection over union of the pixels
    /// summed over every test frame, then the mean over classes 1..<paramref name="foreground"/> that occur in some
    /// reference or prediction. Class 0 has no metric rows (it is the background, M2caiSeg's "unknown"), so it is not in
    /// the mean; null when no class occurs.
    /// </summary>
    public static double? DatasetMeanIou(IEnumerable<CaseMetrics> rows, int foreground)
    {
        var ious = rows.Where(r => r.ClassLabel >= 1 && r.ClassLabel <= foreground).GroupBy(r => r.ClassLabel)
            .Select(g => (Intersection: g.Sum(r => r.IntersectionVoxels), Union: g.Sum(r => r.PredictionVoxels + r.ReferenceVoxels - r.IntersectionVoxels)))
            .Where(c => c.Union > 0).Select(c => (double)c.Intersection / c.Union).ToList();
        return ious.Count > 0 ? ious.Average() : null;
    }

    /// <summary>Per test case: the mean Dice over the organs present in its reference or prediction.</summary>
    public static IReadOnlyDictionary<string, double> PerCaseMeanDice(RunFolder folder) =>
        MetricsReport.Read(folder.MetricsPath).Cases.Where(c => !BothEmpty(c)).GroupBy(c => c.CaseId)
            .ToDictionary(g => g.Key, g => g.Average(c => c.Dice), StringComparer.Ordinal);

    // An organ in neither volume says nothing about the method (the binary convention would score it 1).
    private static bool BothEmpty(CaseMetrics c) => c.ReferenceVoxels == 0 && c.PredictionVoxels == 0;

    private static string Notes(string table, AcwSkdDataset d, ExperimentProfile p, IEnumerable<PlannedRun> runs)
    {
        var s = p.Schedule;
        var sb = new StringBuilder();
        sb.Append($"# ACW-SKD {table}, profile `{p.Name}`\n\n");
        sb.Append($"Profile: {p.Description}.\n\n");
        sb.Append($"Data: {d.Title}, data set `{d.Dataset}`, cache `{d.Cache}` ({d.CacheSize}×{d.CacheSize}), the data set's own train/test lists ");
        sb.Append($"(`data.split.protocol = lists`; {AffinityKdExperiment.F(p.ValidationFraction)} of the training cases held out for checkpoint selection).\n\n");
        if (d.ReportsMeanIou)
        {
            sb.Append("Each frame is one case: RGB input (3 channels, `model.inChannels = data.channels = 3`), labels decoded from the colour masks with the authors' map. ");
            sb.Append("Each class cell is the mean 2D Dice over the test frames (a class in neither the reference nor the prediction of a frame is left out); ");
            sb.Append("`mean_dice` and `mean_hd95` average the class cells, HD95 in pixels of the source frame (the cache's spacing is the resize factor per axis); ");
            sb.Append("`miou` is PASCAL-VOC mIoU: per class, intersection over union summed over all test frames, averaged over the classes that occur ");
            sb.Append("(class 0, \"unknown\", the unlabelled remainder, is the background and has no metric). ");
        }
        else
        {
            sb.Append("Each organ cell is the mean 3D Dice over the test cases (an organ in neither the reference nor the prediction of a case is left out); ");
            sb.Append("`mean_dice` and `mean_hd95` (mm) average the organ cells. ");
        }
        sb.Append("**Published values are not available here** (only the abstract is): ");
        sb.Append("the published column of the compare file is empty, never invented; `published/README.md` says how to type them in. ");
        sb.Append("`n/r` marks rows the harness does not implement. The compare file gives `mean_dice` its per-case std, n and a two-sided ");
        sb.Append("Wilcoxon signed-rank p-value against the plain student on the same cases.\n\n");
        sb.Append("## Reconstructed choices (the abstract's sentence each serves: docs/distillation.md, \"ACW-SKD\")\n\n");
        sb.Append("| choice | value |\n| --- | --- |\n");
        void Row(string k, string v) => sb.Append($"| {k} | {v} |\n");
        Row("networks", $"student `{AcwSkdExperiment.Student}` (ResNet-18 encoder, U-Net decoder, auxiliary head at 1/4) at width {AffinityKdExperiment.F(p.StudentWidth)}; reference and offline teacher `{AcwSkdExperiment.Reference}` at width {AffinityKdExperiment.F(p.TeacherWidth)}; {d.InChannels} input channel{(d.InChannels == 1 ? "" : "s")}");
        Row("ACW-SKD", "self-distillation: the final branch teaches the auxiliary one; terms aux CE (0.4), class-wise relation KD, FRM (MSE + prototype reconstruction), adversarial temperature τ ∈ [1, 21] through gradient reversal with a cosine λ ramp to 1 (`method.options`)");
        Row("ablation", "aux head = `terms: aux`; + class-wise KD = `aux+cw`; + FRM = `aux+cw+frm`; + adversarial temperature = `aux+cw+frm+at` (the full method, the main table's run)");
        Row("baselines", "KD, AT, SKD (pixel + pair-wise), CWD from the U-Net teacher; BYOT-style self-KD on the same auxiliary head; a row without its method is n/r");
        s = d.Schedule ?? s;
        Row("schedule", $"{s.Optimizer}, lr {AffinityKdExperiment.F(s.LearningRate)}, {s.LrSchedule}, " + (s.Iterations is int it ? $"{it} steps" : $"{s.Epochs} epochs") +
            $", batch {s.BatchSize}" + (s.ValidateEvery is int v ? $", validation every {v} steps" : ""));
        Row("segmentation loss", "0.5·Dice + 0.5·focal (γ 2) over the foreground classes (the lab's pipeline uses CE + Dice: a named difference, `loss`)");
        if (d.Schedule is not null) Row("schedule choice", "this data set's own (`AcwSkdExperiment.M2caiSegSchedules`): few frames need fewer steps than the CT sets; 800 steps with 16 validations, where probes at 1600 steps levelled off by step 300–500");
        Row("seed", $"{p.Seed} for every run (`seed`)");
        sb.Append("\n## Runs\n\n| row | run |\n| --- | --- |\n");
        foreach (var r in runs)
            foreach (var c in r.Cells.Where(c => c.Table == table))
                sb.Append($"| {c.Row} | `{r.Id}` |\n");
        return sb.ToString();
    }
}
