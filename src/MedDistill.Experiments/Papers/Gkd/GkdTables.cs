using System.Text;
using MedDistill.Evaluation;
using MedDistill.Evaluation.Statistics;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// Fills GKD's tables from finished runs. A metric cell <c>&lt;domain&gt;_&lt;metric&gt;</c> is the mean over that domain's
/// test cases of the per-case value from <c>domain-metrics.csv</c> (inside the field of view for fundus images); its
/// compare line carries the per-case std, n and a two-sided Wilcoxon signed-rank p-value against the same network without
/// distillation on the same cases. The FSD table gives each run's Fréchet semantic distance between the source domain's
/// vectors (every source case) and each target domain's (its test cases). The published tables are empty: no numbers of
/// the paper are public (published/README.md).
/// </summary>
public static class GkdTables
{
    public const string NotReproduced = "n/r";

    /// <summary>FSD is in squared feature units, often well below 0.001 for narrow networks: six decimals keep it readable.</summary>
    public const int FsdDecimals = 6;

    public static IReadOnlyList<string> MetricColumns(GkdTask t) =>
        t.Domains.SelectMany(d => DomainEvaluator.MetricColumns.Select(m => $"{d}_{m}")).ToList();

    public static IReadOnlyList<string> FsdColumns(GkdTask t) => t.Targets.Select(d => $"fsd_{d}").ToList();

