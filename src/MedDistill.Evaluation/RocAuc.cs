namespace MedDistill.Evaluation;

/// <summary>
/// Area under the ROC curve of per-pixel foreground scores against a binary reference, as GKD's evaluation reports it
/// (its test script hands every pixel's foreground score to scikit-learn's <c>roc_auc_score</c>). Computed exactly as the
/// Mann–Whitney statistic: the probability that a random positive pixel scores above a random negative one, ties counting
/// one half — the same number as the trapezoid area under the full ROC curve, with no threshold grid.
/// </summary>
public static class RocAuc
{
    /// <summary>
    /// AUC over the pixels where <paramref name="mask"/> is true (all when null). NaN when the evaluated pixels hold no
    /// positive or no negative: the curve is then undefined (scikit-learn raises; a table shows an empty cell).
    /// </summary>
    public static double Compute(ReadOnlySpan<float> scores, ReadOnlySpan<byte> reference, ReadOnlySpan<bool> mask = default)
    {
        if (scores.Length != reference.Length) throw new ArgumentException($"scores ({scores.Length}) and reference ({reference.Length}) differ in length");
        if (!mask.IsEmpty && mask.Length != scores.Length) throw new ArgumentException($"mask ({mask.Length}) and scores ({scores.Length}) differ in length");
        var pairs = new List<(float Score, bool Positive)>(scores.Length);
        for (int i = 0; i < scores.Length; i++)
        {
            if (!mask.IsEmpty && !mask[i]) continue;
            if (float.IsNaN(scores[i])) throw new ArgumentException($"score {i} is NaN");
            pairs.Add((scores[i], reference[i] != 0));
        }
        long positives = pairs.LongCount(p => p.Positive), negatives = pairs.Count - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        pairs.Sort((a, b) => a.Score.CompareTo(b.Score));
        // Sum of the positives' ranks (1-based), tied scores sharing their average rank.
        double rankSum = 0;
        for (int start = 0; start < pairs.Count;)
        {
            int end = start;
            while (end + 1 < pairs.Count && pairs[end + 1].Score == pairs[start].Score) end++;
            double averageRank = (start + end) / 2.0 + 1;
            for (int i = start; i <= end; i++)
                if (pairs[i].Positive) rankSum += averageRank;
            start = end + 1;
        }
        double u = rankSum - positives * (positives + 1) / 2.0;
        return u / ((double)positives * negatives);
    }
}
