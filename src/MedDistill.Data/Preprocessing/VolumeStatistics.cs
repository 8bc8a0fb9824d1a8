namespace MedDistill.Data.Preprocessing;

/// <summary>Percentiles and intensity normalisation of a whole volume.</summary>
public static class VolumeStatistics
{
    /// <summary>
    /// The <paramref name="percent"/>-th percentile with linear interpolation between order statistics (NumPy's default
    /// "linear" method): rank = p/100 · (n − 1).
    /// </summary>
    public static double Percentile(ReadOnlySpan<float> sorted, double percent)
    {
        if (sorted.IsEmpty) throw new ArgumentException("no values");
        double rank = percent / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (rank - lo) * ((double)sorted[hi] - sorted[lo]);
    }

    /// <summary>Clips <paramref name="values"/> in place to its own percentiles, then normalises; returns what was applied.</summary>
    public static NormalisationApplied ClipAndNormalise(Span<float> values, double lowerPercent, double upperPercent, IntensityNormalisation method)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        if (float.IsNaN(sorted[^1])) throw new ArgumentException("the volume contains NaN values");
        return ClipAndNormaliseTo(values, Percentile(sorted, lowerPercent), Percentile(sorted, upperPercent), method);
    }

    /// <summary>Clips and normalises as <paramref name="recipe"/> says: to its percentiles, its fixed window, or not at all.</summary>
    public static NormalisationApplied ClipAndNormalise(Span<float> values, PreprocessRecipe recipe)
    {
        switch (recipe.Clip ?? IntensityClip.Percentile)
        {
            case IntensityClip.Percentile:
                return ClipAndNormalise(values, recipe.ClipLowerPercentile, recipe.ClipUpperPercentile, recipe.Normalisation);
            case IntensityClip.Window:
                return ClipAndNormaliseTo(values, recipe.Window![0], recipe.Window[1], recipe.Normalisation);
            default:
                // The volume's own range: clipping to it changes nothing, and MinMax still has a range to map.
                float min = float.PositiveInfinity, max = float.NegativeInfinity;
                foreach (var v in values)
                {
                    if (float.IsNaN(v)) throw new ArgumentException("the volume contains NaN values");
                    min = Math.Min(min, v);
                    max = Math.Max(max, v);
                }
                return ClipAndNormaliseTo(values, min, max, recipe.Normalisation);
        }
    }

    private static NormalisationApplied ClipAndNormaliseTo(Span<float> values, double lo, double hi, IntensityNormalisation method)
    {
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)Math.Clamp(values[i], lo, hi);
            sum += values[i];
        }
        double mean = sum / values.Length, squares = 0;
        for (int i = 0; i < values.Length; i++) squares += (values[i] - mean) * (values[i] - mean);
        double std = Math.Sqrt(squares / values.Length);
        double shift, scale;
        switch (method)
        {
            case IntensityNormalisation.ZScore:
                // A constant volume has no spread: it becomes all zeros rather than NaN.
                (shift, scale) = (mean, std > 0 ? 1 / std : 1);
                break;
            case IntensityNormalisation.MinMax:
                (shift, scale) = (lo, hi > lo ? 1 / (hi - lo) : 1);
                break;
            default:
                (shift, scale) = (0, 1);
                break;
        }
        for (int i = 0; i < values.Length; i++) values[i] = (float)((values[i] - shift) * scale);
        return new NormalisationApplied(lo, hi, mean, std, shift, scale);
    }
}

/// <summary>What normalisation did to one volume: clip range, the clipped volume's mean and standard deviation, and value ↦ (value − Shift)·Scale.</summary>
public sealed record NormalisationApplied(double ClipLow, double ClipHigh, double Mean, double Std, double Shift, double Scale);
