using System.Globalization;
using MathNet.Numerics.LinearAlgebra;

namespace MedDistill.Evaluation;

/// <summary>A Gaussian fitted to a set of vectors: mean, sample covariance (n − 1; zero for one vector) and the count.</summary>
public sealed record GaussianFit(double[] Mean, double[,] Covariance, int Count)
{
    public int Dimension => Mean.Length;

    /// <summary>
    /// A k×d F with Σ = FᵀF, kept by <see cref="FrechetDistance.Fit"/> from the centred samples, so the trace term needs no
    /// square root of Σ (see <see cref="FrechetDistance.TraceSqrtProduct"/>). Null for a fit built from moments.
    /// </summary>
    internal Matrix<double>? Factor { get; init; }

    /// <summary>The covariance <see cref="Factor"/> was made for: a <c>with</c> copy given another covariance must not reuse it.</summary>
    internal double[,]? FactorOf { get; init; }

    internal Matrix<double>? UsableFactor => ReferenceEquals(FactorOf, Covariance) ? Factor : null;
}

/// <summary>
/// The Fréchet distance and its two parts: <see cref="Distance"/> = <see cref="MeanTerm"/> + <see cref="TraceTerm"/>, with
/// MeanTerm = ‖μ₁ − μ₂‖² and TraceTerm = Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) (clamped at 0).
/// </summary>
public sealed record FrechetResult(double Distance, double MeanTerm, double TraceTerm, int Count1, int Count2, int Dimension);

/// <summary>
/// Fréchet distance between Gaussian fits of two sets of vectors (FID's formula; GKD's "Fréchet semantic distance" on
/// semantic vectors): ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½). Double precision throughout; see docs/evaluation.md.
/// </summary>
public static class FrechetDistance
{
    /// <summary>Distance between two sets given as (n, d) arrays, one vector per row.</summary>
    public static FrechetResult Compute(double[,] set1, double[,] set2)
    {
        ArgumentNullException.ThrowIfNull(set1);
        ArgumentNullException.ThrowIfNull(set2);
        int d1 = set1.GetLength(1), d2 = set2.GetLength(1);
        CheckDimensions(d1, d2);
        return Compute(Flatten(set1), set1.GetLength(0), Flatten(set2), set2.GetLength(0), d1);
    }

    /// <summary>Distance between two sets given row-major: vector i of a set is <c>values[i*d .. (i+1)*d)</c>.</summary>
    public static FrechetResult Compute(ReadOnlySpan<double> set1, int count1, ReadOnlySpan<double> set2, int count2, int dimension) =>
        Between(Fit(set1, count1, dimension, "set 1"), Fit(set2, count2, dimension, "set 2"));

    /// <summary>
    /// Mean and sample covariance (divisor n − 1, as NumPy's <c>np.cov</c> and FID implementations use) of <paramref name="count"/>
    /// row-major vectors. One vector gives a zero covariance: the fit is a point mass there, and the distance between point
    /// masses is then the squared Euclidean distance, the exact 2-Wasserstein value (n − 1 = 0 would give NaN instead).
    /// </summary>
    /// <param name="name">How errors refer to this set (e.g. a file name).</param>
    public static GaussianFit Fit(ReadOnlySpan<double> rows, int count, int dimension, string name = "set")
    {
        if (count < 1) throw new ArgumentException($"{name}: no vectors (a Gaussian fit needs at least one)", nameof(count));
        if (dimension < 1) throw new ArgumentException($"{name}: vectors of dimension {dimension}; at least 1 is needed", nameof(dimension));
        if ((long)count * dimension != rows.Length)
            throw new ArgumentException($"{name}: {rows.Length} values are not {count} vectors of dimension {dimension}", nameof(rows));
        for (int k = 0; k < rows.Length; k++)
            if (!double.IsFinite(rows[k]))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{name}: vector {k / dimension}, component {k % dimension} is {rows[k]}; NaN and infinite values have no Gaussian fit"), nameof(rows));

        var mean = new double[dimension];
        for (int i = 0; i < count; i++)
            for (int j = 0; j < dimension; j++) mean[j] += rows[i * dimension + j];
        for (int j = 0; j < dimension; j++) mean[j] /= count;

        // Two-pass (centre first, then multiply): the one-pass E[xxᵀ] − μμᵀ cancels catastrophically when |μ| ≫ spread.
        var covariance = new double[dimension, dimension];
        Matrix<double>? factor = null;
        if (count > 1)
        {
            var centred = Matrix<double>.Build.Dense(count, dimension);
            for (int i = 0; i < count; i++)
                for (int j = 0; j < dimension; j++) centred[i, j] = rows[i * dimension + j] - mean[j];
            var product = centred.TransposeThisAndMultiply(centred);
            for (int a = 0; a < dimension; a++)
                for (int b = a; b < dimension; b++)
                {
                    // Mirror one triangle so Σ is exactly symmetric, as the symmetric eigensolver assumes.
                    double v = product[a, b] / (count - 1);
                    covariance[a, b] = v;
                    covariance[b, a] = v;
                }
            // Σ = FᵀF with F = Xc/√(n−1) (n×d); when n > d, the thin QR's R (d×d, XcᵀXc = RᵀR) is the smaller equal factor.
            // Both are backward-stable transforms of the data, with no eigenvalue square-rooted.
            factor = (count > dimension ? centred.QR(MathNet.Numerics.LinearAlgebra.Factorization.QRMethod.Thin).R : centred)
                     / Math.Sqrt(count - 1);
        }
        foreach (var v in covariance)
            if (!double.IsFinite(v)) throw new ArgumentException($"{name}: the covariance overflows double precision (values too large)", nameof(rows));
        // One vector: Σ = 0, factor a 1×d zero row.
        return new GaussianFit(mean, covariance, count) { Factor = factor ?? Matrix<double>.Build.Dense(1, dimension), FactorOf = covariance };
    }

