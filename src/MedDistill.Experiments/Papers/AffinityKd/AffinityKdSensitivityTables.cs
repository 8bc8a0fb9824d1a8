using System.Globalization;
using System.Text;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Reports;
using MedDistill.Experiments.Runs;
using MedDistill.Shared;

namespace MedDistill.Experiments.Papers;

/// <summary>The spread of one cell: sample standard deviation of the per-case Dice over the target's <see cref="N"/> cases.</summary>
public readonly record struct CaseSpread(double? Std, int N);

/// <summary>One line of sensitivity.csv: a teacher's variant with its Dice per target (and the per-case spread behind it).</summary>
public sealed record SensitivityLine(string Teacher, string Choice, string Variant, IReadOnlyDictionary<string, double?> Dice,
    IReadOnlyDictionary<string, CaseSpread>? Spread = null)
{
    public double? Mean => Dice.Values.All(v => v is not null) && Dice.Count > 0 ? Dice.Values.Average() : null;
    public bool IsReference => Choice == "reference";
}

/// <summary>
/// sensitivity.csv, sensitivity.notes.md and a chart from the study's finished runs (<see cref="AffinityKdSensitivity"/>).
/// Each variant is compared with the as-written configuration of the same teacher and with ENet w/o KD, per target.
/// </summary>
public static class AffinityKdSensitivityTables
{
    public static IReadOnlyList<SensitivityLine> Lines(ExperimentProfile profile, IReadOnlyList<PlannedRun> plan, RunStore store, bool full)
    {
        MetricsReport? Report(string row, string target)
        {
            var run = plan.FirstOrDefault(r => r.Cells.Any(c => c.Table == AffinityKdSensitivity.Table && c.Row == row && c.Column == target));
            if (run is null || !store.Folder(run.Id).IsFinished) return null;
            return MetricsReport.Read(store.Folder(run.Id).MetricsPath);
        }
        SensitivityLine Line(string teacher, string choice, string variant, string row)
        {
            var reports = profile.Targets.ToDictionary(t => t, t => Report(row, t));
            // The cell is the tables' number (so the reference equals Table 2's cell); the spread is over the same cases.
            var dice = reports.ToDictionary(kv => kv.Key, kv => kv.Value?.MeanDice());
            var spread = reports.ToDictionary(kv => kv.Key, kv =>
            {
                if (kv.Value is null) return new CaseSpread(null, 0);
                var stats = MetricStats.Of(AffinityKdStatistics.CaseDice(kv.Value).Values);
                return new CaseSpread(stats.StandardDeviation, stats.Count);
            });
            return new SensitivityLine(teacher, choice, variant, dice, spread);
        }

        var lines = new List<SensitivityLine> { Line("-", "baseline", AffinityKdSensitivity.Baseline, AffinityKdSensitivity.Baseline) };
        foreach (var (tag, _, label) in AffinityKdExperiment.Teachers)
        {
            lines.Add(Line($"{tag} {label}", "reference", AffinityKdSensitivity.Reference, AffinityKdSensitivity.ReferenceRow(tag)));
            foreach (var v in AffinityKdSensitivity.Variants(full))
                lines.Add(Line($"{tag} {label}", v.Choice, v.Variant, AffinityKdSensitivity.Row(tag, v)));
        }
        return lines;
    }

