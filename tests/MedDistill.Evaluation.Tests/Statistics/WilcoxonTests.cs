using MedDistill.Evaluation.Statistics;

namespace MedDistill.Evaluation.Tests.Statistics;

/// <summary>
/// References from scipy 1.10.1 (Debian bookworm's python3-scipy), computed outside the build, e.g.
/// <c>python3 -c "from scipy.stats import wilcoxon; print(wilcoxon(x, y, method='exact'))"</c> with the x and y below
/// and scipy's defaults otherwise (zero_method='wilcox', correction=False, alternative='two-sided').
/// </summary>
public class WilcoxonTests
{
    private const double Tolerance = 1e-12;

    [Test]
    public void HandComputedTinyCase()
    {
        // d = 1, −2, 3, 4: ranks 1..4, W+ = 1 + 3 + 4 = 8, W− = 2. Of the 16 sign patterns, W+ ≥ 8 for {1,3,4}, {2,3,4}
        // and {1,2,3,4}: 3/16 in the upper tail, so p = 2 · 3/16 = 0.375. scipy: wilcoxon([1,-2,3,4], [0,0,0,0]) → (2.0, 0.375).
        var r = Wilcoxon.Test([1, -2, 3, 4], [0, 0, 0, 0]);
        Assert.That(r.Method, Is.EqualTo(WilcoxonMethod.Exact));
        Assert.That((r.RankSumPlus, r.RankSumMinus, r.Statistic), Is.EqualTo((8.0, 2.0, 2.0)));
        Assert.That(r.PValue, Is.EqualTo(0.375).Within(Tolerance));
        Assert.That(r.Direction, Is.EqualTo(1));
    }

    [Test]
    public void NullCountsAreTheSubsetSums()
    {
        // Subsets of {1,2,3,4} by their sum 0..10: 1,1,1,2,2,2,2,2,1,1,1 (16 in all).
        Assert.That(Wilcoxon.NullCounts(4), Is.EqualTo(new double[] { 1, 1, 1, 2, 2, 2, 2, 2, 1, 1, 1 }));
        Assert.That(Wilcoxon.NullCounts(50).Sum(), Is.EqualTo(Math.Pow(2, 50)), "exact in doubles up to the exact limit");
    }

    [Test]
    public void FiveCasesAllBetterIsTheSmallestExactP()
    {
        // scipy: wilcoxon([0.812,0.645,0.731,0.884,0.803], [0.714,0.604,0.539,0.781,0.701]) → (0.0, 0.0625) (auto = exact);
        // method='approx' → 0.043114446783075355.
        double[] x = [0.812, 0.645, 0.731, 0.884, 0.803], y = [0.714, 0.604, 0.539, 0.781, 0.701];
        var r = Wilcoxon.Test(x, y);
        Assert.That(r.Method, Is.EqualTo(WilcoxonMethod.Exact));
        Assert.That(r.PValue, Is.EqualTo(0.0625).Within(Tolerance));
        Assert.That(Wilcoxon.Test(x, y, WilcoxonMethod.Normal).PValue, Is.EqualTo(0.043114446783075355).Within(Tolerance));
    }

    [Test]
    public void TiesAreTheDoublesThatAreEqual()
    {
        // 0.81 − 0.71, 0.88 − 0.78 and 0.80 − 0.70 are 0.10000000000000009, 0.09999999999999998, 0.10000000000000009
        // (numpy gives the same): two of them tie, so the test leaves the exact table, as scipy ranks them too.
        var r = Wilcoxon.Test([0.81, 0.64, 0.73, 0.88, 0.80], [0.71, 0.60, 0.54, 0.78, 0.70]);
        Assert.That((r.Ties, r.Method), Is.EqualTo((true, WilcoxonMethod.Normal)));
    }

