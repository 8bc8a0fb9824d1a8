using System.Globalization;
using System.Text;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Tables;
using MedDistill.Shared;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// Fills Tables 2–4 from finished runs. A cell is the mean 3D Dice over the target site's test cases of the run that
/// the plan maps to it; <c>mean</c> is the mean of the six sites when all six exist. Rows of methods the harness does
/// not implement hold <c>n/r</c> (not reproduced), never a published number. A run that has not finished leaves its
/// cell empty and is counted in <see cref="BuiltTable.MissingCells"/>.
/// </summary>
public static class AffinityKdTables
{
    public const string NotReproduced = "n/r";
    public const int Decimals = 4;

    public static IReadOnlyList<BuiltTable> Build(ExperimentProfile profile, IReadOnlyList<PlannedRun> plan, RunStore store, string publishedDir,
        IEnumerable<string>? tables = null)
    {
        var result = new List<BuiltTable>();
        foreach (var name in tables ?? AffinityKdExperiment.Tables)
        {
            var published = ResultTable.Read(Path.Combine(publishedDir, name + ".csv"));
            var cells = plan.SelectMany(r => r.Cells.Where(c => c.Table == name).Select(c => (Cell: c, Run: r))).ToList();
            var reproduced = new ResultTable(published.LabelColumn, published.Columns);
            int missing = 0;
            foreach (var row in published.RowLabels)
            {
                var values = new Dictionary<string, string?>();
                if (name == "table3" && AffinityKdExperiment.NotReproducedTable3.Contains(row))
                {
                    foreach (var col in published.Columns) values[col] = NotReproduced;
                    reproduced.AddRow(row, values);
                    continue;
                }
                var perSite = new List<double>();
                foreach (var target in profile.Targets)
                {
                    var match = cells.Where(c => c.Cell.Row == row && c.Cell.Column == target).Select(c => c.Run).FirstOrDefault();
                    if (match is null) throw new InvalidOperationException($"{name}: the plan has no run for row '{row}', {target}");
                    double? dice = DiceOf(store.Folder(match.Id));
                    if (dice is double d) { values[target] = ResultTable.Format(d, Decimals); perSite.Add(d); }
                    else missing++;
                }
                if (perSite.Count == AffinityKdExperiment.Targets.Length && profile.Targets.Count == perSite.Count)
                    values[AffinityKdExperiment.MeanColumn] = ResultTable.Format(perSite.Average(), Decimals);
                reproduced.AddRow(row, values);
            }
            var stats = AffinityKdStatistics.ForTable(name, profile, plan, store);
            result.Add(new BuiltTable(name, reproduced, published, PaperTables.Compare(reproduced, published, stats), Notes(name, profile, cells.Select(c => (c.Cell, c.Run))), missing)
                { Stats = stats });
        }
        return result;
    }

    private static double? DiceOf(RunFolder folder)
    {
        if (!folder.IsFinished) return null;
        return MetricsReport.Read(folder.MetricsPath).MeanDice();
    }

