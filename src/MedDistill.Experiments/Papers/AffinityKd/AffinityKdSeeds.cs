using System.Globalization;
using System.Text;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Papers;

/// <summary>A table cell measured with several run seeds: the seed-0 run of the tables and its reseeded copies, in seed order.</summary>
public sealed record SeededCell(TableCell Cell, IReadOnlyList<(long Seed, PlannedRun Run)> Runs);

/// <summary>The extra runs of <c>--seeds N</c> (not in any table) and the cells they repeat.</summary>
public sealed record SeedPlan(int Seeds, IReadOnlyList<PlannedRun> Extra, IReadOnlyList<SeededCell> Cells)
{
    public static SeedPlan None { get; } = new(1, [], []);
}

/// <summary>A table across seeds: <c>&lt;table&gt;.seeds.csv</c>, and mean and ±std tables for the report.</summary>
public sealed record SeedTable(string Name, string Csv, ResultTable Mean, ResultTable Spread, int MissingRuns);

/// <summary>
/// <c>--seeds N</c>: repeats chosen runs with the seeds seed+1 … seed+N−1 (the profile's seed is the tables' run) so the
/// tables can report mean ± std across seeds. Only the run seed changes (initialisation, data order, augmentation); the
/// split keeps its own seed, so every seed sees the same cases. A reseeded student learns from the seed-0 teacher, so
/// the spread is the student's training noise for a fixed teacher; reseeding a teacher (preset <c>all</c>, or naming its
/// row) measures the teacher's own spread and changes no student.
/// Which runs (<see cref="Select"/>), cost per extra seed on all three tables:
/// <list type="bullet">
/// <item><c>enet</c> (the default): ENet without KD and ENet with all of Affinity-KD from each teacher, every target: 18
/// runs (the cells of Table 2's ENet rows, Table 3's "ours" and Table 4's first and last student rows).</item>
/// <item><c>students</c>: every Table 2 student, without and with KD: 54 runs.</item>
/// <item><c>all</c>: every run of the plan, teachers included: 108 runs.</item>
/// <item>row labels separated by <c>|</c> (e.g. <c>ENet w/o|+LM</c>): the runs of those rows.</item>
/// </list>
/// </summary>
public static class AffinityKdSeeds
{
    public const string DefaultSelection = "enet";
    public const char RowSeparator = '|';

    /// <summary>The runs of <paramref name="plan"/> that <paramref name="selection"/> picks (see the class summary); only runs that fill a cell.</summary>
    public static IReadOnlyList<PlannedRun> Select(IReadOnlyList<PlannedRun> plan, string selection)
    {
        bool IsStudent(PlannedRun r) => r.Key.StartsWith("student/", StringComparison.Ordinal);
        bool IsFullKd(PlannedRun r) => r.Key.StartsWith("distill/", StringComparison.Ordinal) && r.Key.Split('/') is { Length: 5 } p && p[3] == "lm+kmm+aam";
        Func<PlannedRun, bool> pick;
        switch (selection.Trim())
        {
            case "enet": pick = r => (IsStudent(r) || IsFullKd(r)) && r.Key.Split('/')[1] == "enet"; break;
            case "students": pick = r => IsStudent(r) || IsFullKd(r); break;
            case "all": pick = _ => true; break;
            default:
                var wanted = Rows(selection);
                if (wanted.Count == 0) throw new ArgumentException($"--seed-rows: '{selection}' names no row; use enet, students, all or row labels separated by '{RowSeparator}'");
                var known = plan.SelectMany(r => r.Cells).Select(c => c.Row).ToHashSet(StringComparer.Ordinal);
                var unknown = wanted.Where(r => !known.Contains(r)).ToList();
                if (unknown.Count > 0) throw new ArgumentException($"--seed-rows: no planned cell has the row(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))}");
                pick = r => r.Cells.Any(c => wanted.Contains(c.Row));
                break;
        }
        var chosen = plan.Where(r => r.Cells.Count > 0 && pick(r)).ToList();
        return chosen;
    }