    public static string Csv(ExperimentProfile profile, IReadOnlyList<SensitivityLine> lines)
    {
        var targets = profile.Targets;
        // The per-case spread goes after the comparison columns, so the first columns read as the table itself.
        var records = new List<string?[]>
        {
            new string?[] { "teacher", "choice", "variant", "is_reference" }.Concat(targets)
                .Concat(["mean", "delta_vs_as_written", "delta_vs_wo", "targets_above_wo"])
                .Concat(targets.SelectMany(t => new[] { $"{t}_std", $"{t}_n" })).ToArray(),
        };
        var baseline = lines[0];
        foreach (var line in lines)
        {
            var reference = lines.FirstOrDefault(l => l.Teacher == line.Teacher && l.IsReference);
            int above = targets.Count(t => line.Dice[t] is double d && baseline.Dice[t] is double b && d > b);
            records.Add([line.Teacher, line.Choice, line.Variant, line.IsReference ? "true" : "false",
                .. targets.Select(t => F(line.Dice[t])), F(line.Mean),
                line.Choice == "baseline" || line.IsReference ? "" : Signed(line.Mean - reference?.Mean),
                line.Choice == "baseline" ? "" : Signed(line.Mean - baseline.Mean),
                line.Choice == "baseline" ? "" : $"{above}/{targets.Count}",
                .. targets.SelectMany(t => line.Spread?.GetValueOrDefault(t) is { N: > 0 } s
                    ? new[] { F(s.Std), s.N.ToString(CultureInfo.InvariantCulture) } : ["", ""])]);
        }
        return MedDistill.Shared.Csv.Write(records);
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

    /// <summary>The choices of the study in the order of <paramref name="lines"/> (neither the reference nor the baseline).</summary>
    public static IReadOnlyList<string> Choices(IReadOnlyList<SensitivityLine> lines) =>
        lines.Where(l => l.Choice != "baseline" && !l.IsReference).Select(l => l.Choice).Distinct().ToList();

    /// <summary>
    /// One choice: mean Dice at x = 0 (as written) and x = 1.. (its variants, named in the x label), a line per teacher, and
    /// each teacher's as-written level and ENet w/o as flat lines across, so a variant reads against both at a glance.
    /// </summary>
    public static string ChoiceChart(IReadOnlyList<SensitivityLine> lines, string choice)
    {
        var teachers = lines.Select(l => l.Teacher).Where(t => t != "-").Distinct().ToList();
        var variants = lines.Where(l => l.Choice == choice).Select(l => l.Variant).Distinct().ToList();
        if (variants.Count == 0) throw new ArgumentException($"no variant of choice '{choice}' in the lines");
        double end = variants.Count;
        var series = new List<ChartSeries>();
        foreach (var teacher in teachers)
        {
            var reference = lines.FirstOrDefault(l => l.Teacher == teacher && l.IsReference)?.Mean ?? double.NaN;
            var ys = new List<double> { reference };
            ys.AddRange(variants.Select(v => lines.FirstOrDefault(l => l.Teacher == teacher && l.Choice == choice && l.Variant == v)?.Mean ?? double.NaN));
            series.Add(new ChartSeries(teacher, ys.Select((_, i) => (double)i).ToList(), ys));
        }
        foreach (var teacher in teachers)
            if (lines.FirstOrDefault(l => l.Teacher == teacher && l.IsReference)?.Mean is double asWritten)
                series.Add(new ChartSeries($"{teacher.Split(' ')[0]} as written", [0, end], [asWritten, asWritten]));
        if (lines[0].Mean is double wo) series.Add(new ChartSeries("ENet w/o KD", [0, end], [wo, wo]));
        return new SvgChart
        {
            Title = $"Sensitivity to {choice}: mean Dice over the targets",
            XLabel = "0 = as written; " + string.Join("; ", variants.Select((v, i) => $"{i + 1} = {v}")),
            YLabel = "mean Dice", IntegerXTicks = true, YMin = 0, YMax = 1, Width = 760, Height = 420,
            Series = series,
        }.ToSvg();
    }

    /// <summary>
    /// The objective's balance in a run: each term's weighted value (weight × logged value) averaged over the last fifth of
    /// the steps, read from log.csv; null when the run has not finished. It shows which term the optimiser mostly served.
    /// </summary>
    public static IReadOnlyDictionary<string, double>? Balance(PlannedRun run, RunStore store)
    {
        var folder = store.Folder(run.Id);
        if (!folder.IsFinished || !File.Exists(folder.StepLogPath)) return null;
        var rows = File.ReadAllLines(folder.StepLogPath);
        var header = rows[0].Split(',');
        var data = rows.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToList();
        var tail = data.Skip(data.Count - Math.Max(1, data.Count / 5)).ToList();
        var loss = Training.Objective.BindSegmentationLoss(run.Spec.Loss);
        var method = run.Spec.Method.Name == "affinity-kd" ? Training.Objective.BindMethodOptions(run.Spec.Method).AffinityKd : null;
        double Weight(string term) => term switch
        {
            "dice" => loss.DiceWeight, "focal" => loss.FocalWeight,
            "lm" => method?.LogitsWeight ?? 0, "kmm" => method?.KernelMatrixWeight ?? 0, "aam" => method?.AffinityWeight ?? 0,
            _ => 0,
        };
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int c = 4; c < header.Length; c++)
            result[header[c]] = Weight(header[c]) * tail.Average(r => double.Parse(r[c], CultureInfo.InvariantCulture));
        return result;
    }

