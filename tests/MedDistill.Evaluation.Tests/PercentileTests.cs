namespace MedDistill.Evaluation.Tests;

public class PercentileTests
{
    // Values from numpy.percentile (default "linear" method), worked by hand: h = (n − 1)·q/100.
    [TestCase(new double[] { 3, 1, 2, 5, 4, 10, 9, 8, 7, 6 }, 95, 9.55)] // h = 8.55 → 9 + 0.55·1
    [TestCase(new double[] { 50, 15, 40, 20, 35 }, 40, 29.0)]             // h = 1.6 → 20 + 0.6·15
    [TestCase(new double[] { 0, 0, 4 }, 95, 3.6)]                         // h = 1.9 → 0 + 0.9·4
    [TestCase(new double[] { 7 }, 95, 7.0)]
    [TestCase(new double[] { 1, 2 }, 0, 1.0)]
    [TestCase(new double[] { 1, 2 }, 100, 2.0)]
    [TestCase(new double[] { 1, 2, 3, 4 }, 50, 2.5)]
    public void LinearLikeNumPy(double[] values, double percent, double expected)
    {
        Assert.That(Percentile.Linear(values, percent), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void SameRoundingAsNumPy()
    {
        // numpy.percentile([0,0,0,0,2,2,4,6], 95): h = 7 · 0.95 = 6.6499999999999995 (0.95 is just below 95/100), fraction
        // ≥ 0.5, so 6 − 2 · (1 − 0.6499999999999995) = 5.299999999999999 — one ulp below 5.3, where the textbook form
        // 4 + 0.65 · 2 lands one ulp above.
        Assert.That(Percentile.Linear([6, 4, 2, 2, 0, 0, 0, 0], 95), Is.EqualTo(5.299999999999999));
        Assert.That(Percentile.Linear([6, 4, 2, 2, 0, 0, 0, 0], 95), Is.Not.EqualTo(5.3));
    }

    [Test]
    public void RejectsNoValuesAndPercentOutOfRange()
    {
        Assert.Throws<ArgumentException>(() => Percentile.Linear([], 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentile.Linear([1.0], 101));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentile.Linear([1.0], double.NaN));
    }
}
