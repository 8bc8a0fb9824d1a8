using System.Globalization;
using System.Text;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>One line of sensitivity.csv: a teacher's variant with its Dice per target.</summary>
public sealed record SensitivityLine(string Teacher, string Choice, string Variant, IReadOnlyDictionary<string, double?> Dice)
{
    public double? Mean => Dice.Values.All(v => v is not null) && Dice.Count > 0 ? Dice.Values.Average() : null;
}

/// <summary>
/// sensitivity.csv, sensitivity.notes.md and a chart from the study's finished runs (<see cref="AffinityKdSensitivity"/>).
/// Each variant is compared with the as-written configuration of the same teacher and with ENet w/o KD, per target.
/// </summary>
public static class AffinityKdSensitivityTables
{
    public static IReadOnlyList<SensitivityLine> Lines(ExperimentProfile profile, IReadOnlyList<PlannedRun> plan, RunStore store, bool full)
    {
        double? Dice(string row, string target)
        {
            var run = plan.FirstOrDefault(r => r.Cells.Any(c => c.Table == AffinityKdSensitivity.Table && c.Row == row && c.Column == target));
            if (run is null || !store.Folder(run.Id).IsFinished) return null;
            return MetricsReport.Read(store.Folder(run.Id).MetricsPath).MeanDice();
        }
        IReadOnlyDictionary<string, double?> PerTarget(string row) => profile.Targets.ToDictionary(t => t, t => Dice(row, t));

        var lines = new List<SensitivityLine> { new("-", "baseline", AffinityKdSensitivity.Baseline, PerTarget(AffinityKdSensitivity.Baseline)) };
        foreach (var (tag, _, label) in AffinityKdExperiment.Teachers)
        {
            lines.Add(new($"{tag} {label}", "reference", AffinityKdSensitivity.Reference, PerTarget(AffinityKdSensitivity.ReferenceRow(tag))));
            foreach (var v in AffinityKdSensitivity.Variants(full))
                lines.Add(new($"{tag} {label}", v.Choice, v.Variant, PerTarget(AffinityKdSensitivity.Row(tag, v))));
        }
        return lines;
    }

    public static string Csv(ExperimentProfile profile, IReadOnlyList<SensitivityLine> lines)
    {
        var targets = profile.Targets;
        var sb = new StringBuilder("teacher,choice,variant," + string.Join(",", targets) + ",mean,delta_vs_as_written,delta_vs_wo,targets_above_wo\n");
        var baseline = lines[0];
        foreach (var line in lines)
        {
            var reference = lines.FirstOrDefault(l => l.Teacher == line.Teacher && l.Choice == "reference");
            sb.Append(Quote(line.Teacher)).Append(',').Append(line.Choice).Append(',').Append(Quote(line.Variant));
            foreach (var t in targets) sb.Append(',').Append(F(line.Dice[t]));
            sb.Append(',').Append(F(line.Mean));
            sb.Append(',').Append(line.Choice is "baseline" or "reference" ? "" : Signed(line.Mean - reference?.Mean));
            sb.Append(',').Append(line.Choice == "baseline" ? "" : Signed(line.Mean - baseline.Mean));
            int above = targets.Count(t => line.Dice[t] is double d && baseline.Dice[t] is double b && d > b);
            sb.Append(',').Append(line.Choice == "baseline" ? "" : $"{above}/{targets.Count}").Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Mean Dice of each variant, one line per teacher, with the as-written and w/o levels as flat lines.</summary>
    public static string Chart(IReadOnlyList<SensitivityLine> lines)
    {
        var series = new List<ChartSeries>();
        foreach (var teacher in lines.Select(l => l.Teacher).Where(t => t != "-").Distinct())
        {
            var mine = lines.Where(l => l.Teacher == teacher).ToList();
            series.Add(new ChartSeries(teacher, mine.Select((_, i) => (double)i).ToList(), mine.Select(l => l.Mean ?? double.NaN).ToList()));
        }
        int count = lines.Count(l => l.Teacher == lines[1].Teacher);
        if (lines[0].Mean is double wo)
            series.Add(new ChartSeries("ENet w/o KD", [0, count - 1], [wo, wo]));
        return new SvgChart
        {
            Title = "Sensitivity: mean Dice over the targets per variant (0 = as written; numbering in sensitivity.notes.md)",
            XLabel = "variant", YLabel = "mean Dice", IntegerXTicks = true, YMin = 0, YMax = 1, Width = 760, Height = 420,
            Series = series,
        }.ToSvg();
    }

    public static string Notes(ExperimentProfile profile, IReadOnlyList<SensitivityLine> lines, bool full, IReadOnlyList<PlannedRun> plan)
    {
        var sb = new StringBuilder($"# Affinity-KD sensitivity study, profile `{profile.Name}`\n\n");
        sb.Append("ENet distilled with all three terms (LM + KMM + AAM) from T1 (DeepLabV3+) and from T2 (UNet++), on every target, ");
        sb.Append("with one open choice of the paper changed at a time. `as written` is the configuration of Tables 2–4 (the same runs); ");
        sb.Append("`ENet w/o` is the student without distillation, the baseline the paper claims to beat. Each cell is the mean 3D Dice ");
        sb.Append("over the target's cases; `targets_above_wo` counts the targets where the variant beats ENet w/o. ");
        sb.Append("No variant changes a default of the reproduction: each is its own run and its own row.\n\n");
        sb.Append("| # | choice | variant | what the paper says |\n| --- | --- | --- | --- |\n");
        sb.Append("| 0 | reference | as written | the configuration of Tables 2–4 (docs/distillation.md) |\n");
        int i = 1;
        foreach (var v in AffinityKdSensitivity.Variants(full)) sb.Append($"| {i++} | {v.Choice} | {v.Variant} | {v.PaperSays} |\n");
        sb.Append("\n## Runs\n\n| row | target | run |\n| --- | --- | --- |\n");
        foreach (var (cell, run) in plan.SelectMany(r => r.Cells.Where(c => c.Table == AffinityKdSensitivity.Table).Select(c => (c, r)))
                     .OrderBy(x => x.c.Row, StringComparer.Ordinal).ThenBy(x => x.c.Column, StringComparer.Ordinal))
            sb.Append($"| {cell.Row} | {cell.Column} | `{run.Id}` |\n");
        return sb.ToString();
    }

    /// <returns>The files written, and how many study cells have no finished run.</returns>
    public static (IReadOnlyList<string> Files, int Missing) Write(ExperimentProfile profile, IReadOnlyList<PlannedRun> plan, RunStore store, bool full, string folder)
    {
        var lines = Lines(profile, plan, store, full);
        Directory.CreateDirectory(Path.Combine(folder, "figures"));
        var csv = Path.Combine(folder, "sensitivity.csv");
        var notes = Path.Combine(folder, "sensitivity.notes.md");
        var chart = Path.Combine(folder, "figures", "sensitivity.svg");
        AtomicFile.WriteAllText(csv, Csv(profile, lines));
        AtomicFile.WriteAllText(notes, Notes(profile, lines, full, plan));
        AtomicFile.WriteAllText(chart, Chart(lines));
        return ([csv, notes, chart], lines.Sum(l => l.Dice.Values.Count(v => v is null)));
    }

    private static string F(double? v) => v is double d ? d.ToString("0.0000", CultureInfo.InvariantCulture) : "";
    private static string Signed(double? v) => v is double d ? d.ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture) : "";
    private static string Quote(string s) => s.IndexOfAny([',', '"']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}
