using System.Globalization;
using System.Text;
using MedDistill.Data.Splits;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Torch;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// GKD's report.md: the tables with their spread and paired tests, each run's convergence, validation curves per task,
/// GKD's prediction on one test case of every domain, and the abstract's claims measured against the tables.
/// </summary>
public static class GkdReport
{
    public static IReadOnlyList<string> Write(ExperimentProfile profile, IReadOnlyList<PlannedRun> plan, IReadOnlyList<BuiltTable> tables,
        RunStore store, string dataDir, string folder, Device device)
    {
        var written = new List<string>();
        var figuresDir = Path.Combine(folder, "figures");
        Directory.CreateDirectory(figuresDir);
        var figures = new List<ReportFigure>();
        var md = new StringBuilder();

        var finished = plan.Where(r => store.Folder(r.Id).IsFinished).ToList();
        PaperReportParts.AppendConvergence(md, finished, store, Label);

        foreach (var task in GkdExperiment.Tasks(profile))
        {
            var file = Path.Combine(figuresDir, $"validation-{task.Tag}.svg");
            if (PaperReportParts.WriteValidationChart(finished.Where(r => r.Spec.Data.Dataset == task.Dataset), store, Label, file,
                    $"Validation Dice on the source domain, {task.Title}"))
            {
                figures.Add(new ReportFigure(file, $"Validation Dice ({task.Source} held-out training cases) against the step, every run of {task.Title}"));
                written.Add(file);
            }
            var full = plan.FirstOrDefault(r => r.Cells.Any(c => c.Table == task.Tag && c.Row == GkdExperiment.OursRow));
            if (full is null || !store.Folder(full.Id).IsFinished) continue;
            var prepared = PreparedRun.Prepare(full.Spec, store, dataDir);
            foreach (var domain in task.Domains)
            {
                var caseId = prepared.Split[DataSplit.Test].Where(id => prepared.Cache.Cases.Any(c => c.Id == id && c.Site == domain)).Order(StringComparer.Ordinal).FirstOrDefault();
                if (caseId is null) continue;
                var overlay = OverlayRenderer.RenderSavedCase(prepared, caseId, device: device);
                var png = Path.Combine(figuresDir, $"overlay-gkd-{task.Tag}-{caseId.Replace('/', '-')}.png");
                overlay.Image.Save(png);
                figures.Add(new ReportFigure(png, $"GKD's student on {domain} ({task.Title}): {caseId}, slice {overlay.SliceIndex} (red: ground truth, green: prediction, yellow: both)"));
                written.Add(png);
            }
        }

        md.Append("\n## The abstract's claims, measured (no published numbers to compare)\n\n");
        foreach (var task in GkdExperiment.Tasks(profile))
            md.Append(Claims(task, tables));

        var reportTables = tables.Select(t => new ReportTable(t.Name, t.Reproduced, t.Published, Caption: t.Name, Annotations: PaperTables.Annotations(t))).ToList();
        var notes = $"Profile `{profile.Name}`: {profile.Description}. GKD is reconstructed from its abstract and the authors' partial network code; " +
                    "every choice is in the tables' `.notes.md` and docs/gkd.md. Cells are means over a domain's test cases; ±std is over the cases, " +
                    "`↑`/`↓` with `*` (p < 0.05) / `**` (p < 0.01) from a two-sided Wilcoxon signed-rank test against the same network without distillation. " +
                    "The published column is empty: no number of the paper is public.";
        var report = Path.Combine(folder, "report.md");
        ReportWriter.Write(report, $"GKD reproduction, profile {profile.Name}", reportTables, notes, figures, md.ToString());
        written.Add(report);
        return written;
    }

    /// <summary>"superiority ... in terms of performance and generalization": GKD's Dice against every other method on each domain, and its FSD against the student's.</summary>
    private static string Claims(GkdTask task, IReadOnlyList<BuiltTable> tables)
    {
        var sb = new StringBuilder($"**{task.Title}.**\n\n");
        var main = tables.FirstOrDefault(t => t.Name == task.Tag);
        if (main is null || main.Reproduced.Value(GkdExperiment.OursRow, $"{task.Source}_dice") is null)
            return sb.Append("GKD has no finished run.\n\n").ToString();
        foreach (var domain in task.Domains)
        {
            var column = $"{domain}_dice";
            var ours = main.Reproduced.Value(GkdExperiment.OursRow, column);
            if (ours is not double o) continue;
            var better = main.Reproduced.RowLabels.Where(r => r != GkdExperiment.OursRow && r != GkdExperiment.TeacherRow)
                .Where(r => main.Reproduced.Value(r, column) is double v && v >= o).ToList();
            var vs = main.Stats.FirstOrDefault(s => s.Row == GkdExperiment.OursRow && s.Column == column);
            sb.Append($"- {domain}{(domain == task.Source ? " (source)" : " (unseen)")}: GKD Dice {o.ToString("0.000", CultureInfo.InvariantCulture)}; ");
            sb.Append(better.Count == 0 ? "the best of the students" : $"not above {string.Join(", ", better)}");
            if (vs?.PValue is double p) sb.Append($"; vs the plain student p = {AffinityKdStatistics.FormatP(p)} (n = {vs.N}, {(vs.Direction > 0 ? "higher" : vs.Direction < 0 ? "lower" : "tied")})");
            sb.Append(better.Count == 0 ? " — holds.\n" : " — does not hold.\n");
        }
        var fsd = tables.FirstOrDefault(t => t.Name == task.Tag + "-fsd");
        if (fsd is not null)
            foreach (var target in task.Targets)
            {
                var col = $"fsd_{target}";
                if (fsd.Reproduced.Value(GkdExperiment.OursRow, col) is double g && fsd.Reproduced.Value(GkdExperiment.StudentRow, col) is double s)
                    sb.Append($"- FSD {task.Source}→{target}: GKD {g.ToString("0.###", CultureInfo.InvariantCulture)}, plain student {s.ToString("0.###", CultureInfo.InvariantCulture)} — " +
                              (g < s ? "GKD's features are closer across domains.\n" : "GKD's features are not closer across domains.\n"));
            }
        return sb.Append('\n').ToString();
    }

    private static string Label(PlannedRun r) => r.Cells.FirstOrDefault() is { } c ? $"{c.Row} ({c.Column})" : r.Key;

    private static string F(double? v) => PaperReportParts.F(v);
}
