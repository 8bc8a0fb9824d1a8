namespace MedDistill.Evaluation.Tests;

/// <summary>
/// <see cref="FrechetDistance"/> against truths that do not use its code path: diagonal covariances, the 2×2 closed-form
/// square root, hand-worked sample moments, and invariances (identity, translation, symmetry).
/// </summary>
public class FrechetDistanceTests
{
    private static double[,] RandomSet(int n, int d, int seed, double scale = 1, double offset = 0)
    {
        var random = new Random(seed);
        var x = new double[n, d];
        // Mixing columns gives non-diagonal covariances, so the eigen/SVD path is exercised, not just the diagonal.
        for (int i = 0; i < n; i++)
        {
            double shared = random.NextDouble() - 0.5;
            for (int j = 0; j < d; j++) x[i, j] = offset + scale * (random.NextDouble() - 0.5 + shared * (j % 3));
        }
        return x;
    }

    private static double[,] Translate(double[,] x, double[] v)
    {
        var y = (double[,])x.Clone();
        for (int i = 0; i < y.GetLength(0); i++)
            for (int j = 0; j < y.GetLength(1); j++) y[i, j] += v[j];
        return y;
    }

    [Test]
    public void DiagonalCovariances_GiveTheSumOfSquaredRootDifferences()
    {
        double[] a = [4, 1, 0.25, 9], b = [1, 1, 2, 0];
        double[] mu1 = [0, 1, 2, 3], mu2 = [1, -1, 2, 3.5];
        var fit1 = new GaussianFit(mu1, Diagonal(a), 10);
        var fit2 = new GaussianFit(mu2, Diagonal(b), 20);
        double expected = 1 + 4 + 0 + 0.25;
        for (int i = 0; i < a.Length; i++) expected += Math.Pow(Math.Sqrt(a[i]) - Math.Sqrt(b[i]), 2);

        var r = FrechetDistance.Between(fit1, fit2);
        Assert.Multiple(() =>
        {
            Assert.That(r.Distance, Is.EqualTo(expected).Within(1e-12));
            Assert.That(r.MeanTerm, Is.EqualTo(5.25).Within(1e-15));
            Assert.That(r.Count1, Is.EqualTo(10));
            Assert.That(r.Dimension, Is.EqualTo(4));
        });
    }

    [Test]
    public void DiagonalCovariance_FromSamples()
    {
        // Centred columns (p, −p, 0, 0) and (0, 0, q, −q) are orthogonal: Σ = diag(2p²/3, 2q²/3) exactly.
        double p = 3, q = 0.5;
        var set1 = new double[,] { { 1 + p, 2 }, { 1 - p, 2 }, { 1, 2 + q }, { 1, 2 - q } };
        var set2 = new double[,] { { 0, 0 }, { 0, 0 }, { 0, 1 }, { 0, -1 } }; // μ = 0, Σ = diag(0, 2/3)
        double expected = 1 + 4 + Math.Pow(Math.Sqrt(2 * p * p / 3) - 0, 2) + Math.Pow(Math.Sqrt(2 * q * q / 3) - Math.Sqrt(2.0 / 3), 2);
        Assert.That(FrechetDistance.Compute(set1, set2).Distance, Is.EqualTo(expected).Within(1e-12));
    }

