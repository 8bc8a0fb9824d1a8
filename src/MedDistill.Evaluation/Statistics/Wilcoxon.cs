namespace MedDistill.Evaluation.Statistics;

/// <summary>How a <see cref="WilcoxonResult"/>'s p-value was obtained.</summary>
public enum WilcoxonMethod
{
    /// <summary>No p-value: no pair differs (or there are no pairs).</summary>
    None,
    /// <summary>The exact null distribution of the positive rank sum (every sign pattern equally likely).</summary>
    Exact,
    /// <summary>The normal approximation with the tie correction of the variance, without continuity correction.</summary>
    Normal,
}

/// <summary>
/// The outcome of a two-sided Wilcoxon signed-rank test of paired samples x, y (differences d = x − y).
/// </summary>
/// <param name="Statistic">min(W+, W−), the statistic scipy reports for the two-sided test; NaN without pairs.</param>
/// <param name="PValue">Two-sided p-value in [0, 1]; NaN when <see cref="Method"/> is <see cref="WilcoxonMethod.None"/>.</param>
/// <param name="RankSumPlus">W+: the sum of the ranks of |d| over positive differences (x larger).</param>
/// <param name="RankSumMinus">W−: the same over negative differences (y larger).</param>
/// <param name="Pairs">Pairs given.</param>
/// <param name="Zeros">Pairs with d = 0, dropped before ranking.</param>
/// <param name="Ties">True when some non-zero |d| occur more than once (mid-ranks were used).</param>
public sealed record WilcoxonResult(double Statistic, double PValue, double RankSumPlus, double RankSumMinus, int Pairs, int Zeros, bool Ties, WilcoxonMethod Method)
{
    /// <summary>Non-zero differences: the effective sample size.</summary>
    public int Used => Pairs - Zeros;

    /// <summary>+1 when x tends to be larger (W+ &gt; W−), −1 when y does, 0 when balanced or untestable.</summary>
    public int Direction => RankSumPlus > RankSumMinus ? 1 : RankSumPlus < RankSumMinus ? -1 : 0;
}

/// <summary>
/// Wilcoxon signed-rank test for paired samples, two-sided, written to agree with <c>scipy.stats.wilcoxon(x, y)</c> with
/// its defaults (<c>zero_method='wilcox'</c>, <c>correction=False</c>) where scipy is well-defined:
/// <list type="bullet">
/// <item>Zero differences are dropped before ranking ('wilcox'): a pair the two methods score identically (e.g. both
/// predict nothing, Dice 0 and 0) says nothing about which is better.</item>
/// <item>Ranks of |d| are mid-ranks for ties. Differences are compared exactly as doubles: the Dice values of the
/// tables come from the same voxel counts, so two equal Dice are equal bit for bit.</item>
/// <item>Exact p-value when at most <see cref="ExactLimit"/> non-zero differences remain and none of them tie: the exact
/// distribution assumes distinct ranks. Otherwise the normal approximation with the tie-corrected variance
/// n(n+1)(2n+1)/24 − Σ(t³ − t)/48 and no continuity correction (scipy's default). scipy 1.10's 'auto' keeps 'exact'
/// even with ties (and truncates the mid-rank sum to an integer); switching to the approximation there, as newer scipy
/// does, is the sounder choice.</item>
/// </list>
/// </summary>
public static class Wilcoxon
{
    /// <summary>Largest sample (after dropping zeros) for the exact distribution; scipy's 'auto' uses the same bound.</summary>
    public const int ExactLimit = 50;

    /// <summary>The test with the automatic choice of method described on the class.</summary>
    public static WilcoxonResult Test(IReadOnlyList<double> x, IReadOnlyList<double> y) => Test(x, y, null);

