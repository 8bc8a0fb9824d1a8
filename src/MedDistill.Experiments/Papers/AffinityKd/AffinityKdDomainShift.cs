using System.Globalization;
using System.Text;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Shared;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// How much a network loses on the site it never saw: for every run trained without distillation (teachers and
/// students w/o), the best validation Dice on held-out cases of its five training sites (in-domain) against its test
/// Dice on the target site (unseen), and the drop. Written as domain-shift.csv and quoted in the report, so the
/// phantom's domain shift is measured on the very runs of the tables, not asserted.
/// </summary>
public static class AffinityKdDomainShift
{
    public const string FileName = "domain-shift.csv";

    public sealed record Row(string Model, string Target, double InDomain, double Unseen)
    {
        public double Drop => InDomain - Unseen;
    }

    public static IReadOnlyList<Row> Rows(IReadOnlyList<PlannedRun> plan, RunStore store)
    {
        var rows = new List<Row>();
        foreach (var run in plan.Where(r => r.Spec.Kind == RunSpec.TrainKind).OrderBy(r => r.IsTeacher ? 0 : 1)
                     .ThenBy(r => r.Spec.Model.Name, StringComparer.Ordinal).ThenBy(r => r.Spec.Data.Split.Target, StringComparer.Ordinal))
        {
            var folder = store.Folder(run.Id);
            if (!folder.IsFinished) continue;
            if (Convergence.Of(folder).BestDice is not double inDomain) continue;
            rows.Add(new Row(run.Spec.Model.Name, run.Spec.Data.Split.Target, inDomain, MetricsReport.Read(folder.MetricsPath).MeanDice()));
        }
        return rows;
    }

    public static string Csv(IReadOnlyList<Row> rows)
    {
        IEnumerable<string?[]> records = rows.Select(r => new string?[] { r.Model, r.Target, F(r.InDomain), F(r.Unseen), F(r.Drop) });
        return MedDistill.Shared.Csv.Write([["model", "target", "in_domain_validation_dice", "unseen_site_dice", "drop"], .. records]);
    }

    /// <summary>A Markdown table per model: in-domain, unseen and drop per target, and the median drop.</summary>
    public static string Markdown(IReadOnlyList<Row> rows)
    {
        if (rows.Count == 0) return "";
        var targets = rows.Select(r => r.Target).Distinct().Order(StringComparer.Ordinal).ToList();
        var sb = new StringBuilder("| network | " + string.Join(" | ", targets) + " | median drop |\n");
        sb.Append("| --- |" + string.Concat(Enumerable.Repeat(" --- |", targets.Count + 1)) + "\n");
        foreach (var model in rows.Select(r => r.Model).Distinct())
        {
            var mine = rows.Where(r => r.Model == model).ToList();
            sb.Append($"| {model} |");
            foreach (var t in targets)
                sb.Append(mine.FirstOrDefault(r => r.Target == t) is { } r ? $" {F(r.InDomain)} → {F(r.Unseen)} ({Signed(-r.Drop)}) |" : " |");
            sb.Append($" {F(Median(mine.Select(r => r.Drop)))} |\n");
        }
        return sb.ToString();
    }

    public static string Write(IReadOnlyList<Row> rows, string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, FileName);
        AtomicFile.WriteAllText(path, Csv(rows));
        return path;
    }

    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
    private static string Signed(double v) => v.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture);
}