    private static void AppendBalance(StringBuilder sb, IReadOnlyList<PlannedRun> plan, RunStore store, bool full)
    {
        sb.Append("\n## What the optimiser served: the objective's balance\n\n");
        sb.Append("Each term's weighted value (λ × term) averaged over the last fifth of training and over the targets, from the runs' `log.csv`. ");
        sb.Append("`seg` = 0.5·Dice + 0.5·focal (or the variant's loss); `share of AAM` = λ3·AAM over the whole objective.\n\n");
        sb.Append("| teacher | variant | seg | λ1·LM | λ2·KMM | λ3·AAM | share of AAM |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        foreach (var (tag, _, _) in AffinityKdExperiment.Teachers)
        {
            var rows = new List<(string Label, string Row)> { (AffinityKdSensitivity.Reference, AffinityKdSensitivity.ReferenceRow(tag)) };
            rows.AddRange(AffinityKdSensitivity.Variants(full).Select(v => ($"{v.Choice}: {v.Variant}", AffinityKdSensitivity.Row(tag, v))));
            foreach (var (label, row) in rows)
            {
                var balances = plan.Where(r => r.Cells.Any(c => c.Table == AffinityKdSensitivity.Table && c.Row == row))
                    .Select(r => Balance(r, store)).Where(b => b is not null).Select(b => b!).ToList();
                if (balances.Count == 0) continue;
                double Mean(params string[] terms) => balances.Average(b => terms.Sum(t => b.GetValueOrDefault(t)));
                double seg = Mean("dice", "focal"), lm = Mean("lm"), kmm = Mean("kmm"), aam = Mean("aam");
                double total = seg + lm + kmm + aam;
                sb.Append($"| {tag} | {label} | {F(seg)} | {F(lm)} | {F(kmm)} | {F(aam)} | {(total > 0 ? (aam / total).ToString("0%", CultureInfo.InvariantCulture) : "")} |\n");
            }
        }
    }

    /// <summary>What the numbers say, computed: the best variant per teacher and whether any beats ENet w/o on every target.</summary>
    private static void AppendFindings(StringBuilder sb, IReadOnlyList<SensitivityLine> lines)
    {
        var baseline = lines[0];
        if (baseline.Mean is not double wo) return;
        sb.Append("\n## Findings (computed from sensitivity.csv)\n\n");
        foreach (var teacher in lines.Select(l => l.Teacher).Where(t => t != "-").Distinct())
        {
            var mine = lines.Where(l => l.Teacher == teacher && l.Mean is not null).ToList();
            var reference = mine.FirstOrDefault(l => l.Choice == "reference");
            if (reference?.Mean is not double asWritten) continue;
            var best = mine.OrderByDescending(l => l.Mean).First();
            int targets = baseline.Dice.Count;
            var allAbove = mine.Where(l => l.Choice != "reference" && l.Dice.All(kv => kv.Value is double d && baseline.Dice[kv.Key] is double b && d > b)).ToList();
            sb.Append($"- **{teacher}**: as written {F(asWritten)} against ENet w/o {F(wo)} ({Signed(asWritten - wo)}). ");
            sb.Append($"Best variant: {best.Choice} = {best.Variant}, {F(best.Mean)} ({Signed(best.Mean - asWritten)} over as written, {Signed(best.Mean - wo)} over w/o). ");
            sb.Append(allAbove.Count == 0
                ? $"No single change makes the distilled student beat ENet w/o on all {targets} targets.\n"
                : $"Beating ENet w/o on all {targets} targets: {string.Join("; ", allAbove.Select(l => $"{l.Choice} = {l.Variant}"))} — a labelled variant, not the reproduction.\n");
        }
    }

    public static string Notes(ExperimentProfile profile, IReadOnlyList<SensitivityLine> lines, bool full, IReadOnlyList<PlannedRun> plan, RunStore store)
    {
        var sb = new StringBuilder($"# Affinity-KD sensitivity study, profile `{profile.Name}`\n\n");
        sb.Append("ENet distilled with all three terms (LM + KMM + AAM) from T1 (DeepLabV3+) and from T2 (UNet++), on every target, ");
        sb.Append("with one open choice of the paper changed at a time. `as written` is the configuration of Tables 2–4 (the same runs); ");
        sb.Append("`ENet w/o` is the student without distillation, the baseline the paper claims to beat. Each cell is the mean 3D Dice ");
        sb.Append("over the target's cases (`S*_std`, `S*_n`: the per-case spread and case count); `targets_above_wo` counts the targets where the variant beats ENet w/o. ");
        sb.Append("No variant changes a default of the reproduction: each is its own run and its own row.\n\n");
        sb.Append("| # | choice | variant | what the paper says |\n| --- | --- | --- | --- |\n");
        sb.Append("| 0 | reference | as written | the configuration of Tables 2–4 (docs/distillation.md) |\n");
        int i = 1;
        foreach (var v in AffinityKdSensitivity.Variants(full)) sb.Append($"| {i++} | {v.Choice} | {v.Variant} | {v.PaperSays} |\n");
        sb.Append("\nFigures: `figures/sensitivity.svg` (every variant, numbered as above) and one per choice, ");
        sb.Append(string.Join(", ", Choices(lines).Select(c => $"`figures/{ChoiceFigure(c)}`")));
        sb.Append(" (as written at 0, the choice's variants after it, the as-written and ENet w/o levels as flat lines).\n");
        AppendFindings(sb, lines);
        AppendBalance(sb, plan, store, full);
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
        AtomicFile.WriteAllText(notes, Notes(profile, lines, full, plan, store));
        AtomicFile.WriteAllText(chart, Chart(lines));
        var files = new List<string> { csv, notes, chart };
        foreach (var choice in Choices(lines))
        {
            var path = Path.Combine(folder, "figures", ChoiceFigure(choice));
            AtomicFile.WriteAllText(path, ChoiceChart(lines, choice));
            files.Add(path);
        }
        return (files, lines.Sum(l => l.Dice.Values.Count(v => v is null)));
    }

    /// <summary>The file name of a choice's chart under figures/ (choices are already file-safe: letters and dashes).</summary>
    public static string ChoiceFigure(string choice) => $"sensitivity-{choice}.svg";

    private static string F(double? v) => v is double d ? d.ToString("0.0000", CultureInfo.InvariantCulture) : "";
    private static string Signed(double? v) => v is double d ? d.ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture) : "";
}
