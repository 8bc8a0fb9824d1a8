using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// A class absent from both prediction and reference of a test case: binary runs keep Dice 1 / distances 0 (the committed
/// prostate tables), multi-class runs record NaN and leave it out of the means (as <see cref="MultiClassMetrics"/> does).
/// </summary>
public class AbsentClassConventionTests
{
    // 1 × 4 × 4: class 1 in the top-left 2×2 of both, predicted one voxel short; class 2 nowhere.
    private static readonly VolumeGrid Grid = VolumeGrid.FromShape([1, 4, 4], [1.0, 1.0, 1.0]);
    private static readonly byte[] Reference = [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly byte[] Prediction = [1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    [Test]
    public void TwoClassRuns_KeepTheBinaryRule()
    {
        var empty = new byte[16];
        var row = CaseEvaluator.ScoreCase("c", "s", empty, empty, Grid, classes: 2).Single();
        Assert.That((row.Dice, row.Hd95, row.Asd, row.Hd), Is.EqualTo((1.0, 0.0, 0.0, 0.0)));
        var same = SegmentationMetrics.ComputeClasses("c", "s", Prediction, Reference, Grid, [1]).Single();
        Assert.That(CaseEvaluator.ScoreCase("c", "s", Prediction, Reference, Grid, 2).Single(), Is.EqualTo(same), "the binary code's row, unchanged");
    }

    [Test]
    public void MultiClassRuns_RecordAnAbsentClassAsNaN_AndLeaveItOutOfTheMeans()
    {
        var rows = CaseEvaluator.ScoreCase("c", "s", Prediction, Reference, Grid, classes: 3);
        Assert.That(rows.Select(r => r.ClassLabel), Is.EqualTo(new[] { 1, 2 }), "a row for every foreground class");
        Assert.That(rows[0].Dice, Is.EqualTo(6.0 / 7).Within(1e-12));
        Assert.That(new[] { rows[1].Dice, rows[1].Hd95, rows[1].Asd, rows[1].AssdMedPy, rows[1].Hd }, Has.All.NaN);
        var multi = MultiClassMetrics.Compute("c", "s", Prediction, Reference, Grid, 3);
        Assert.That(rows.Select(r => r.Dice), Is.EqualTo(multi.Classes.Skip(1).Select(c => c.Dice)), "the same convention as MultiClassMetrics");

        var report = MetricsReport.Create(rows);
        Assert.That(report.Overall[1].Dice.Mean, Is.Null);
        Assert.That(report.Overall[1].Dice.Excluded, Is.EqualTo(1));
        Assert.That(report.MeanDice(), Is.EqualTo(6.0 / 7).Within(1e-12), "the absent class neither counts as 1 nor makes the mean NaN");
        var dir = Directory.CreateTempSubdirectory("md-absent-").FullName;
        try
        {
            report.Write(Path.Combine(dir, "metrics.json"));
            Assert.That(File.ReadAllText(Path.Combine(dir, "metrics.json")), Does.Contain("\"dice\": null"));
            Assert.That(MetricsReport.Read(Path.Combine(dir, "metrics.json")).MeanDice(), Is.EqualTo(report.MeanDice()), "NaN is null in metrics.json and reads back as NaN");
        }
        finally { Directory.Delete(dir, recursive: true); }
        Assert.That(MetricsReport.Create([]).MeanDice(), Is.NaN);
    }
}
