using System.Globalization;
using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Tests;

/// <summary>The claim checklist on hand-made tables: what makes a claim hold, fail, hold partly or stay unevaluated.</summary>
public class ClaimsTests
{
    private static readonly string[] Sites = AffinityKdExperiment.Targets;

    private static ResultTable Table(params (string Row, double[] Values)[] rows)
    {
        var t = new ResultTable("model", [.. Sites, "mean"]);
        foreach (var (row, values) in rows)
            t.AddRow(row, Sites.Select((s, i) => (s, values[i])).ToDictionary(x => x.s, x => (string?)x.Item2.ToString("0.000", CultureInfo.InvariantCulture)));
        return t;
    }

    private static double[] All(double v) => [v, v, v, v, v, v];

    /// <summary>Table 2 where distillation adds <paramref name="gain"/> to every student on every site.</summary>
    private static ResultTable Table2(double gain)
    {
        var rows = new List<(string, double[])> { ("T1: DeepLabV3+", All(0.9)), ("T2: UNet++", All(0.9)) };
        foreach (var s in new[] { "ENet", "ESPNet", "ERFNet" })
            rows.AddRange([($"{s} w/o", All(0.6)), ($"{s} w/ T1", All(0.6 + gain)), ($"{s} w/ T2", All(0.6 + gain))]);
        return Table([.. rows]);
    }

    private static ClaimResult Claim(IReadOnlyList<ClaimResult> results, string id) => results.Single(r => r.Id == id);

    [Test]
    public void EveryStudentImproving_Holds_AndLosingEverywhere_DoesNotHold()
    {
        var up = AffinityKdClaims.Evaluate(new Dictionary<string, ResultTable> { ["table2"] = Table2(0.1) }, []);
        Assert.That(Claim(up, "every-student-every-site").Verdict, Is.EqualTo(ClaimVerdict.Holds));
        Assert.That(Claim(up, "every-student-every-site").Evidence, Does.StartWith("36/36 higher than w/o"));
        Assert.That(Claim(up, "closer-to-teacher").Verdict, Is.EqualTo(ClaimVerdict.Holds));

        var down = AffinityKdClaims.Evaluate(new Dictionary<string, ResultTable> { ["table2"] = Table2(-0.1) }, []);
        Assert.That(Claim(down, "every-student-every-site").Verdict, Is.EqualTo(ClaimVerdict.DoesNotHold));
        Assert.That(Claim(down, "every-student-every-site").Evidence, Does.Contain("0/36").And.Contain("against: ENet w/ T1 S1 -0.100"));
        Assert.That(Claim(down, "enet-beats-teacher").Verdict, Is.EqualTo(ClaimVerdict.DoesNotHold));
        // Tables 3 and 4 were not given: their claims are not evaluated rather than failed.
        Assert.That(Claim(down, "beats-emkd").Verdict, Is.EqualTo(ClaimVerdict.NotEvaluated));
    }

    [Test]
    public void HigherButNotSignificant_IsOnlyPartly()
    {
        var tables = new Dictionary<string, ResultTable> { ["table2"] = Table2(0.1) };
        // Only ENet w/ T1 on S1 is significant; every other w/ cell has p = 0.2.
        var stats = (from s in new[] { "ENet", "ESPNet", "ERFNet" } from t in new[] { "T1", "T2" } from site in Sites
                     let significant = s == "ENet" && t == "T1" && site == "S1"
                     select new CellStats("table2", $"{s} w/ {t}", site, 0.7, 0.1, 10, significant ? 0.01 : 0.2, 1, $"{s} w/o")).ToList();
        var result = Claim(AffinityKdClaims.Evaluate(tables, stats), "every-student-every-site");
        Assert.That(result.Verdict, Is.EqualTo(ClaimVerdict.Partly));
        Assert.That(result.Evidence, Does.StartWith("1/36 higher than w/o and p < 0.05"));
        // A significant result in the wrong direction does not count as an improvement.
        var lower = stats.Select(s => s with { PValue = 0.001, Direction = -1 }).ToList();
        Assert.That(Claim(AffinityKdClaims.Evaluate(tables, lower), "every-student-every-site").Verdict, Is.EqualTo(ClaimVerdict.DoesNotHold));
    }