    private static HashSet<string> Rows(string selection) =>
        selection.Split(RowSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

    /// <summary>The reseeded copies of the selected runs; <paramref name="seeds"/> = 1 plans nothing extra.</summary>
    public static SeedPlan Plan(IReadOnlyList<PlannedRun> plan, int seeds, string selection = DefaultSelection)
    {
        if (seeds < 1) throw new ArgumentException($"--seeds {seeds}: at least 1 (1 = the tables' seed only)");
        if (seeds == 1) return SeedPlan.None;
        var extra = new List<PlannedRun>();
        var cells = new List<SeededCell>();
        foreach (var run in Select(plan, selection))
        {
            var runs = new List<(long, PlannedRun)> { (run.Spec.Seed, run) };
            for (int k = 1; k < seeds; k++)
            {
                long seed = run.Spec.Seed + k;
                var spec = run.Spec with { Seed = seed, Label = $"{run.Spec.Label}, seed {seed}" };
                // The suffix keeps the key's prefix (teacher/, student/, distill/), which the pipeline stages by.
                var copy = new PlannedRun($"{run.Key}@seed{seed}", spec, spec.Id(), run.TeacherKey, []);
                extra.Add(copy);
                runs.Add((seed, copy));
            }
            cells.AddRange(run.Cells.Select(c => new SeededCell(c, runs)));
        }
        // Teachers first, as in the plan.
        extra = extra.OrderBy(r => r.IsTeacher ? 0 : 1).ToList();
        return new SeedPlan(seeds, extra, cells);
    }

    /// <summary>One <see cref="SeedTable"/> per table with seeded cells; rows in the published table's order.</summary>
    public static IReadOnlyList<SeedTable> Build(SeedPlan seeds, ExperimentProfile profile, IReadOnlyList<BuiltTable> tables, RunStore store)
    {
        var dice = new Dictionary<string, double?>(StringComparer.Ordinal);
        double? Dice(PlannedRun r)
        {
            if (!dice.TryGetValue(r.Id, out var d))
            {
                var folder = store.Folder(r.Id);
                dice[r.Id] = d = folder.IsFinished ? MetricsReport.Read(folder.MetricsPath).MeanDice() : null;
            }
            return d;
        }

        var result = new List<SeedTable>();
        foreach (var table in tables)
        {
            var cells = seeds.Cells.Where(c => c.Cell.Table == table.Name).ToList();
            if (cells.Count == 0) continue;
            var columns = table.Published.Columns;
            var mean = new ResultTable(table.Published.LabelColumn, columns);
            var spread = new ResultTable(table.Published.LabelColumn, columns);
            var csv = new StringBuilder("row,column,seeds,mean,std,values\n");
            int missing = 0;
            foreach (var row in table.Published.RowLabels.Where(r => cells.Any(c => c.Cell.Row == r)))
            {
                var means = new Dictionary<string, string?>();
                var stds = new Dictionary<string, string?>();
                var perSeed = new Dictionary<long, List<double>>();
                foreach (var target in profile.Targets)
                {
                    var cell = cells.FirstOrDefault(c => c.Cell.Row == row && c.Cell.Column == target);
                    if (cell is null) continue;
                    var values = new List<double>();
                    foreach (var (seed, run) in cell.Runs)
                    {
                        if (Dice(run) is not double d) { missing++; continue; }
                        values.Add(d);
                        (perSeed.TryGetValue(seed, out var l) ? l : perSeed[seed] = []).Add(d);
                    }
                    Line(csv, row, target, values, means, stds);
                }
                // A seed's mean over the six sites, when that seed has all six; then mean ± std of those.
                if (profile.Targets.Count == AffinityKdExperiment.Targets.Length)
                {
                    var siteMeans = perSeed.OrderBy(kv => kv.Key).Where(kv => kv.Value.Count == profile.Targets.Count).Select(kv => kv.Value.Average()).ToList();
                    Line(csv, row, AffinityKdExperiment.MeanColumn, siteMeans, means, stds);
                }
                mean.AddRow(row, means);
                spread.AddRow(row, stds);
            }
            result.Add(new SeedTable(table.Name, csv.ToString(), mean, spread, missing));
        }
        return result;
    }

    private static void Line(StringBuilder csv, string row, string column, List<double> values, Dictionary<string, string?> means, Dictionary<string, string?> stds)
    {
        var s = MetricStats.Of(values);
        string F(double? v) => v is double d ? ResultTable.Format(d, AffinityKdTables.Decimals) : "";
        csv.Append(row.IndexOfAny([',', '"']) < 0 ? row : "\"" + row.Replace("\"", "\"\"") + "\"").Append(',').Append(column).Append(',')
           .Append(values.Count.ToString(CultureInfo.InvariantCulture)).Append(',').Append(F(s.Mean)).Append(',').Append(F(s.StandardDeviation)).Append(',')
           .Append(string.Join(' ', values.Select(v => F(v)))).Append('\n');
        means[column] = s.Mean is null ? null : F(s.Mean);
        stds[column] = s.StandardDeviation is double sd ? "±" + ResultTable.Format(sd, 3) + $" (n={values.Count})" : null;
    }

    /// <summary>Writes <c>&lt;table&gt;.seeds.csv</c>; returns the path.</summary>
    public static string Write(SeedTable table, string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, table.Name + ".seeds.csv");
        AtomicFile.WriteAllText(path, table.Csv);
        return path;
    }
}