    /// <summary>Distance between two fitted Gaussians (or any means and symmetric PSD covariances of equal dimension).</summary>
    public static FrechetResult Between(GaussianFit a, GaussianFit b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        CheckDimensions(a.Dimension, b.Dimension);
        CheckCovariance(a, "set 1");
        CheckCovariance(b, "set 2");
        int d = a.Dimension;

        double meanTerm = 0;
        for (int j = 0; j < d; j++)
        {
            double diff = a.Mean[j] - b.Mean[j];
            meanTerm += diff * diff;
        }

        double trace1 = 0, trace2 = 0;
        for (int j = 0; j < d; j++) { trace1 += a.Covariance[j, j]; trace2 += b.Covariance[j, j]; }
        // Tr((Σ₁Σ₂)^½) = Σ σᵢ(F₁F₂ᵀ) for any factors Σ = FᵀF: Σ₁Σ₂ = F₁ᵀ(F₁F₂ᵀ)F₂, whose non-zero eigenvalues are those of
        // (F₁F₂ᵀ)(F₁F₂ᵀ)ᵀ. Sample fits bring their data factor; moment fits use their symmetric square root (F = Σ^½).
        var f1 = a.UsableFactor ?? PsdSquareRoot(a.Covariance);
        var f2 = b.UsableFactor ?? PsdSquareRoot(b.Covariance);
        double traceSqrt = f1.TransposeAndMultiply(f2).Svd(computeVectors: false).S.Sum();
        double traceTerm = trace1 + trace2 - 2 * traceSqrt;
        // Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) is the squared 2-Wasserstein distance of two centred Gaussians, never negative; a negative
        // value is rounding (identical sets give about −1e-16·Tr Σ), so it is clamped rather than reported.
        traceTerm = Math.Max(0, traceTerm);
        double distance = meanTerm + traceTerm;
        if (!double.IsFinite(distance)) throw new ArgumentException("the Fréchet distance overflows double precision (values too large)");
        return new FrechetResult(distance, meanTerm, traceTerm, a.Count, b.Count, d);
    }

    /// <summary>
    /// Tr((Σ₁Σ₂)^½) for symmetric PSD Σ₁, Σ₂ given as matrices. Σ₁Σ₂ is not symmetric, so its square root is not taken
    /// directly (SciPy's sqrtm route in FID code, which returns complex noise for singular Σ). With S = Σ^½ from a symmetric
    /// eigendecomposition (eigenvalues below 0 from rounding set to 0), Σ₁Σ₂ has the non-zero spectrum of the symmetric PSD
    /// S₁Σ₂S₁ = (S₁S₂)(S₁S₂)ᵀ, so the trace is the sum of the square roots of its eigenvalues, i.e. the sum of the singular
    /// values of S₁S₂; the SVD gives it without square-rooting eigenvalues of S₁Σ₂S₁ (1e-16·‖Σ‖² errors → 1e-8·‖Σ‖). A
    /// singular Σ still costs about √ε·‖Σ‖ in Σ^½ itself; fits from samples avoid that in <see cref="Between"/> (data factors).
    /// </summary>
    public static double TraceSqrtProduct(double[,] sigma1, double[,] sigma2)
    {
        ArgumentNullException.ThrowIfNull(sigma1);
        ArgumentNullException.ThrowIfNull(sigma2);
        if (sigma1.GetLength(0) != sigma1.GetLength(1) || sigma2.GetLength(0) != sigma2.GetLength(1))
            throw new ArgumentException("covariances must be square");
        CheckDimensions(sigma1.GetLength(0), sigma2.GetLength(0));
        var s1 = PsdSquareRoot(sigma1);
        var s2 = PsdSquareRoot(sigma2);
        return (s1 * s2).Svd(computeVectors: false).S.Sum();
    }

    /// <summary>The symmetric PSD square root V·diag(√max(λ, 0))·Vᵀ of the symmetric part of <paramref name="sigma"/>.</summary>
    internal static Matrix<double> PsdSquareRoot(double[,] sigma)
    {
        var m = Matrix<double>.Build.DenseOfArray(sigma);
        m = (m + m.Transpose()) * 0.5;
        var evd = m.Evd(Symmetricity.Symmetric);
        var roots = evd.EigenValues.Map(z => Math.Sqrt(Math.Max(0, z.Real)));
        var v = evd.EigenVectors;
        return v * Matrix<double>.Build.DenseOfDiagonalVector(roots) * v.Transpose();
    }

    private static void CheckDimensions(int d1, int d2)
    {
        if (d1 != d2)
            throw new ArgumentException($"the two sets have vectors of different dimension ({d1} and {d2}); the Fréchet distance needs equal ones");
    }

    private static void CheckCovariance(GaussianFit fit, string name)
    {
        int d = fit.Dimension;
        if (d < 1) throw new ArgumentException($"{name}: the mean is empty");
        if (fit.Covariance.GetLength(0) != d || fit.Covariance.GetLength(1) != d)
            throw new ArgumentException($"{name}: the covariance is {fit.Covariance.GetLength(0)}×{fit.Covariance.GetLength(1)}, the mean has {d} components");
        foreach (var v in fit.Mean)
            if (!double.IsFinite(v)) throw new ArgumentException($"{name}: the mean has a NaN or infinite component");
        foreach (var v in fit.Covariance)
            if (!double.IsFinite(v)) throw new ArgumentException($"{name}: the covariance has a NaN or infinite entry");
    }

    private static double[] Flatten(double[,] set)
    {
        int n = set.GetLength(0), d = set.GetLength(1);
        var flat = new double[n * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) flat[i * d + j] = set[i, j];
        return flat;
    }
}