    /// <summary>√M = (M + √det M · I)/√(tr M + 2√det M) for 2×2 SPD M, so Tr √M = √(tr M + 2√det M).</summary>
    private static double[,] Sqrt2x2(double[,] m)
    {
        double s = Math.Sqrt(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]);
        double t = Math.Sqrt(m[0, 0] + m[1, 1] + 2 * s);
        return new[,] { { (m[0, 0] + s) / t, m[0, 1] / t }, { m[1, 0] / t, (m[1, 1] + s) / t } };
    }

    private static double[,] Mul(double[,] x, double[,] y)
    {
        var z = new double[2, 2];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) z[i, j] = x[i, 0] * y[0, j] + x[i, 1] * y[1, j];
        return z;
    }

    [TestCase(2.0, 0.7, 1.0, 1.0, -0.4, 3.0)]
    [TestCase(5.0, 2.0, 1.0, 0.3, 0.1, 0.2)]
    [TestCase(1e-3, 0.0, 4.0, 2.0, 1.9, 2.0)]
    public void NonCommuting2x2_MatchesTheClosedFormSquareRoot(double a00, double a01, double a11, double b00, double b01, double b11)
    {
        var s1 = new[,] { { a00, a01 }, { a01, a11 } };
        var s2 = new[,] { { b00, b01 }, { b01, b11 } };
        Assert.That(Mul(s1, s2)[0, 1], Is.Not.EqualTo(Mul(s2, s1)[0, 1]).Within(1e-9), "the case must not commute");

        // Independent truth: Σ₁Σ₂ is similar to the SPD M = Σ₁^½ Σ₂ Σ₁^½, both square roots in closed form.
        var root1 = Sqrt2x2(s1);
        var m = Mul(Mul(root1, s2), root1);
        var rootM = Sqrt2x2(m);
        double traceSqrt = rootM[0, 0] + rootM[1, 1];
        Assert.That(FrechetDistance.TraceSqrtProduct(s1, s2), Is.EqualTo(traceSqrt).Within(1e-12 * (1 + traceSqrt)));

        double[] mu1 = [0.5, -1], mu2 = [2, 1];
        double expected = 1.5 * 1.5 + 2 * 2 + a00 + a11 + b00 + b11 - 2 * traceSqrt;
        var r = FrechetDistance.Between(new GaussianFit(mu1, s1, 5), new GaussianFit(mu2, s2, 5));
        Assert.That(r.Distance, Is.EqualTo(expected).Within(1e-12));
        // Symmetric although Σ₁Σ₂ ≠ Σ₂Σ₁.
        Assert.That(FrechetDistance.Between(new GaussianFit(mu2, s2, 5), new GaussianFit(mu1, s1, 5)).Distance, Is.EqualTo(expected).Within(1e-12));
    }

    [TestCase(50, 8)]
    [TestCase(4, 16)]   // rank 3 covariance in 16 dimensions
    [TestCase(1, 5)]
    public void IdenticalSets_GiveZero(int n, int d)
    {
        var x = RandomSet(n, d, seed: 7, scale: 3);
        var r = FrechetDistance.Compute(x, (double[,])x.Clone());
        // The singular-value route keeps this at rounding level (1e-16·Tr Σ), not the 1e-8 of square-rooting eigenvalues.
        Assert.That(r.Distance, Is.GreaterThanOrEqualTo(0).And.LessThan(1e-12));
    }

    [TestCase(30, 6, 0.0)]
    [TestCase(30, 6, 1e6)]  // large common offset: the two-pass covariance must not cancel
    [TestCase(3, 10, 5.0)]  // singular covariance
    public void TranslatingOneSet_AddsTheSquaredNormOfTheShift(int n, int d, double offset)
    {
        var x = RandomSet(n, d, seed: 11, offset: offset);
        var v = Enumerable.Range(0, d).Select(j => 0.5 * j - 1.0).ToArray();
        double norm2 = v.Sum(c => c * c);
        var r = FrechetDistance.Compute(x, Translate(x, v));
        Assert.Multiple(() =>
        {
            Assert.That(r.Distance, Is.EqualTo(norm2).Within(1e-9 * norm2));
            Assert.That(r.TraceTerm, Is.LessThan(1e-9));
        });
    }

    [TestCase(3, 10)]
    [TestCase(2, 64)]
    [TestCase(20, 64)]
    public void RankDeficient_IsFiniteNonNegativeAndSymmetric(int n, int d)
    {
        var a = RandomSet(n, d, seed: 1);
        var b = RandomSet(n + 1, d, seed: 2, scale: 2);
        double ab = FrechetDistance.Compute(a, b).Distance, ba = FrechetDistance.Compute(b, a).Distance;
        Assert.Multiple(() =>
        {
            Assert.That(double.IsFinite(ab), Is.True);
            Assert.That(ab, Is.GreaterThan(0));
            Assert.That(ba, Is.EqualTo(ab).Within(1e-10 * ab));
        });
    }

    [TestCase(40, 6)]
    [TestCase(5, 12)]
    public void SampleFactors_AgreeWithTheCovarianceSquareRootRoute(int n, int d)
    {
        // Fits from samples use their data factor; the same moments without it go through Σ^½. Two routes, one number.
        var a = RandomSet(n, d, seed: 3);
        var b = RandomSet(n + 2, d, seed: 4, scale: 1.5);
        var fa = FrechetDistance.Fit(Flat(a), n, d);
        var fb = FrechetDistance.Fit(Flat(b), n + 2, d);
        double fromSamples = FrechetDistance.Between(fa, fb).Distance;
        double fromMoments = FrechetDistance.Between(new GaussianFit(fa.Mean, fa.Covariance, n), new GaussianFit(fb.Mean, fb.Covariance, n + 2)).Distance;
        // Loose only where n < d: Σ^½ of a singular Σ carries about √ε·‖Σ‖, the error the data factor avoids.
        Assert.That(fromMoments, Is.EqualTo(fromSamples).Within(n < d ? 1e-6 : 1e-11));

        // A copy with another covariance must not reuse the first fit's data factor.
        var swapped = fa with { Covariance = fb.Covariance, Mean = fb.Mean };
        Assert.That(FrechetDistance.Between(swapped, fb).Distance, Is.LessThan(1e-6));
    }

    private static double[] Flat(double[,] x) => x.Cast<double>().ToArray();

    [Test]
    public void HandWorked_ThreeVectorsInTwoDimensions()
    {
        // A = (0,0), (2,0), (1,3): μ = (1,1), centred (−1,−1), (1,−1), (0,2), Σ = ½[[2,0],[0,6]] = diag(1, 3).
        // B = (0,0), (1,1), (2,2): μ = (1,1), centred (−1,−1), (0,0), (1,1), Σ = ½[[2,2],[2,2]] = [[1,1],[1,1]] (singular).
        // Σ_AΣ_B = [[1,1],[3,3]]: eigenvalues 4 and 0, so Tr (Σ_AΣ_B)^½ = 2; FD = 0 + (1 + 3) + (1 + 1) − 2·2 = 2.
        var a = new double[,] { { 0, 0 }, { 2, 0 }, { 1, 3 } };
        var b = new double[,] { { 0, 0 }, { 1, 1 }, { 2, 2 } };
        var r = FrechetDistance.Compute(a, b);
        Assert.Multiple(() =>
        {
            Assert.That(r.Distance, Is.EqualTo(2).Within(1e-12));
            Assert.That(r.MeanTerm, Is.EqualTo(0));
            Assert.That(r.TraceTerm, Is.EqualTo(2).Within(1e-12));
        });

        // C = (1,2), (3,2), (2,2): μ = (2,2), Σ = diag(1, 0); FD(A, C) = ‖(1,1)−(2,2)‖² + (1−1)² + (√3−0)² = 2 + 3 = 5.
        var c = new double[,] { { 1, 2 }, { 3, 2 }, { 2, 2 } };
        Assert.That(FrechetDistance.Compute(a, c).Distance, Is.EqualTo(5).Within(1e-12));
    }

    [Test]
    public void OneVector_HasZeroCovariance_SoTheDistanceIsTheSquaredEuclidean()
    {
        var fit = FrechetDistance.Fit([1.0, 2.0, 3.0], 1, 3);
        Assert.That(fit.Covariance.Cast<double>(), Is.All.EqualTo(0.0));
        var r = FrechetDistance.Compute(new double[,] { { 1, 2, 3 } }, new double[,] { { 1, 0, 3 } });
        Assert.That(r.Distance, Is.EqualTo(4).Within(1e-15));
    }

    [Test]
    public void SampleCovariance_DividesByNMinusOne()
    {
        var fit = FrechetDistance.Fit([0.0, 2.0], 2, 1);
        Assert.That(fit.Covariance[0, 0], Is.EqualTo(2.0)); // ((−1)² + 1²)/(2 − 1)
    }

    [Test]
    public void Errors_NameTheProblem()
    {
        var ok = new double[,] { { 1, 2 }, { 3, 4 } };
        Assert.Multiple(() =>
        {
            Assert.That(() => FrechetDistance.Compute(ok, new double[,] { { 1, 2, 3 } }),
                Throws.ArgumentException.With.Message.Contains("different dimension (2 and 3)"));
            Assert.That(() => FrechetDistance.Compute(ok, new double[,] { { 1, double.NaN } }),
                Throws.ArgumentException.With.Message.Contains("set 2: vector 0, component 1 is NaN"));
            Assert.That(() => FrechetDistance.Compute(new double[,] { { double.PositiveInfinity, 0 } }, ok),
                Throws.ArgumentException.With.Message.Contains("set 1: vector 0, component 0 is Infinity"));
            Assert.That(() => FrechetDistance.Compute(new double[0, 2], ok),
                Throws.ArgumentException.With.Message.Contains("no vectors"));
            Assert.That(() => FrechetDistance.Fit([1.0, 2.0, 3.0], 2, 2, "x.npy"),
                Throws.ArgumentException.With.Message.Contains("x.npy: 3 values are not 2 vectors of dimension 2"));
            Assert.That(() => FrechetDistance.Compute(new double[,] { { 1e200, 0 }, { -1e200, 0 } }, ok),
                Throws.ArgumentException.With.Message.Contains("overflows"));
        });
    }

    private static double[,] Diagonal(double[] values)
    {
        var m = new double[values.Length, values.Length];
        for (int i = 0; i < values.Length; i++) m[i, i] = values[i];
        return m;
    }
}
