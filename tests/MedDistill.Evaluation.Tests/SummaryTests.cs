using static MedDistill.Evaluation.Tests.Rows;

namespace MedDistill.Evaluation.Tests;

public class SummaryTests
{
    [Test]
    public void PerSiteAndOverallMeanAndSampleStd()
    {
        var report = MetricsReport.Create([
            Row("A", "a1", 0.8, 2),
            Row("A", "a2", 0.6, 4),
            Row("A", "a3", 0.7, double.NaN),
            Row("B", "b1", 0.9, 7),
        ]);

        var a = report.PerSite.Single(s => s.Site == "A");
        // Dice 0.8, 0.6, 0.7: mean 0.7, sample std √((0.01 + 0.01 + 0) / 2) = 0.1.
        Assert.That(a.Cases, Is.EqualTo(3));
        Assert.That(a.Dice.Mean, Is.EqualTo(0.7).Within(1e-12));
        Assert.That(a.Dice.StandardDeviation, Is.EqualTo(0.1).Within(1e-12));
        Assert.That((a.Dice.Count, a.Dice.Excluded), Is.EqualTo((3, 0)));
        // HD95 2, 4 and one NaN: mean 3, std √((1 + 1) / 1) = √2, one excluded.
        Assert.That(a.Hd95.Mean, Is.EqualTo(3).Within(1e-12));
        Assert.That(a.Hd95.StandardDeviation, Is.EqualTo(Math.Sqrt(2)).Within(1e-12));
        Assert.That((a.Hd95.Count, a.Hd95.Excluded), Is.EqualTo((2, 1)));

        var b = report.PerSite.Single(s => s.Site == "B");
        Assert.That(b.Dice.Mean, Is.EqualTo(0.9));
        Assert.That(b.Dice.StandardDeviation, Is.Null, "one case: sample std undefined");

        var all = report.Overall.Single();
        Assert.That(all.Site, Is.Null);
        Assert.That(all.Cases, Is.EqualTo(4));
        // 0.8, 0.6, 0.7, 0.9: mean 0.75, deviations ±0.05, ±0.15 → √(0.05 / 3).
        Assert.That(all.Dice.Mean, Is.EqualTo(0.75).Within(1e-12));
        Assert.That(all.Dice.StandardDeviation, Is.EqualTo(Math.Sqrt(0.05 / 3)).Within(1e-12));
        // HD95 2, 4, 7 (NaN left out): mean 13/3.
        Assert.That(all.Hd95.Mean, Is.EqualTo(13.0 / 3).Within(1e-12));
        Assert.That(all.Hd95.Excluded, Is.EqualTo(1));
    }

    [Test]
    public void AllValuesExcludedGivesNullMean()
    {
        var stats = MetricStats.Of([double.NaN, double.NaN]);
        Assert.That(stats, Is.EqualTo(new MetricStats(null, null, 0, 2)));
    }

    [Test]
    public void ClassesAreSummarisedSeparately()
    {
        var report = MetricsReport.Create([
            Row("A", "a1", 0.8, 2, classLabel: 1),
            Row("A", "a1", 0.4, 9, classLabel: 2),
            Row("A", "a2", 0.6, 4, classLabel: 1),
        ]);
        Assert.That(report.Overall.Select(s => (s.ClassLabel, s.Cases)), Is.EqualTo(new[] { (1, 2), (2, 1) }));
        Assert.That(report.PerSite.Select(s => (s.Site, s.ClassLabel)), Is.EqualTo(new[] { ("A", 1), ("A", 2) }));
        Assert.That(report.Overall[0].Dice.Mean, Is.EqualTo(0.7).Within(1e-12));
        Assert.That(report.Overall[1].Dice.Mean, Is.EqualTo(0.4));
    }

    [Test]
    public void EmptyMaskCasesAreCounted()
    {
        var report = MetricsReport.Create([
            Row("A", "a1", 0, double.NaN, prediction: 0, intersection: 0),
            Row("A", "a2", 0, double.NaN, reference: 0, intersection: 0),
            Row("A", "a3", 1, 0, prediction: 0, reference: 0, intersection: 0),
        ], options: new MetricsOptions { EmptyMaskDistance = EmptyMaskDistance.NaN });
        var s = report.Overall.Single();
        Assert.That((s.PredictionEmptyCases, s.ReferenceEmptyCases), Is.EqualTo((2, 2)));
        Assert.That((s.Hd95.Count, s.Hd95.Excluded), Is.EqualTo((1, 2)));
        Assert.That(report.EmptyMaskDistance, Is.EqualTo(EmptyMaskDistance.NaN));
    }

    [Test]
    public void DuplicateCaseIsRejected()
    {
        Assert.Throws<ArgumentException>(() => MetricsReport.Create([Row("A", "a1", 0.8, 2), Row("A", "a1", 0.7, 3)]));
    }
}