    [Test]
    public void TheAblationClaimsOnThePaperPattern()
    {
        // The published pattern: single modules below the plain student, pairs above, the full set best on the mean
        // but not on S2 (where +AAM + LM is higher).
        var t4 = Table(("Teacher: DeepLabV3+", All(0.9)), ("Student: ENet", All(0.70)),
            ("+LM", All(0.68)), ("+AAM", All(0.69)), ("+KMM", All(0.69)),
            ("+KMM + LM", All(0.75)), ("+AAM + LM", [0.76, 0.85, 0.76, 0.76, 0.76, 0.76]), ("+AAM + KMM", All(0.77)),
            ("+AAM + KMM + LM", [0.80, 0.80, 0.80, 0.80, 0.80, 0.80]));
        var results = AffinityKdClaims.Evaluate(new Dictionary<string, ResultTable> { ["table4"] = t4 }, []);
        Assert.That(Claim(results, "full-set-best").Verdict, Is.EqualTo(ClaimVerdict.Partly));
        Assert.That(Claim(results, "full-set-best").Evidence, Does.Contain("6/7").And.Contain("+AAM + KMM + LM S2 (next: +AAM + LM) -0.050"));
        Assert.That(Claim(results, "each-module-adds").Verdict, Is.EqualTo(ClaimVerdict.Holds));
        Assert.That(Claim(results, "pairs-improve").Verdict, Is.EqualTo(ClaimVerdict.Holds));
    }

    [Test]
    public void AMethodThatIsNotReproducedIsNotEvaluated()
    {
        var t3 = new ResultTable("model", [.. Sites, "mean"]);
        t3.AddRow("Student: ENet (ours)", Sites.ToDictionary(s => s, _ => (string?)"0.800"));
        t3.AddRow("MSKD", Sites.ToDictionary(s => s, _ => (string?)AffinityKdTables.NotReproduced));
        t3.AddRow("EMKD", Sites.ToDictionary(s => s, s => (string?)(s == "S3" ? "0.850" : "0.700")));
        var results = AffinityKdClaims.Evaluate(new Dictionary<string, ResultTable> { ["table3"] = t3 }, []);
        Assert.That(Claim(results, "beats-mskd").Verdict, Is.EqualTo(ClaimVerdict.NotEvaluated));
        Assert.That(Claim(results, "beats-emkd").Verdict, Is.EqualTo(ClaimVerdict.Partly));
        Assert.That(Claim(results, "beats-emkd").Evidence, Does.Contain("5/6").And.Contain("against: Student: ENet (ours) S3 -0.050"));
    }

    [Test]
    public void CsvAndChecklist()
    {
        var tables = new Dictionary<string, ResultTable> { ["table2"] = Table2(0.1) };
        var mine = AffinityKdClaims.Evaluate(tables, []);
        var paper = AffinityKdClaims.Evaluate(new Dictionary<string, ResultTable> { ["table2"] = Table2(-0.1) }, []);
        var csv = AffinityKdClaims.ToCsv(mine, paper);
        Assert.That(csv, Does.StartWith("id,table,claim,verdict,evidence,verdict_on_published\nevery-student-every-site,table2,"));
        Assert.That(csv.Split('\n')[1], Does.EndWith(",holds,\"36/36 higher than w/o; differences +0.100 to +0.100, mean +0.100; ENet w/ T1 S1 +0.100, " +
            "ENet w/ T1 S2 +0.100, ENet w/ T1 S3 +0.100, ENet w/ T1 S4 +0.100, ENet w/ T1 S5 +0.100, ENet w/ T1 S6 +0.100, ENet w/ T2 S1 +0.100, " +
            "ENet w/ T2 S2 +0.100, and 28 more\",does not hold"));
        var md = AffinityKdClaims.ToMarkdown(mine, paper);
        Assert.That(md, Does.StartWith("## Claims of the paper\n"));
        Assert.That(md, Does.Contain("- [x] **table2**: Affinity-KD improves every student"));
        Assert.That(md, Does.Contain("- [ ] **table3**: ENet with Affinity-KD beats EMKD (same teacher and student) on every target site: **not evaluated**"));
    }
}
