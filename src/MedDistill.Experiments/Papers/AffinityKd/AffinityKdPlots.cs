using MedDistill.Evaluation;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// The plots under each table of the Affinity-KD report: reproduced vs published, bars per site with the spread over
/// the target's test cases (from each run's metrics.json), and the training curves of the table's runs on
/// <see cref="AffinityKdReport.CurvesTarget"/> (one run group per table).
/// </summary>
public static class AffinityKdPlots
{
    public static IReadOnlyList<ReportFigure> ForTable(BuiltTable table, IReadOnlyList<PlannedRun> plan, RunStore store, string figuresDir)
    {
        // Which run fills each cell; its per-case Dice gives the bar's whisker.
        var runs = plan.SelectMany(r => r.Cells.Where(c => c.Table == table.Name).Select(c => (c.Row, c.Column, Run: r)))
            .GroupBy(x => (x.Row, x.Column)).ToDictionary(g => g.Key, g => g.First().Run);
        IReadOnlyList<double>? CaseDice(string row, string column)
        {
            if (!runs.TryGetValue((row, column), out var run)) return null;
            var folder = store.Folder(run.Id);
            if (!folder.IsFinished || !File.Exists(folder.MetricsPath)) return null;
            return MetricsReport.Read(folder.MetricsPath).Cases.Select(c => c.Dice).Where(double.IsFinite).ToList();
        }

        var reportTable = new ReportTable(table.Name, table.Reproduced, table.Published);
        var figures = TablePlots.Write(reportTable, figuresDir, CaseDice).ToList();
        figures.AddRange(Curves(table.Name, plan, store, figuresDir));
        return figures;
    }

    /// <summary>Loss and validation Dice per epoch of every finished run of <paramref name="tableName"/> on the curves target.</summary>
    private static IEnumerable<ReportFigure> Curves(string tableName, IReadOnlyList<PlannedRun> plan, RunStore store, string figuresDir)
    {
        var target = AffinityKdReport.CurvesTarget;
        var group = plan.Where(r => r.Cells.Any(c => c.Table == tableName && c.Column == target))
            .Select(r => (Run: r, Row: r.Cells.First(c => c.Table == tableName).Row))
            .Where(x => store.Folder(x.Run.Id).IsFinished).ToList();
        if (group.Count == 0) yield break;
        var (loss, dice) = TrainingCurves.Charts(group.Select(x => (x.Row, TrainingCurves.ReadEpochs(store.Folder(x.Run.Id).EpochLogPath))).ToList());
        foreach (var (chart, what) in new[] { (loss, "loss"), (dice, "dice") })
        {
            var stem = Path.Combine(figuresDir, $"curves-{tableName}-{target}-{what}");
            var png = chart.ToPng();
            AtomicFile.Write(stem + ".png", s => s.Write(png));
            AtomicFile.WriteAllText(stem + ".svg", chart.ToSvg());
            yield return new ReportFigure(stem + ".png",
                $"{tableName}: {(what == "loss" ? "training loss" : "validation Dice")} per epoch of its runs on target {target}", stem + ".svg");
        }
    }
}
