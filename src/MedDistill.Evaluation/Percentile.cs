namespace MedDistill.Evaluation;

/// <summary>
/// Percentiles by linear interpolation between closest ranks, the definition of NumPy's default
/// (<c>numpy.percentile(a, q)</c>, method "linear", Hyndman &amp; Fan type 7): with the n values sorted ascending
/// x[0] ≤ … ≤ x[n−1], h = (n − 1) · q / 100 and the result is x[⌊h⌋] + (h − ⌊h⌋) · (x[⌊h⌋ + 1] − x[⌊h⌋]).
/// MedPy's <c>hd95</c> calls exactly this on the distances. The floating-point steps follow NumPy's (q / 100 first, then
/// times n − 1; interpolating down from the upper value when the fraction is ≥ 0.5), so results agree to the last bit, not
/// only to rounding.
/// </summary>
public static class Percentile
{
    /// <summary>The <paramref name="percent"/>-th percentile (0 to 100) of <paramref name="values"/>, in any order, without NaN.</summary>
    public static double Linear(ReadOnlySpan<double> values, double percent)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return LinearOfSorted(sorted, percent);
    }

    /// <summary>As <see cref="Linear"/> for values already sorted ascending.</summary>
    public static double LinearOfSorted(ReadOnlySpan<double> sorted, double percent)
    {
        if (sorted.IsEmpty) throw new ArgumentException("the percentile of no values is undefined", nameof(sorted));
        if (!(percent >= 0 && percent <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), $"percent must be in [0, 100], got {percent}");
        double h = (sorted.Length - 1) * (percent / 100.0);
        int lower = (int)Math.Floor(h);
        if (lower >= sorted.Length - 1) return sorted[^1];
        double fraction = h - lower;
        double below = sorted[lower], above = sorted[lower + 1], step = above - below;
        return fraction >= 0.5 ? above - step * (1 - fraction) : below + step * fraction;
    }
}