    private static string Notes(string table, ExperimentProfile p, IEnumerable<(TableCell Cell, PlannedRun Run)> cells)
    {
        var s = p.Schedule;
        var sb = new StringBuilder();
        sb.Append($"# Affinity-KD {table}, profile `{p.Name}`\n\n");
        sb.Append($"Profile: {p.Description}.\n\n");
        sb.Append("Each reproduced cell is the mean 3D Dice (per case, foreground class) over the target site's cases of one run; ");
        sb.Append("`mean` averages the six sites. Published values are typed in from the paper (`published/`), three decimals; ");
        sb.Append("`n/r` marks methods the harness does not implement (their published values stay in the published column only).\n\n");
        sb.Append("`").Append(table).Append(".compare.csv` adds to each cell `std` (sample standard deviation of the per-case Dice over the target's test cases), ");
        sb.Append("`n` (the case count), `p_value` and `vs` (the baseline row). The p-value is a two-sided Wilcoxon signed-rank test of the cell's per-case Dice ");
        sb.Append("against the baseline's on the same cases (zero differences dropped; exact null distribution up to 50 pairs without ties, else the normal ");
        sb.Append("approximation with tie correction and no continuity correction). Baselines: the same student without KD on the same target ");
        sb.Append("(Table 2: `X w/ T1`, `X w/ T2` against `X w/o`; Table 3: against Table 2's `ENet w/o`; Table 4: against `Student: ENet`); teachers and ");
        sb.Append("students without KD have none. On the `mean` column `std` and `n` are over the six site values and the test pairs the six site values of ");
        sb.Append("the row and its baseline (exact: the smallest possible p is 0.03125). With a few test cases per site the test has little power: ");
        sb.Append("a p-value above 0.05 is not evidence of no effect.\n\n");
        sb.Append("## Configuration choices (where the paper is silent, with the spec field that sets them)\n\n");
        sb.Append("| choice | value |\n| --- | --- |\n");
        void Row(string k, string v) => sb.Append($"| {k} | {v} |\n");
        Row("data", $"`{p.Dataset}`, cache `{p.Cache}` at {p.CacheSize}×{p.CacheSize} (`data.cache`)");
        Row("protocol", "leave-one-site-out: train on five sites, test on the target's cases (`data.split`)");
        Row("checkpoint selection", $"best validation 3D Dice; {AffinityKdExperiment.F(p.ValidationFraction)} of each training site's cases held out (`data.split.validationFraction`)");
        Row("network widths", $"teachers {AffinityKdExperiment.F(p.TeacherWidth)}, students {AffinityKdExperiment.F(p.StudentWidth)} (`model.width`; 1 = the published networks)");
        Row("ESPNet", "the zoo's `espnet-emkd` when present (EMKD's widened decoder block: with 2 classes the exact-count ESPNet has a dead deep path), else `espnet`");
        static string Schedule(ScheduleSpec s) =>
            $"{s.Optimizer}, lr {AffinityKdExperiment.F(s.LearningRate)}, {s.LrSchedule} (half-cycle {s.CyclicStepSize}, floor {s.MinLearningRate.ToString("0.###e0", CultureInfo.InvariantCulture)}), " +
            (s.Iterations is int it ? $"{it} steps" : $"{s.Epochs} epochs") + $", batch {s.BatchSize}" +
            (s.ValidateEvery is int v ? $", validation every {v} steps" : ", validation at every epoch end");
        Row(p.TeacherSchedule is null ? "schedule" : "schedule (students)", Schedule(s) + " (`schedule`)");
        if (p.TeacherSchedule is { } ts) Row("schedule (teachers)", Schedule(ts) + " (`schedule`)");
        Row("convergence", $"{Training.Convergence.Criterion}; per run in `runs.csv`, curves in `report.md`");
        Row("empty slices", $"{AffinityKdExperiment.F(p.EmptySliceFraction)} of the slices without prostate kept for training (`data.emptySliceFraction`)");
        Row("segmentation loss", "0.5·Dice + 0.5·focal (γ 2) over the foreground class (`loss`)");
        Row("Affinity-KD", "λ1 0.2 (LM), λ2 0.9 (KMM), λ3 0.9 (AAM); LM = KL(p_s‖p_t), T = 1; KMM on the encoder taps, 1×1 adapter, L2-normalised rows, mean squared + mean absolute Gram difference; AAM 3×3 neighbourhood, margin 3 (`method.options`; docs/distillation.md)");
        Row("EMKD", "0.1·PMD (T = 4) + 0.9·IMD + 0.9·RAD on the encoder and decoder taps (`method.options`)");
        Row("teacher", "frozen, eval mode, trained on the same five sites as its student");
        Row("seed", $"{p.Seed} for every run (`seed`)");
        sb.Append("\n## Runs\n\n| row | column | run |\n| --- | --- | --- |\n");
        foreach (var (cell, run) in cells.OrderBy(c => c.Cell.Row, StringComparer.Ordinal).ThenBy(c => c.Cell.Column, StringComparer.Ordinal))
            sb.Append($"| {cell.Row} | {cell.Column} | `{run.Id}` |\n");
        return sb.ToString();
    }
}
