using System.Globalization;
using System.Text;
using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Papers;

public enum ClaimVerdict { Holds, Partly, DoesNotHold, NotEvaluated }

/// <summary>One claim of the paper checked on a set of tables: the verdict and the cells that decided it.</summary>
public sealed record ClaimResult(string Id, string Table, string Claim, ClaimVerdict Verdict, string Evidence);

/// <summary>
/// The paper's concrete claims about Tables 2–4 (its Section 3 text and the pattern of its tables), each checked
/// mechanically on a set of tables: the reproduced ones with their p-values, or the published ones (no p-values) to see
/// whether the paper's own numbers support the claim. A claim is a list of comparisons; it holds when all of them
/// do, partly when some do, does not hold when none does, and is not evaluated when no comparison has its cells (e.g.
/// MSKD, not reproduced). "Improves" claims also need p &lt; 0.05 in the right direction where p-values are given:
/// "significant improvements" is the paper's word.
/// </summary>
public static class AffinityKdClaims
{
    public const double Alpha = 0.05;
    private static readonly string[] Sites = AffinityKdExperiment.Targets;

    private sealed record Item(string Cell, bool? Ok, double? Delta);

    /// <param name="tables">Tables by name (table2, table3, table4); a missing table leaves its claims not evaluated.</param>
    /// <param name="stats">Per-cell p-values (empty for the published tables).</param>
    public static IReadOnlyList<ClaimResult> Evaluate(IReadOnlyDictionary<string, ResultTable> tables, IReadOnlyList<CellStats> stats)
    {
        double? V(string table, string row, string col) =>
            tables.TryGetValue(table, out var t) && t.RowLabels.Contains(row) && t.Columns.Contains(col) ? t.Value(row, col) : null;
        // The mean of the six sites from the site cells (the published tables have no mean column).
        double? Mean(string table, string row) =>
            Sites.Select(s => V(table, row, s)).ToList() is var v && v.All(x => x is not null) ? v.Average(x => x!.Value) : null;
        var byCell = stats.ToDictionary(s => (s.Table, s.Row, s.Column));
        bool Significant(string table, string row, string col) =>
            stats.Count == 0 || (byCell.TryGetValue((table, row, col), out var s) && s.Significant(Alpha) && s.Direction > 0);
        string Sig() => stats.Count == 0 ? "" : $" and p < {Alpha.ToString(CultureInfo.InvariantCulture)}";

        Item Higher(string table, string row, string col, string than, bool needSignificance, double? a = null, double? b = null)
        {
            a ??= col == AffinityKdExperiment.MeanColumn ? Mean(table, row) : V(table, row, col);
            b ??= col == AffinityKdExperiment.MeanColumn ? Mean(table, than) : V(table, than, col);
            if (a is null || b is null) return new Item($"{row} {col}", null, null);
            bool ok = a > b && (!needSignificance || Significant(table, row, col));
            return new Item($"{row} {col}", ok, a - b);
        }

        var results = new List<ClaimResult>();
        var students = new[] { "ENet", "ESPNet", "ERFNet" };
        var teachers = new[] { ("T1", "T1: DeepLabV3+"), ("T2", "T2: UNet++") };

        results.Add(Verdict("every-student-every-site", "table2", "Affinity-KD improves every student (ENet, ESPNet, ERFNet) on every unseen target site, from both teachers",
            [.. from s in students from t in teachers from site in Sites select Higher("table2", $"{s} w/ {t.Item1}", site, $"{s} w/o", true)],
            $"higher than w/o{Sig()}"));

        // Distance to the teacher on the mean: the distilled student's gap must be smaller than the plain student's.
        results.Add(Verdict("closer-to-teacher", "table2", "Distillation brings every student closer to its teacher (mean over the six sites)",
            [.. from s in students from t in teachers
                let teacher = Mean("table2", t.Item2)
                let with = Mean("table2", $"{s} w/ {t.Item1}")
                let without = Mean("table2", $"{s} w/o")
                select teacher is null || with is null || without is null
                    ? new Item($"{s} w/ {t.Item1}", null, null)
                    : new Item($"{s} w/ {t.Item1} (gap {Math.Abs(teacher.Value - with.Value):0.000} vs {Math.Abs(teacher.Value - without.Value):0.000} w/o)",
                        Math.Abs(teacher.Value - with.Value) < Math.Abs(teacher.Value - without.Value), Math.Abs(teacher.Value - without.Value) - Math.Abs(teacher.Value - with.Value))],
            "gap to the teacher narrowed"));

        results.Add(Verdict("enet-beats-teacher", "table2", "Distilled ENet surpasses its teacher on S4 (from DeepLabV3+, 0.881 > 0.874) and S5 (from UNet++, 0.894 > 0.869)",
            [Higher("table2", "ENet w/ T1", "S4", "T1: DeepLabV3+", false), Higher("table2", "ENet w/ T2", "S5", "T2: UNet++", false)], "above the teacher"));

        results.Add(Verdict("erfnet-beats-teacher", "table2", "ERFNet distilled from UNet++ surpasses UNet++ on S4 and S5 (0.892, 0.877)",
            [Higher("table2", "ERFNet w/ T2", "S4", "T2: UNet++", false), Higher("table2", "ERFNet w/ T2", "S5", "T2: UNet++", false)], "above the teacher"));

        var espWith = V("table2", "ESPNet w/ T2", "S1");
        var espWithout = V("table2", "ESPNet w/o", "S1");
        results.Add(Verdict("espnet-gain", "table2", "ESPNet gains about 0.13 Dice from UNet++ on S1 (0.703 → 0.837)",
            [espWith is null || espWithout is null ? new Item("ESPNet w/ T2 S1", null, null) : new Item("ESPNet w/ T2 S1", espWith - espWithout >= 0.13, espWith - espWithout)],
            "a gain of at least 0.13"));

        foreach (var (other, id) in new[] { ("EMKD", "beats-emkd"), ("MSKD", "beats-mskd") })
            results.Add(Verdict(id, "table3", $"ENet with Affinity-KD beats {other} (same teacher and student) on every target site",
                [.. Sites.Select(site => Higher("table3", "Student: ENet (ours)", site, other, false))], $"above {other}"));

        var variants = AffinityKdExperiment.Ablation.Select(a => a.Row).ToArray();
        const string full = "+AAM + KMM + LM";
        results.Add(Verdict("full-set-best", "table4", "The full set (+AAM + KMM + LM) is the best ablation variant, on the mean and on every site",
            [.. new[] { AffinityKdExperiment.MeanColumn }.Concat(Sites).Select(col =>
            {
                double? Of(string row) => col == AffinityKdExperiment.MeanColumn ? Mean("table4", row) : V("table4", row, col);
                var others = variants.Where(v => v != full).Select(v => (Row: v, Value: Of(v))).ToList();
                var mine = Of(full);
                if (mine is null || others.Any(o => o.Value is null)) return new Item($"{full} {col}", null, null);
                var best = others.MaxBy(o => o.Value!.Value);
                return new Item($"{full} {col} (next: {best.Row})", mine > best.Value, mine - best.Value);
            })],
            "above every other variant"));

        results.Add(Verdict("each-module-adds", "table4", "Each module adds to the other two: removing LM, KMM or AAM from the full set lowers the mean Dice",
            [Higher("table4", full, AffinityKdExperiment.MeanColumn, "+AAM + KMM", false) with { Cell = "LM (full vs +AAM + KMM)" },
             Higher("table4", full, AffinityKdExperiment.MeanColumn, "+AAM + LM", false) with { Cell = "KMM (full vs +AAM + LM)" },
             Higher("table4", full, AffinityKdExperiment.MeanColumn, "+KMM + LM", false) with { Cell = "AAM (full vs +KMM + LM)" }],
            "the full set higher"));

        results.Add(Verdict("pairs-improve", "table4", "Every pair of modules improves ENet over training without KD on every site",
            [.. from pair in new[] { "+KMM + LM", "+AAM + LM", "+AAM + KMM" } from site in Sites select Higher("table4", pair, site, "Student: ENet", true)],
            $"higher than Student: ENet{Sig()}"));
        return results;
    }

