using System.Globalization;
using MedDistill.Evaluation;
using MedDistill.Evaluation.Statistics;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// The uncertainty of one reproduced cell. On a site column: the sample standard deviation of the per-case Dice over
/// the target's <see cref="N"/> test cases, and the two-sided Wilcoxon signed-rank p-value of this run's per-case Dice
/// against its baseline run's on the same cases. On the <c>mean</c> column: the same over the <see cref="N"/> site
/// values (the site is the unit there, so the p-value pairs the rows' six site values).
/// </summary>
/// <param name="Direction">+1 when this cell tends to be higher than its baseline (Wilcoxon W+ &gt; W−), −1 lower, 0 untested.</param>
/// <param name="Vs">The baseline's row label (suffixed with its table when it is another table's row); null without a baseline.</param>
public sealed record CellStats(string Table, string Row, string Column, double? Value, double? Std, int N, double? PValue, int Direction, string? Vs)
{
    public bool Significant(double alpha = 0.05) => PValue is double p && p < alpha;
}

/// <summary>
/// Per-cell statistics of Tables 2–4 from the runs' per-case metrics. Every distilled run's baseline is the same student
/// trained without KD on the same target (<see cref="BaselineKey"/>): Table 2's "X w/ T1/T2" against "X w/o", Table 3's
/// distillation rows against Table 2's "ENet w/o", Table 4's rows against "Student: ENet". Teachers and the students
/// without KD have no baseline.
/// </summary>
public static class AffinityKdStatistics
{
    /// <summary>The plan key of the run a distilled run is tested against: <c>distill/&lt;model&gt;/…/&lt;target&gt;</c> → <c>student/&lt;model&gt;/&lt;target&gt;</c>.</summary>
    public static string? BaselineKey(string key)
    {
        var parts = key.Split('/');
        return parts.Length >= 3 && parts[0] == "distill" ? $"student/{parts[1]}/{parts[^1]}" : null;
    }

    /// <summary>Per-case Dice of a finished run, keyed by (site, case), averaged over foreground classes like the tables' mean.</summary>
    public static IReadOnlyDictionary<(string Site, string Case), double> CaseDice(MetricsReport report) =>
        report.Cases.Where(c => c.ClassLabel > 0).GroupBy(c => (c.Site, c.CaseId)).ToDictionary(g => g.Key, g => g.Average(c => c.Dice));

    /// <summary>Statistics of every reproduced cell of <paramref name="table"/> (rows whose runs are planned, finished or not).</summary>
    public static IReadOnlyList<CellStats> ForTable(string table, ExperimentProfile profile, IReadOnlyList<PlannedRun> plan, RunStore store)
    {
        var cache = new Dictionary<string, IReadOnlyDictionary<(string, string), double>?>(StringComparer.Ordinal);
        IReadOnlyDictionary<(string, string), double>? Cases(PlannedRun? run)
        {
            if (run is null) return null;
            if (!cache.TryGetValue(run.Id, out var cases))
            {
                var folder = store.Folder(run.Id);
                cases = folder.IsFinished ? CaseDice(MetricsReport.Read(folder.MetricsPath)) : null;
                cache[run.Id] = cases;
            }
            return cases;
        }

        var byKey = plan.ToDictionary(r => r.Key, StringComparer.Ordinal);
        var cells = plan.SelectMany(r => r.Cells.Where(c => c.Table == table).Select(c => (Cell: c, Run: r))).ToList();
        var result = new List<CellStats>();
        foreach (var row in cells.Select(c => c.Cell.Row).Distinct(StringComparer.Ordinal))
        {
            var siteValues = new List<double>();
            var baselineValues = new List<double>();
            string? vs = null;
            foreach (var target in profile.Targets)
            {
                var run = cells.FirstOrDefault(c => c.Cell.Row == row && c.Cell.Column == target).Run;
                var baseline = run is not null && BaselineKey(run.Key) is string bk ? byKey.GetValueOrDefault(bk) : null;
                if (baseline is not null) vs ??= VsLabel(table, baseline, target);
                var own = Cases(run);
                if (own is null) { result.Add(new CellStats(table, row, target, null, null, 0, null, 0, vs)); continue; }
                var values = own.Values.ToList();
                var stats = MetricStats.Of(values);
                double? p = null;
                int direction = 0;
                if (Cases(baseline) is { } other)
                {
                    var shared = own.Keys.Where(other.ContainsKey).OrderBy(k => k.Item1, StringComparer.Ordinal).ThenBy(k => k.Item2, StringComparer.Ordinal).ToList();
                    var test = Wilcoxon.Test(shared.Select(k => own[k]).ToList(), shared.Select(k => other[k]).ToList());
                    if (test.Method != WilcoxonMethod.None) { p = test.PValue; direction = test.Direction; }
                    baselineValues.Add(other.Values.Average());
                }
                siteValues.Add(stats.Mean!.Value);
                result.Add(new CellStats(table, row, target, stats.Mean, stats.StandardDeviation, values.Count, p, direction, vs));
            }
            // The mean column exists only when every site does (as in the table); its spread is that of the site values.
            if (siteValues.Count == AffinityKdExperiment.Targets.Length && profile.Targets.Count == siteValues.Count)
            {
                var stats = MetricStats.Of(siteValues);
                double? p = null;
                int direction = 0;
                if (baselineValues.Count == siteValues.Count)
                {
                    var test = Wilcoxon.Test(siteValues, baselineValues);
                    if (test.Method != WilcoxonMethod.None) { p = test.PValue; direction = test.Direction; }
                }
                result.Add(new CellStats(table, row, AffinityKdExperiment.MeanColumn, stats.Mean, stats.StandardDeviation, siteValues.Count, p, direction, vs));
            }
            else result.Add(new CellStats(table, row, AffinityKdExperiment.MeanColumn, null, null, 0, null, 0, vs));
        }
        return result;
    }

    /// <summary>The baseline's row in this table, else its row elsewhere (Table 3's baseline is Table 2's "ENet w/o").</summary>
    private static string VsLabel(string table, PlannedRun baseline, string target)
    {
        var here = baseline.Cells.FirstOrDefault(c => c.Table == table && c.Column == target);
        if (here is not null) return here.Row;
        var model = baseline.Spec.Model.Name;
        var label = AffinityKdExperiment.Students([model]).Where(s => s.Model == model).Select(s => s.Label).FirstOrDefault() ?? model;
        return $"{label} w/o (table2)";
    }

    /// <summary>A p-value for the CSVs: four significant digits, invariant culture.</summary>
    public static string FormatP(double p) => p.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>The Markdown mark: <c>**</c> p &lt; 0.01, <c>*</c> p &lt; 0.05, with ↑ (higher than the baseline) or ↓ (lower); empty otherwise.</summary>
    public static string Mark(CellStats s)
    {
        if (s.PValue is not double p || p >= 0.05) return "";
        var stars = p < 0.01 ? "**" : "*";
        return (s.Direction > 0 ? "↑" : s.Direction < 0 ? "↓" : "") + stars;
    }
}