    private static readonly double[] X12 = [0.75, 0.8589, 0.8103, 0.5901, 0.6201, 0.8494, 0.5021, 0.8285, 0.8188, 0.6872, 0.6212, 0.6114];
    private static readonly double[] Y12 = [0.7147, 0.8754, 0.7818, 0.5253, 0.6573, 0.8423, 0.5672, 0.863, 0.8809, 0.669, 0.6546, 0.5678];

    [Test]
    public void TwelvePairsExactAndNormal()
    {
        // scipy: wilcoxon(X12, Y12) → (35.0, 0.791015625) (auto = exact); method='approx' → 0.7536837177261574.
        var r = Wilcoxon.Test(X12, Y12);
        Assert.That((r.Method, r.Statistic), Is.EqualTo((WilcoxonMethod.Exact, 35.0)));
        Assert.That(r.PValue, Is.EqualTo(0.791015625).Within(Tolerance));
        Assert.That(Wilcoxon.Test(X12, Y12, WilcoxonMethod.Normal).PValue, Is.EqualTo(0.7536837177261574).Within(Tolerance));
    }

    [Test]
    public void ZerosAreDroppedAndForceTheNormalApproximation()
    {
        // Two zero differences (0.6−0.6, 0.2−0.2). scipy: wilcoxon(x, y) → (10.5, 0.07613301160858638), also with method='approx'.
        double[] x = [0.8, 0.7, 0.6, 0.5, 0.9, 0.4, 0.3, 0.2, 0.55, 0.65, 0.75, 0.85];
        double[] y = [0.7, 0.6, 0.6, 0.6, 0.8, 0.5, 0.2, 0.2, 0.45, 0.45, 0.85, 0.55];
        var r = Wilcoxon.Test(x, y);
        Assert.That((r.Method, r.Zeros, r.Used, r.Statistic), Is.EqualTo((WilcoxonMethod.Normal, 2, 10, 10.5)));
        Assert.That(r.PValue, Is.EqualTo(0.07613301160858638).Within(Tolerance));
    }

    [Test]
    public void TiesUseTheTieCorrectedNormalApproximation()
    {
        // |d| = 1, 1, 2, 3, 4, 5, 6, 7: one tie. scipy: wilcoxon([1,1,2,-3,4,5,6,7], [0]*8, method='approx') → (4.0, 0.04966953589289581).
        // (scipy 1.10's 'auto' would use the exact table here and give 0.0546875: it ignores ties; see the class remarks.)
        var r = Wilcoxon.Test([1, 1, 2, -3, 4, 5, 6, 7], [0, 0, 0, 0, 0, 0, 0, 0]);
        Assert.That((r.Method, r.Ties, r.Statistic), Is.EqualTo((WilcoxonMethod.Normal, true, 4.0)));
        Assert.That(r.PValue, Is.EqualTo(0.04966953589289581).Within(Tolerance));
        // Dyadic values, so the ties are exact in floating point. scipy: wilcoxon(x, y, method='approx') → (6.0, 0.17006696145390476).
        var dyadic = Wilcoxon.Test([0.5, 0.25, 0.75, 0.5, 0.125, 0.25, 0.5], [0.25, 0.5, 0.25, 0.0, 0.0, 0.5, 0.0]);
        Assert.That(dyadic.PValue, Is.EqualTo(0.17006696145390476).Within(Tolerance));
        Assert.Throws<ArgumentException>(() => Wilcoxon.Test([1, 1, 2], [0, 0, 0], WilcoxonMethod.Exact));
    }

    private static readonly double[] X30 =
    [
        0.3214, 0.6089, 0.5797, 0.8503, 0.6775, 0.6085, 0.5981, 0.4485, 0.3071, 0.4154, 0.7152, 0.4204, 0.5217, 0.3022, 0.798,
        0.3927, 0.4606, 0.8282, 0.6059, 0.8083, 0.6838, 0.7451, 0.3549, 0.6247, 0.6047, 0.8228, 0.5168, 0.6589, 0.3356, 0.5326,
    ];
    private static readonly double[] Y30 =
    [
        0.336, 0.5776, 0.6007, 0.8263, 0.6975, 0.6748, 0.5376, 0.4407, 0.2593, 0.403, 0.624, 0.3656, 0.4899, 0.3361, 0.8467,
        0.2933, 0.3929, 0.847, 0.4664, 0.7605, 0.658, 0.8005, 0.3763, 0.5851, 0.5626, 0.7878, 0.5882, 0.6132, 0.2974, 0.5338,
    ];