    public static IReadOnlyList<BuiltTable> Build(ExperimentProfile profile, IReadOnlyList<PlannedRun> plan, RunStore store, string publishedDir,
        IEnumerable<string> tables)
    {
        var result = new List<BuiltTable>();
        foreach (var name in tables)
        {
            var task = GkdExperiment.Tasks(profile).First(t => name == t.Tag || name.StartsWith(t.Tag + "-", StringComparison.Ordinal));
            string kind = name == task.Tag ? "main" : name[(task.Tag.Length + 1)..];
            var rows = kind switch
            {
                "main" => [GkdExperiment.TeacherRow, GkdExperiment.StudentRow, .. GkdExperiment.MainRows.Select(r => r.Row)],
                "ablation" => [GkdExperiment.StudentRow, .. GkdExperiment.Ablation.Select(a => a.Row)],
                "students" => GkdExperiment.StudentRows,
                _ => plan.SelectMany(r => r.Cells).Where(c => c.Table == name).Select(c => c.Row).Distinct().ToList(),
            };
            var columns = kind == "fsd" ? FsdColumns(task) : MetricColumns(task);
            var published = PaperTables.ReadPublished(Path.Combine(publishedDir, name + ".csv"), rows, columns);
            var reproduced = new ResultTable("method", columns);
            var stats = new List<CellStats>();
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
                if (kind == "fsd")
                {
                    reproduced.AddRow(row, FsdValues(task, folder.Path), FsdDecimals);
                    continue;
                }
                var cases = DomainEvaluator.Read(folder.Path);
                var baseline = BaselineOf(run, plan, store);
                var baselineCases = baseline is null || baseline.Value.Run.Id == run.Id ? null : DomainEvaluator.Read(store.Folder(baseline.Value.Run.Id).Path);
                var values = new Dictionary<string, double?>();
                foreach (var d in task.Domains)
                    for (int m = 0; m < DomainEvaluator.MetricColumns.Length; m++)
                    {
                        var column = $"{d}_{DomainEvaluator.MetricColumns[m]}";
                        var mine = PerCase(cases, d, m);
                        values[column] = mine.Count == 0 ? null : mine.Values.Average();
                        stats.Add(PaperTables.PairedStats(name, row, column, values[column], mine, baselineCases is null ? null : PerCase(baselineCases, d, m), baseline?.Row));
                    }
                reproduced.AddRow(row, values, PaperTables.Decimals);
            }
            result.Add(new BuiltTable(name, reproduced, published, PaperTables.Compare(reproduced, published, stats),
                Notes(name, kind, task, profile, plan.Where(r => r.Cells.Any(c => c.Table == name))), missing) { Stats = stats });
        }
        return result;
    }

    /// <summary>FSD between the source's vectors and each target's test vectors; NaN-free or empty.</summary>
    public static Dictionary<string, double?> FsdValues(GkdTask task, string runFolder)
    {
        var values = new Dictionary<string, double?>();
        var source = DomainEvaluator.ReadVectors(runFolder, (site, _) => site == task.Source);
        foreach (var target in task.Targets)
        {
            var vectors = DomainEvaluator.ReadVectors(runFolder, (site, role) => site == target && role == "test");
            values[$"fsd_{target}"] = source.GetLength(0) < 2 || vectors.GetLength(0) < 2 ? null : FrechetDistance.Compute(source, vectors).Distance;
        }
        return values;
    }

    /// <summary>The same network without distillation: the run a cell is tested against, and its row label.</summary>
    private static (PlannedRun Run, string Row)? BaselineOf(PlannedRun run, IReadOnlyList<PlannedRun> plan, RunStore store)
    {
        if (run.IsTeacher) return null;
        var task = run.Cells[0].Column;
        var plain = plan.FirstOrDefault(r => r.Key == $"student/{run.Spec.Model.Name}/{task}");
        if (plain is null || !store.Folder(plain.Id).IsFinished) return null;
        var row = plain.Cells.FirstOrDefault(c => c.Table.EndsWith("-students", StringComparison.Ordinal))?.Row ?? plain.Cells[0].Row;
        return (plain, row);
    }

    private static Dictionary<string, double> PerCase(IReadOnlyList<DomainCaseMetrics> cases, string site, int metric) =>
        cases.Where(c => c.Site == site).Select(c => (c.CaseId, Value: Metric(c, metric))).Where(x => !double.IsNaN(x.Value))
            .ToDictionary(x => x.CaseId, x => x.Value, StringComparer.Ordinal);

    private static double Metric(DomainCaseMetrics c, int m) => m switch
    {
        0 => c.Dice, 1 => c.Accuracy, 2 => c.Sensitivity, 3 => c.Specificity, 4 => c.MeanIou, _ => c.Auc,
    };

    private static string Notes(string table, string kind, GkdTask t, ExperimentProfile p, IEnumerable<PlannedRun> runs)
    {
        var s = p.Schedule;
        var sb = new StringBuilder();
        sb.Append($"# GKD {table}, profile `{p.Name}`\n\n");
        sb.Append($"Profile: {p.Description}.\n\n");
        sb.Append($"Task: {t.Title}; data set `{t.Dataset}`, cache `{t.Cache}` ({t.CacheSize}×{t.CacheSize}). Every model trains on the source domain ");
        sb.Append($"`{t.Source}` only (its training list, {AffinityKdExperiment.F(p.ValidationFraction)} of it held out for checkpoint selection; ");
        sb.Append($"`data.split.protocol = source`) and is tested, unchanged, on the source's held-out cases and on {string.Join(", ", t.Targets.Select(x => $"`{x}`"))}.\n\n");
        if (kind == "fsd")
        {
            sb.Append("Each cell is the Fréchet semantic distance ‖μ₁−μ₂‖² + Tr(Σ₁+Σ₂−2(Σ₁Σ₂)^½) between Gaussian fits of the run's semantic vectors on ");
            sb.Append($"the source domain (every `{t.Source}` case) and on the target domain's test cases. A semantic vector is the spatial mean of the ");
            sb.Append("network's `encoder` tap (its deepest feature map) per slice: one rule for every network and method, so distances compare across ");
            sb.Append("methods of one network; their scale differs between networks of different widths. GKD's own semantic vectors (the MSAN headers) ");
            sb.Append("exist only in GKD runs, so they are not used here. Lower means the source and target features are closer.\n\n");
        }
        else
        {
            sb.Append("Each `<domain>_<metric>` cell is the mean over that domain's test cases of the per-case value, computed inside each image's field ");
            sb.Append("of view for fundus images (DRIVE's own mask; a red-channel threshold for CHASE_DB1 and STARE) and over the whole volume for CT: ");
            sb.Append("Dice (= F1 of the foreground), pixel accuracy, sensitivity, specificity, mean IoU of background and foreground, and ROC AUC of ");
            sb.Append("the softmax foreground probability. The compare file gives every cell its per-case std, n and a two-sided Wilcoxon signed-rank ");
            sb.Append("p-value against the same network without distillation on the same cases. **Published values are not available** (no number ");
            sb.Append("of the paper is public): the published column is empty, never invented. `n/r` marks methods the harness does not implement.\n\n");
        }
        sb.Append("## Reconstructed choices (the abstract's sentence each serves: docs/gkd.md)\n\n| choice | value |\n| --- | --- |\n");
        void Row(string k, string v) => sb.Append($"| {k} | {v} |\n");
        Row("networks", $"teacher `{GkdExperiment.Teacher}` at width {AffinityKdExperiment.F(p.TeacherWidth)}; students `{GkdExperiment.Student}`, `enet`, `erfnet` at width {AffinityKdExperiment.F(p.StudentWidth)}");
        Row("GKD", "MSAN headers (TAN, SAN) on the `encoder` tap, ACT as reconstruction + vector alignment, DCGD intra/inter graphs over photometric views, DICD header exchange supervised by the teacher's prediction (`method.options`, docs/gkd.md)");
        Row("ablation", "w/ Intra = `terms: intra`, w/ Inter = `inter`, w/ Cross = `cross`, w/ Intra+Inter = `intra+inter`, w/ Intra+Inter+Cross = the full method (the main table's run)");
        Row("baselines", "KD, AT (student stages 2, 3, 4 ~ U-Net enc3, enc4, encoder: the same resolutions), FSP (encoder → decoder, 1×1 adapters), SKD, IFVD (decoder tap) from the same teacher, each with its own defaults otherwise; CoCo, XDED, CCDistill, DiGA are n/r");
        Row("schedule", $"{s.Optimizer}, lr {AffinityKdExperiment.F(s.LearningRate)}, {s.LrSchedule}, " + (s.Iterations is int it ? $"{it} steps" : $"{s.Epochs} epochs") +
            $", batch {s.BatchSize}" + (s.ValidateEvery is int v ? $", validation every {v} steps" : ""));
        Row("segmentation loss", "the harness's default (0.5·Dice + 0.5·focal); the authors' figure shows cross-entropy: a named difference (`loss`)");
        Row("seed", $"{p.Seed} for every run (`seed`)");
        sb.Append("\n## Runs\n\n| row | run |\n| --- | --- |\n");
        foreach (var r in runs)
            foreach (var c in r.Cells.Where(c => c.Table == table))
                sb.Append($"| {c.Row} | `{r.Id}` |\n");
        return sb.ToString();
    }
}
