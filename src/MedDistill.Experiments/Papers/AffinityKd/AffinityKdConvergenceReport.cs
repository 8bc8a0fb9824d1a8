using System.Globalization;
using System.Text;
using MedDistill.Evaluation;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// The report's section on training: how many runs converged (<see cref="Convergence.Criterion"/>), the validation
/// curves of every run group on one target (against the step, so runs of different lengths compare), and the domain
/// shift measured on the runs trained without distillation.
/// </summary>
public static class AffinityKdConvergenceReport
{
    /// <summary>Groups of runs drawn together: a name and which plan keys belong to it.</summary>
    private static readonly (string Name, Func<PlannedRun, bool> Member)[] Groups =
    [
        ("teachers", r => r.IsTeacher),
        ("students w/o KD", r => !r.IsTeacher && r.Spec.Kind == RunSpec.TrainKind),
        ("students w/ Affinity-KD (Table 2)", r => r.Cells.Any(c => c.Table == "table2" && c.Row.Contains(" w/ T", StringComparison.Ordinal))),
        ("ENet ← DeepLabV3+ ablation and baselines (Tables 3–4)", r => r.Spec.Kind == RunSpec.DistillKind && r.Cells.Any(c => c.Table is "table3" or "table4")),
    ];

    public static (string Markdown, IReadOnlyList<ReportFigure> Figures) Write(IReadOnlyList<PlannedRun> plan, RunStore store, string figuresDir, string target)
    {
        var finished = plan.Where(r => store.Folder(r.Id).IsFinished).ToList();
        var md = new StringBuilder("## Training: convergence and domain shift\n\n");
        var (converged, count) = PaperRuns.Count(plan, store);
        md.Append($"**Convergence.** {converged} of {count} finished runs converged by the stated criterion ({Convergence.Criterion}); ");
        md.Append("`runs.csv` lists every run with its curve's summary. By group:\n\n| group | converged | median gain of the second half | median best validation Dice |\n| --- | --- | --- | --- |\n");
        var figures = new List<ReportFigure>();
        foreach (var (name, member) in Groups)
        {
            var runs = finished.Where(member).ToList();
            if (runs.Count == 0) continue;
            var c = runs.Select(r => Convergence.Of(store.Folder(r.Id))).Where(x => x.BestDice is not null).ToList();
            if (c.Count == 0) continue;
            md.Append($"| {name} | {c.Count(x => x.Converged)}/{c.Count} | {F(AffinityKdDomainShift.Median(c.Select(x => x.BestDice!.Value - x.FirstHalfBest!.Value)))} | " +
                      $"{F(AffinityKdDomainShift.Median(c.Select(x => x.BestDice!.Value)))} |\n");

            var onTarget = runs.Where(r => r.Spec.Data.Split.Target == target).ToList();
            if (onTarget.Count == 0) continue;
            var series = onTarget.Select(r =>
            {
                var curve = Convergence.ValidationCurve(store.Folder(r.Id));
                return new ChartSeries(Label(r), curve.Select(p => (double)p.Step).ToList(), curve.Select(p => p.Dice).ToList());
            }).Where(s => s.X.Count > 0).ToList();
            if (series.Count == 0) continue;
            var file = Path.Combine(figuresDir, $"validation-{Slug(name)}-{target}.svg");
            AtomicFile.WriteAllText(file, new SvgChart
            {
                Title = $"Validation Dice, {name}, target {target}", XLabel = "step", YLabel = "validation Dice", YMin = 0, YMax = 1,
                Width = 760, Height = 420, Series = series,
            }.ToSvg());
            figures.Add(new ReportFigure(file, $"Validation Dice against the step, {name}, target {target}"));
        }

        var shift = AffinityKdDomainShift.Rows(plan, store);
        if (shift.Count > 0)
        {
            md.Append("\n**Domain shift.** Best validation Dice on held-out cases of the five training sites → Dice on the unseen target site (difference), ");
            md.Append("for every run trained without distillation (`domain-shift.csv`):\n\n");
            md.Append(AffinityKdDomainShift.Markdown(shift));
        }
        return (md.ToString(), figures);
    }

    private static string Label(PlannedRun r)
    {
        var cell = r.Cells.FirstOrDefault();
        return cell is null ? r.Key : cell.Table == "table4" || cell.Table == "table3" ? cell.Row : r.Spec.Model.Name + (r.Spec.Teacher is null ? "" : " " + cell.Row);
    }

    private static string Slug(string s) => new(s.ToLowerInvariant().Select(ch => char.IsLetterOrDigit(ch) ? ch : '-').ToArray());

    private static string F(double v) => double.IsNaN(v) ? "" : v.ToString("0.000", CultureInfo.InvariantCulture);
}