    [Test]
    public void ThirtyPairs()
    {
        // scipy: wilcoxon(X30, Y30) → (140.0, 0.05768792890012264) (exact); method='approx' → 0.05709649524315731.
        var r = Wilcoxon.Test(X30, Y30);
        Assert.That((r.Method, r.Statistic, r.Direction), Is.EqualTo((WilcoxonMethod.Exact, 140.0, 1)));
        Assert.That(r.PValue, Is.EqualTo(0.05768792890012264).Within(Tolerance));
        Assert.That(Wilcoxon.Test(X30, Y30, WilcoxonMethod.Normal).PValue, Is.EqualTo(0.05709649524315731).Within(Tolerance));
        // Swapping the samples mirrors the ranks: same p, opposite direction.
        var swapped = Wilcoxon.Test(Y30, X30);
        Assert.That((swapped.PValue, swapped.Direction), Is.EqualTo((r.PValue, -1)));
    }

    [Test]
    public void ThirtyPairsWithZerosAndTies()
    {
        // Six pairs of zeros (both methods predict nothing), the rest on a 0.01 grid.
        // scipy: wilcoxon(x, y) → (45.5, 0.0027136669151267786) (normal approximation: zeros present).
        double[] x = [0, 0, 0, 0, 0, 0, 0.83, 0.68, 0.64, 0.53, 0.55, 0.44, 0.32, 0.83, 0.58, 0.63, 0.49, 0.75, 0.32, 0.52, 0.32, 0.37, 0.88, 0.69, 0.56, 0.61, 0.82, 0.51, 0.65, 0.71];
        double[] y = [0, 0, 0, 0, 0, 0, 0.93, 0.66, 0.74, 0.55, 0.57, 0.49, 0.37, 0.93, 0.68, 0.58, 0.51, 0.85, 0.3, 0.47, 0.34, 0.42, 0.93, 0.79, 0.61, 0.56, 0.92, 0.53, 0.75, 0.81];
        var r = Wilcoxon.Test(x, y);
        Assert.That((r.Method, r.Zeros, r.Statistic, r.Direction), Is.EqualTo((WilcoxonMethod.Normal, 6, 45.5, -1)));
        Assert.That(r.PValue, Is.EqualTo(0.0027136669151267786).Within(Tolerance));
    }

    [Test]
    public void NoDifferenceHasNoPValue()
    {
        var r = Wilcoxon.Test([0.5, 0.0, 0.7], [0.5, 0.0, 0.7]);
        Assert.That((r.Method, r.Zeros, r.Direction), Is.EqualTo((WilcoxonMethod.None, 3, 0)));
        Assert.That(r.PValue, Is.NaN);
        Assert.Throws<ArgumentException>(() => Wilcoxon.Test([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => Wilcoxon.Test([double.NaN], [1]));
    }

    [TestCase(0.0, 0.5)]
    [TestCase(1.959963984540054, 0.025)]
    [TestCase(3.0, 0.0013498980316300933)] // scipy.stats.norm.sf(3.0)
    [TestCase(6.0, 9.865876450376946e-10)] // scipy.stats.norm.sf(6.0)
    [TestCase(-1.0, 0.8413447460685429)]   // scipy.stats.norm.sf(-1.0)
    public void NormalUpperTail(double z, double expected) =>
        Assert.That(NormalDistribution.UpperTail(z), Is.EqualTo(expected).Within(expected * 1e-12));
}
