using System.Globalization;
using System.Text;
using MedDistill.Data.Splits;
using MedDistill.Evaluation;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Torch;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// ACW-SKD's report.md: the tables with their per-case spread and paired tests, each run's convergence, validation
/// curves per data set, an overlay of the full method on a test case of each data set, and what the tables say about
/// the abstract's claims (measured only; the published numbers are not available).
/// </summary>
public static class AcwSkdReport
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

        foreach (var d in AcwSkdExperiment.Datasets(profile))
        {
            var file = Path.Combine(figuresDir, $"validation-{d.Tag}.svg");
            if (PaperReportParts.WriteValidationChart(finished.Where(r => r.Spec.Data.Dataset == d.Dataset), store, Label, file,
                    $"Validation mean foreground Dice, {d.Title}"))
            {
                figures.Add(new ReportFigure(file, $"Validation Dice against the step, every run on {d.Title}"));
                written.Add(file);
            }
            // The full method on the first test case, its slice with the most organ voxels.
            var full = plan.FirstOrDefault(r => r.Cells.Any(c => c.Table == d.Tag && c.Row == "ACW-SKD (ours)"));
            if (full is null || !store.Folder(full.Id).IsFinished) continue;
            var prepared = PreparedRun.Prepare(full.Spec, store, dataDir);
            var caseId = prepared.Split[DataSplit.Test].Order(StringComparer.Ordinal).First();
            var overlay = OverlayRenderer.RenderSavedCase(prepared, caseId, device: device);
            var png = Path.Combine(figuresDir, $"overlay-acw-skd-{d.Tag}-{caseId.Replace('/', '-')}.png");
            overlay.Image.Save(png);
            figures.Add(new ReportFigure(png, $"ACW-SKD on {d.Title}: {caseId}, slice {overlay.SliceIndex} (organ boundaries; red: ground truth, green: prediction, yellow: both)"));
            written.Add(png);
        }

        md.Append("\n## The abstract's claims, measured (no published numbers to compare)\n\n");
        foreach (var t in tables.Where(t => !t.Name.EndsWith("-ablation", StringComparison.Ordinal)))
            md.Append(Claims(t));

        var reportTables = tables.Select(t => new ReportTable(t.Name, t.Reproduced, t.Published, Caption: Caption(t.Name),
            Annotations: PaperTables.Annotations(t))).ToList();
        var notes = $"Profile `{profile.Name}`: {profile.Description}. ACW-SKD is reconstructed from its abstract; every choice is in the tables' " +
                    "`.notes.md` and docs/distillation.md. Organ cells are mean 3D Dice over the test cases (M2caiSeg: 2D Dice over the test " +
                    "frames, with PASCAL-VOC `miou` and HD95 in source pixels); `mean_dice`±std is over the cases' " +
                    "mean Dice, with `↑`/`↓` and `*` (p < 0.05) / `**` (p < 0.01) from a two-sided Wilcoxon signed-rank test against the plain " +
                    "student on the same cases. The published column is empty: only the abstract is available.";
        var report = Path.Combine(folder, "report.md");
        ReportWriter.Write(report, $"ACW-SKD reproduction, profile {profile.Name}", reportTables, notes, figures, md.ToString());
        written.Add(report);
        return written;
    }

    /// <summary>"surpasses ... offline KD, self-KD and U-Net": ACW-SKD's mean Dice against every other row, with the paired test where there is one.</summary>
    private static string Claims(BuiltTable t)
    {
        var sb = new StringBuilder($"**{t.Name}.** ");
        var ours = t.Reproduced.Value("ACW-SKD (ours)", AcwSkdExperiment.MeanDice);
        if (ours is not double o) return sb.Append("ACW-SKD has no finished run.\n\n").ToString();
        var beaten = new List<string>();
        var notBeaten = new List<string>();
        foreach (var row in t.Reproduced.RowLabels.Where(r => r != "ACW-SKD (ours)"))
            if (t.Reproduced.Value(row, AcwSkdExperiment.MeanDice) is double v)
                (o > v ? beaten : notBeaten).Add($"{row} {v.ToString("0.000", CultureInfo.InvariantCulture)}");
        var vsStudent = t.Stats.FirstOrDefault(s => s.Row == "ACW-SKD (ours)" && s.Column == AcwSkdExperiment.MeanDice);
        sb.Append($"ACW-SKD's mean Dice {o.ToString("0.000", CultureInfo.InvariantCulture)} ");
        sb.Append(notBeaten.Count == 0 ? "is the highest of the table" : $"is below {string.Join(", ", notBeaten)}");
        if (beaten.Count > 0) sb.Append($"; above {string.Join(", ", beaten)}");
        if (vsStudent?.PValue is double p) sb.Append($". Against the plain student: p = {AffinityKdStatistics.FormatP(p)} (Wilcoxon, n = {vsStudent.N})");
        return sb.Append(notBeaten.Count == 0 ? ". The claim holds here.\n\n" : ". The claim does not hold here.\n\n").ToString();
    }

    private static string Label(PlannedRun r) => r.Cells.FirstOrDefault() is { } c ? $"{c.Row} ({c.Column})" : r.Key;

    private static string Caption(string table) => table switch
    {
        "synapse" => "Synapse-like phantom: Dice per organ, mean Dice and mean HD95 (mm)",
        "flare" => "FLARE22-like phantom: Dice per organ, mean Dice and mean HD95 (mm)",
        "synapse-ablation" => "Ablation on the Synapse-like phantom: auxiliary head, + class-wise KD, + FRM, + adversarial temperature",
        "flare-ablation" => "Ablation on the FLARE22-like phantom",
        "m2caiseg" => "M2caiSeg-like laparoscopy phantom: Dice per class, mean Dice, mean HD95 (source pixels) and mIoU",
        "m2caiseg-ablation" => "Ablation on the M2caiSeg-like laparoscopy phantom",
        _ => table,
    };

    private static string F(double? v) => PaperReportParts.F(v);
}