    private static ClaimResult Verdict(string id, string table, string claim, IReadOnlyList<Item> items, string criterion)
    {
        var known = items.Where(i => i.Ok is not null).ToList();
        int ok = known.Count(i => i.Ok == true);
        var verdict = known.Count == 0 ? ClaimVerdict.NotEvaluated : ok == known.Count ? ClaimVerdict.Holds : ok == 0 ? ClaimVerdict.DoesNotHold : ClaimVerdict.Partly;
        var sb = new StringBuilder();
        if (known.Count == 0) sb.Append("no comparison has its cells (not reproduced or not run)");
        else
        {
            sb.Append($"{ok}/{known.Count} {criterion}");
            if (items.Count > known.Count) sb.Append($" ({items.Count - known.Count} without values)");
            var deltas = known.Where(i => i.Delta is not null).Select(i => i.Delta!.Value).ToList();
            if (deltas.Count > 1) sb.Append($"; differences {Signed(deltas.Min())} to {Signed(deltas.Max())}, mean {Signed(deltas.Average())}");
            // The cells that went against the claim are the evidence worth reading; the others when all agree and are few.
            var shown = verdict == ClaimVerdict.Holds ? known : known.Where(i => i.Ok == false).ToList();
            var label = verdict == ClaimVerdict.Holds ? "" : "against: ";
            sb.Append("; ").Append(label).Append(string.Join(", ", shown.Take(8).Select(i => $"{i.Cell} {Signed(i.Delta)}")));
            if (shown.Count > 8) sb.Append($", and {shown.Count - 8} more");
        }
        return new ClaimResult(id, table, claim, verdict, sb.ToString());
    }