    /// <param name="method">Force <see cref="WilcoxonMethod.Exact"/> (only without ties) or <see cref="WilcoxonMethod.Normal"/>; null chooses.</param>
    public static WilcoxonResult Test(IReadOnlyList<double> x, IReadOnlyList<double> y, WilcoxonMethod? method)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"paired samples need equal lengths ({x.Count} and {y.Count})");
        var d = new List<double>(x.Count);
        for (int i = 0; i < x.Count; i++)
        {
            double diff = x[i] - y[i];
            if (double.IsNaN(diff)) throw new ArgumentException($"pair {i} is not a number ({x[i]}, {y[i]})");
            d.Add(diff);
        }
        int zeros = d.Count(v => v == 0);
        var nonZero = d.Where(v => v != 0).ToArray();
        int n = nonZero.Length;
        if (n == 0) return new WilcoxonResult(double.NaN, double.NaN, 0, 0, d.Count, zeros, false, WilcoxonMethod.None);

        var ranks = MidRanks(nonZero.Select(Math.Abs).ToArray(), out var tieSizes);
        double plus = 0, minus = 0;
        for (int i = 0; i < n; i++)
            if (nonZero[i] > 0) plus += ranks[i];
            else minus += ranks[i];
        bool ties = tieSizes.Count > 0;
        double statistic = Math.Min(plus, minus);

        var chosen = method ?? (n <= ExactLimit && !ties ? WilcoxonMethod.Exact : WilcoxonMethod.Normal);
        if (chosen == WilcoxonMethod.Exact && ties) throw new ArgumentException("the exact distribution needs distinct |differences|; there are ties");
        if (chosen == WilcoxonMethod.Exact && n > 1000) throw new ArgumentException($"the exact distribution is limited to 1000 pairs (got {n})");
        double p = chosen switch
        {
            WilcoxonMethod.Exact => ExactTwoSided(n, (int)plus),
            WilcoxonMethod.Normal => NormalTwoSided(n, statistic, tieSizes),
            _ => throw new ArgumentException($"method {chosen}: choose Exact or Normal"),
        };
        return new WilcoxonResult(statistic, p, plus, minus, d.Count, zeros, ties, chosen);
    }

    /// <summary>1-based ranks, ties sharing the mean of the ranks they span; <paramref name="tieSizes"/> lists each group of 2 or more.</summary>
    internal static double[] MidRanks(double[] values, out List<int> tieSizes)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        tieSizes = [];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            double mid = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = mid;
            if (end > start) tieSizes.Add(end - start + 1);
            start = end + 1;
        }
        return ranks;
    }

    /// <summary>
    /// Counts of sign patterns per W+ for ranks 1..n: adding rank k shifts a copy of the counts by k (the pattern
    /// where k is positive). Doubles hold the counts exactly up to n = 50 (fewer than 2⁵⁰ patterns share a sum).
    /// </summary>
    internal static double[] NullCounts(int n)
    {
        int max = n * (n + 1) / 2;
        var counts = new double[max + 1];
        counts[0] = 1;
        for (int k = 1; k <= n; k++)
            for (int s = k * (k + 1) / 2; s >= k; s--)
                counts[s] += counts[s - k];
        return counts;
    }

    private static double ExactTwoSided(int n, int plus)
    {
        var counts = NullCounts(n);
        int max = counts.Length - 1;
        // The distribution is symmetric about max/2: at the centre nothing is more extreme than what was seen.
        if (2 * plus == max) return 1.0;
        double total = Math.Pow(2, n);
        double lower = 0, upper = 0;
        for (int s = 0; s <= plus; s++) lower += counts[s];
        for (int s = plus; s <= max; s++) upper += counts[s];
        return Math.Min(1.0, 2 * Math.Min(lower, upper) / total);
    }

    private static double NormalTwoSided(int n, double statistic, List<int> tieSizes)
    {
        double mean = n * (n + 1) / 4.0;
        double variance = n * (n + 1.0) * (2.0 * n + 1.0);
        foreach (var t in tieSizes) variance -= 0.5 * t * ((double)t * t - 1);
        variance /= 24;
        if (variance <= 0) return 1.0;
        double z = (statistic - mean) / Math.Sqrt(variance);
        return Math.Min(1.0, 2 * NormalDistribution.UpperTail(Math.Abs(z)));
    }
}
