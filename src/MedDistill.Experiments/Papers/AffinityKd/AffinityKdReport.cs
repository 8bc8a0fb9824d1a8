using MedDistill.Data.Splits;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;
using MedDistill.Torch;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// report.md of a profile: Tables 1–4 with published values and deltas beside the reproduced ones, each followed by its
/// plots (<see cref="AffinityKdPlots"/>: reproduced vs published, bars per site, training curves on one target), and overlays in the manner of the paper's Fig. 3 (ENet
/// distilled from DeepLabV3+ on S4 and S6; red ground truth, green prediction).
/// </summary>
public static class AffinityKdReport
{
    /// <summary>The target whose runs' training curves are plotted, and the targets of the overlays (the paper's Fig. 3).</summary>
    public const string CurvesTarget = "S4";
    public static readonly string[] OverlayTargets = ["S4", "S6"];

    /// <param name="seeds">Tables across seeds (<c>--seeds N</c>), shown after the tables; none by default.</param>
    /// <returns>The files written (report.md, claims.csv and the figures).</returns>
    public static IReadOnlyList<string> Write(ExperimentProfile profile, IReadOnlyList<PlannedRun> plan, IReadOnlyList<BuiltTable> tables,
        RunStore store, string dataDir, string folder, Device device, IReadOnlyList<SeedTable>? seeds = null)
    {
        var written = new List<string>();
        var figuresDir = Path.Combine(folder, "figures");
        Directory.CreateDirectory(figuresDir);
        var figures = new List<ReportFigure>();

        // Overlays: ENet w/ T1 (all three terms), the first test case of each target, its slice with the most prostate.
        foreach (var target in OverlayTargets)
        {
            var run = plan.FirstOrDefault(r => r.Cells.Any(c => c.Row == "ENet w/ T1" && c.Column == target) || r.Key == $"distill/enet/deeplabv3plus/lm+kmm+aam/{target}");
            if (run is null || !store.Folder(run.Id).IsFinished) continue;
            var prepared = PreparedRun.Prepare(run.Spec, store, dataDir);
            var caseId = prepared.Split[DataSplit.Test].Order(StringComparer.Ordinal).First();
            var overlay = OverlayRenderer.RenderSavedCase(prepared, caseId, device: device);
            var png = Path.Combine(figuresDir, $"overlay-enet-t1-{target}-{caseId.Replace('/', '-')}.png");
            overlay.Image.Save(png);
            figures.Add(new ReportFigure(png, $"ENet distilled from DeepLabV3+, target {target}: {overlay.Site} {caseId}, slice {overlay.SliceIndex} " +
                                              $"(red: ground truth, green: prediction, yellow: both)"));
            written.Add(png);
        }

        var reportTables = new List<ReportTable>();
        var table1 = Path.Combine(folder, "table1.csv");
        if (File.Exists(table1))
            reportTables.Add(new ReportTable("table1", Tables.ResultTable.Read(table1), Caption: "Table 1: parameters and FLOPs (the paper's convention; see table1.notes.md)"));
        foreach (var t in tables)
            reportTables.Add(new ReportTable(t.Name, t.Reproduced, t.Published, Caption: Caption(t.Name), Annotations: PaperTables.Annotations(t))
            {
                Figures = AffinityKdPlots.ForTable(t, plan, store, figuresDir),
            });
        written.AddRange(reportTables.SelectMany(t => t.Figures).SelectMany(f => f.Alternate is null ? [f.Path] : new[] { f.Path, f.Alternate }));
        foreach (var s in seeds ?? [])
            reportTables.Add(new ReportTable($"{s.Name} across seeds", s.Mean, Caption: $"{Caption(s.Name)}: mean ± sample std of the run seeds " +
                $"(n = seeds with a finished run; `{s.Name}.seeds.csv` lists each seed's value)", Annotations: s.Spread));
        var notes = $"Profile `{profile.Name}`: {profile.Description}. Each cell reads `reproduced±std mark (published, difference)`: " +
                    "std is the sample standard deviation of the per-case Dice over the target's test cases (over the six sites on `mean`); " +
                    "the mark compares the cell with its baseline (the same student without KD, the `vs` column of `<table>.compare.csv`) by a " +
                    "two-sided Wilcoxon signed-rank test on the same cases: `↑`/`↓` higher/lower than the baseline, `*` p < 0.05, `**` p < 0.01; " +
                    "no mark = not significant or no baseline. `n/r` = not reproduced (the method is not implemented). Every configuration choice " +
                    "is listed in the tables' `.notes.md` files; `<table>.compare.csv` holds the same comparison as data, with n and the p-values.";
        var byName = tables.ToDictionary(t => t.Name, t => t.Reproduced);
        var claims = AffinityKdClaims.Evaluate(byName, tables.SelectMany(t => t.Stats).ToList());
        var onPublished = AffinityKdClaims.Evaluate(tables.ToDictionary(t => t.Name, t => t.Published), []);
        var claimsCsv = Path.Combine(folder, "claims.csv");
        AtomicFile.WriteAllText(claimsCsv, AffinityKdClaims.ToCsv(claims, onPublished));
        written.Add(claimsCsv);
        var (training, trainingFigures) = AffinityKdConvergenceReport.Write(plan, store, figuresDir, CurvesTarget);
        figures.AddRange(trainingFigures);
        written.AddRange(trainingFigures.Select(f => f.Path));
        var sensitivity = Path.Combine(folder, "sensitivity.notes.md");
        var study = File.Exists(sensitivity)
            ? "## Sensitivity study\n\nWhich of the paper's open choices decide its claim: `sensitivity.csv`, `sensitivity.notes.md` (findings, the objective's " +
              "balance, every variant with the sentence of the paper it serves) and `figures/sensitivity.svg` (one chart per choice beside it) " +
              "(`./build.sh --target sensitivity`).\n\n"
            : "";
        var report = Path.Combine(folder, "report.md");
        ReportWriter.Write(report, $"Affinity-KD reproduction, profile {profile.Name}", reportTables, notes, figures,
            training + "\n" + study + AffinityKdClaims.ToMarkdown(claims, onPublished));
        written.Add(report);
        return written;
    }

    private static string Caption(string table) => table switch
    {
        "table2" => "Table 2: Dice per target site, teachers and students without (w/o) and with (w/) Affinity-KD from T1 (DeepLabV3+) and T2 (UNet++)",
        "table3" => "Table 3: ENet with Affinity-KD against distillation (MSKD, EMKD) and domain-generalisation (SAML, DRDG) methods",
        "table4" => "Table 4: ablation of LM, AAM and KMM, ENet ← DeepLabV3+",
        _ => table,
    };
}
