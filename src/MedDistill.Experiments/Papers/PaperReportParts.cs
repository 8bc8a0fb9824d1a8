using System.Globalization;
using System.Text;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;

namespace MedDistill.Experiments.Papers;

/// <summary>The pieces the papers' reports share: the convergence table and a validation-curve chart.</summary>
public static class PaperReportParts
{
    /// <summary>"## Training" with every finished run's best validation Dice and the plateau test's verdict.</summary>
    public static void AppendConvergence(StringBuilder md, IEnumerable<PlannedRun> finished, RunStore store, Func<PlannedRun, string> label)
    {
        var convergence = finished.Select(r => (Run: r, C: Convergence.Of(store.Folder(r.Id)))).Where(x => x.C.BestDice is not null).ToList();
        md.Append("## Training\n\n");
        md.Append($"**Convergence.** {convergence.Count(x => x.C.Converged)} of {convergence.Count} finished runs converged by the stated criterion ");
        md.Append($"({Convergence.Criterion}).\n\n| run | best validation Dice | best of the first half | converged |\n| --- | --- | --- | --- |\n");
        foreach (var (run, c) in convergence)
            md.Append($"| {label(run)} | {F(c.BestDice)} | {F(c.FirstHalfBest)} | {(c.Converged ? "yes" : "no")} |\n");
    }

    /// <summary>Writes the validation curves of <paramref name="runs"/> to <paramref name="file"/> (SVG); false when none has a curve.</summary>
    public static bool WriteValidationChart(IEnumerable<PlannedRun> runs, RunStore store, Func<PlannedRun, string> label, string file, string title)
    {
        var series = runs.Select(r =>
        {
            var curve = Convergence.ValidationCurve(store.Folder(r.Id));
            return new ChartSeries(label(r), curve.Select(p => (double)p.Step).ToList(), curve.Select(p => p.Dice).ToList());
        }).Where(s => s.X.Count > 0).ToList();
        if (series.Count == 0) return false;
        AtomicFile.WriteAllText(file, new SvgChart
        {
            Title = title, XLabel = "step", YLabel = "validation Dice", YMin = 0, YMax = 1, Width = 760, Height = 420, Series = series,
        }.ToSvg());
        return true;
    }

    public static string F(double? v) => v is double d ? d.ToString("0.000", CultureInfo.InvariantCulture) : "";
}
