namespace MedDistill.Evaluation;

/// <summary>
/// Per-class and per-case metrics of multi-class label volumes (Synapse, FLARE22, M2caiSeg, GKD's fundus vessels). Overlap
/// counts come from one K×K confusion matrix; surface distances come from <see cref="SegmentationMetrics.Compute"/> on each
/// foreground class, so a class's HD95/ASD/HD are exactly the binary code's on that class's masks.
/// </summary>
public static class MultiClassMetrics
{
    /// <summary>
    /// At most 255 classes so that one byte value (<c>classCount</c> itself) stays free to mark voxels outside the mask when
    /// the binary code measures surfaces of the masked volumes.
    /// </summary>
    public const int MaxClassCount = 255;

    /// <summary>
    /// The metrics of one case. <paramref name="foregroundClasses"/> defaults to 1..K−1. <paramref name="mask"/> (e.g. a
    /// fundus field of view), when given, restricts every count and every surface to its true voxels: a class's region is
    /// its labelled voxels inside the mask, so voxels next to the mask's edge are surface.
    /// </summary>
    public static MultiClassCaseMetrics Compute(string caseId, string site, ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> reference,
        VolumeGrid grid, int classCount, IReadOnlyList<int>? foregroundClasses = null, bool[]? mask = null, MultiClassOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(caseId);
        ArgumentNullException.ThrowIfNull(site);
        grid.CheckLength(prediction.Length, nameof(prediction));
        grid.CheckLength(reference.Length, nameof(reference));
        if (mask is not null) grid.CheckLength(mask.Length, nameof(mask));
        options ??= MultiClassOptions.Default;
        var foreground = ForegroundSet(classCount, foregroundClasses);
        CheckLabels(prediction, classCount, nameof(prediction));
        CheckLabels(reference, classCount, nameof(reference));

        var confusion = Confusion(prediction, reference, mask, classCount, out long evaluated);
        if (evaluated == 0) throw new ArgumentException("the mask has no true voxel: there is nothing to evaluate", nameof(mask));

        // With a mask, the binary code sees copies where outside voxels carry a label no class has; without one it reads the
        // caller's volumes directly (no copy of a 40×384×384 case per call).
        byte[]? maskedPrediction = mask is null ? null : Masked(prediction, mask, (byte)classCount);
        byte[]? maskedReference = mask is null ? null : Masked(reference, mask, (byte)classCount);
        var p = maskedPrediction is null ? prediction : maskedPrediction;
        var r = maskedReference is null ? reference : maskedReference;

        var classes = new ClassMetrics[classCount];
        long correct = 0;
        for (int c = 0; c < classCount; c++)
        {
            long tp = confusion[c, c], predicted = 0, actual = 0;
            for (int k = 0; k < classCount; k++) { predicted += confusion[k, c]; actual += confusion[c, k]; }
            correct += tp;
            long fp = predicted - tp, fn = actual - tp, tn = evaluated - tp - fp - fn;
            bool absent = predicted == 0 && actual == 0;
            double hd95 = double.NaN, asd = double.NaN, hd = double.NaN;
            if (foreground[c] && !absent)
            {
                var binary = SegmentationMetrics.Compute(caseId, site, p, r, grid, (byte)c, options.Metrics);
                hd95 = binary.Hd95; asd = binary.Asd; hd = binary.Hd;
            }
            classes[c] = new ClassMetrics
            {
                ClassLabel = c, IsForeground = foreground[c],
                TruePositives = tp, FalsePositives = fp, FalseNegatives = fn, TrueNegatives = tn,
                Dice = absent ? double.NaN : 2.0 * tp / (2 * tp + fp + fn),
                Iou = absent ? double.NaN : (double)tp / (tp + fp + fn),
                Sensitivity = Ratio(tp, tp + fn),
                Specificity = Ratio(tn, tn + fp),
                Hd95 = hd95, Asd = asd, Hd = hd,
            };
        }

        var fg = classes.Where(c => c.IsForeground).ToArray();
        return new MultiClassCaseMetrics
        {
            CaseId = caseId, Site = site, Classes = classes, EvaluatedVoxels = evaluated,
            MeanDice = MeanSkippingNaN(fg.Select(c => c.Dice)),
            MeanHd95 = MeanSkippingNaN(fg.Select(c => c.Hd95)),
            MeanIou = MeanSkippingNaN((options.MeanIouIncludesBackground ? classes : fg).Select(c => c.Iou)),
            MeanIouIncludesBackground = options.MeanIouIncludesBackground,
            PixelAccuracy = (double)correct / evaluated,
        };
    }