    private static string Signed(double? d) => d is double v ? v.ToString("+0.000;-0.000;±0.000", CultureInfo.InvariantCulture) : "";

    public static string Text(ClaimVerdict v) => v switch
    {
        ClaimVerdict.Holds => "holds",
        ClaimVerdict.Partly => "partly",
        ClaimVerdict.DoesNotHold => "does not hold",
        _ => "not evaluated",
    };

    /// <summary><c>claims.csv</c>: id, table, claim, verdict, evidence, and the verdict on the published numbers.</summary>
    public static string ToCsv(IReadOnlyList<ClaimResult> reproduced, IReadOnlyList<ClaimResult> published)
    {
        static string Q(string s) => s.IndexOfAny([',', '"', '\n']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
        var sb = new StringBuilder("id,table,claim,verdict,evidence,verdict_on_published\n");
        foreach (var r in reproduced)
        {
            var p = published.FirstOrDefault(x => x.Id == r.Id);
            sb.Append(string.Join(',', Q(r.Id), Q(r.Table), Q(r.Claim), Q(Text(r.Verdict)), Q(r.Evidence), Q(p is null ? "" : Text(p.Verdict)))).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The report's last section: a checklist, ticked where the claim holds on the reproduced tables.</summary>
    public static string ToMarkdown(IReadOnlyList<ClaimResult> reproduced, IReadOnlyList<ClaimResult> published)
    {
        var sb = new StringBuilder("## Claims of the paper\n\n");
        sb.Append("Each claim is checked mechanically on the reproduced tables (`claims.csv` holds the same). ");
        sb.Append($"\"Improves\" needs a higher Dice and a Wilcoxon p < {Alpha.ToString(CultureInfo.InvariantCulture)} against the baseline; ");
        sb.Append("the paper's own numbers are checked the same way (without p-values) to show whether they support the claim.\n\n");
        foreach (var r in reproduced)
        {
            var p = published.FirstOrDefault(x => x.Id == r.Id);
            sb.Append(r.Verdict == ClaimVerdict.Holds ? "- [x] " : "- [ ] ").Append($"**{r.Table}**: {r.Claim}: **{Text(r.Verdict)}**. {r.Evidence}.");
            if (p is not null) sb.Append($" Published numbers: {Text(p.Verdict)}.");
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