    /// <summary>
    /// Int labels (as a network's argmax gives them): checked against 0..K−1 here, naming the offending value, then narrowed to
    /// bytes for the byte overload.
    /// </summary>
    public static MultiClassCaseMetrics Compute(string caseId, string site, ReadOnlySpan<int> prediction, ReadOnlySpan<int> reference,
        VolumeGrid grid, int classCount, IReadOnlyList<int>? foregroundClasses = null, bool[]? mask = null, MultiClassOptions? options = null)
    {
        CheckClassCount(classCount);
        return Compute(caseId, site, Narrow(prediction, classCount, nameof(prediction)), Narrow(reference, classCount, nameof(reference)),
            grid, classCount, foregroundClasses, mask, options);
    }

    private static byte[] Narrow(ReadOnlySpan<int> labels, int classCount, string name)
    {
        var bytes = new byte[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            int v = labels[i];
            if ((uint)v >= (uint)classCount) throw LabelOutOfRange(name, v, i, classCount);
            bytes[i] = (byte)v;
        }
        return bytes;
    }

    private static void CheckLabels(ReadOnlySpan<byte> labels, int classCount, string name)
    {
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= classCount) throw LabelOutOfRange(name, labels[i], i, classCount);
    }

    private static ArgumentException LabelOutOfRange(string name, int value, int index, int classCount) =>
        new($"{name} has label {value} at voxel {index}, outside the {classCount} classes 0..{classCount - 1}", name);

    private static void CheckClassCount(int classCount)
    {
        if (classCount < 2 || classCount > MaxClassCount)
            throw new ArgumentOutOfRangeException(nameof(classCount), $"class count must be in 2..{MaxClassCount}, got {classCount}");
    }

    private static bool[] ForegroundSet(int classCount, IReadOnlyList<int>? foregroundClasses)
    {
        CheckClassCount(classCount);
        var set = new bool[classCount];
        if (foregroundClasses is null)
        {
            for (int c = 1; c < classCount; c++) set[c] = true;
            return set;
        }
        if (foregroundClasses.Count == 0) throw new ArgumentException("no foreground class given", nameof(foregroundClasses));
        foreach (int c in foregroundClasses)
        {
            if ((uint)c >= (uint)classCount)
                throw new ArgumentOutOfRangeException(nameof(foregroundClasses), $"foreground class {c} is outside the {classCount} classes 0..{classCount - 1}");
            if (set[c]) throw new ArgumentException($"foreground class {c} is given twice", nameof(foregroundClasses));
            set[c] = true;
        }
        return set;
    }

    /// <summary>confusion[reference, prediction], counted over the mask's true voxels (all voxels without a mask).</summary>
    private static long[,] Confusion(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> reference, bool[]? mask, int classCount, out long evaluated)
    {
        var confusion = new long[classCount, classCount];
        evaluated = 0;
        for (int i = 0; i < prediction.Length; i++)
        {
            if (mask is not null && !mask[i]) continue;
            confusion[reference[i], prediction[i]]++;
            evaluated++;
        }
        return confusion;
    }

    private static byte[] Masked(ReadOnlySpan<byte> labels, bool[] mask, byte outside)
    {
        var copy = new byte[labels.Length];
        for (int i = 0; i < copy.Length; i++) copy[i] = mask[i] ? labels[i] : outside;
        return copy;
    }

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? double.NaN : (double)numerator / denominator;

    internal static double MeanSkippingNaN(IEnumerable<double> values)
    {
        double sum = 0;
        int n = 0;
        foreach (var v in values)
            if (!double.IsNaN(v)) { sum += v; n++; }
        return n == 0 ? double.NaN : sum / n;
    }
}
