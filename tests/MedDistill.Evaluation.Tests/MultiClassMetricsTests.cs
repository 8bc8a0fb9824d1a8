namespace MedDistill.Evaluation.Tests;

public class MultiClassMetricsTests
{
    private static readonly VolumeGrid Grid4x4 = new(1, 4, 4, 1, 1, 1);

    /// <summary>A 1×H×W label volume from rows of digits, top row first.</summary>
    private static byte[] Labels(params string[] rows) => rows.SelectMany(r => r.Replace(" ", "")).Select(ch => (byte)(ch - '0')).ToArray();

    // Reference            Prediction
    // 0 0 1 1              0 1 1 1
    // 0 0 1 1              0 0 1 0
    // 2 2 0 0              2 2 2 0
    // 2 2 0 0              0 2 0 2
    // Confusion [reference, prediction]: (0,0)=5 (0,1)=1 (0,2)=2 | (1,0)=1 (1,1)=3 | (2,0)=1 (2,2)=3; total 16.
    private static readonly byte[] HandReference = Labels("0011", "0011", "2200", "2200");
    private static readonly byte[] HandPrediction = Labels("0111", "0010", "2220", "0202");

    private static MultiClassCaseMetrics Compute(byte[] p, byte[] r, int k = 3, VolumeGrid? grid = null, bool[]? mask = null,
        MultiClassOptions? options = null, IReadOnlyList<int>? foreground = null) =>
        MultiClassMetrics.Compute("case", "site", p, r, grid ?? Grid4x4, k, foreground, mask, options);

    [Test]
    public void MultiClassByHandOn4x4()
    {
        var m = Compute(HandPrediction, HandReference);
        var c0 = m.Classes[0];
        var c1 = m.Classes[1];
        var c2 = m.Classes[2];
        // Class 1: TP 3, FP 1 (ref 0 → pred 1), FN 1 (ref 1 → pred 0), TN 16 − 5 = 11.
        // Dice 6/8, IoU 3/5, sensitivity 3/4, specificity 11/12.
        Assert.That((c1.TruePositives, c1.FalsePositives, c1.FalseNegatives, c1.TrueNegatives), Is.EqualTo((3L, 1L, 1L, 11L)));
        Assert.That(c1.Dice, Is.EqualTo(0.75).Within(1e-15));
        Assert.That(c1.Iou, Is.EqualTo(0.6).Within(1e-15));
        Assert.That(c1.Sensitivity, Is.EqualTo(0.75).Within(1e-15));
        Assert.That(c1.Specificity, Is.EqualTo(11.0 / 12).Within(1e-15));
        // Class 2: TP 3, FP 2 (two ref-0 voxels predicted 2), FN 1, TN 10. Dice 6/9, IoU 3/6, sens 3/4, spec 10/12.
        Assert.That((c2.TruePositives, c2.FalsePositives, c2.FalseNegatives, c2.TrueNegatives), Is.EqualTo((3L, 2L, 1L, 10L)));
        Assert.That(c2.Dice, Is.EqualTo(2.0 / 3).Within(1e-15));
        Assert.That(c2.Iou, Is.EqualTo(0.5).Within(1e-15));
        Assert.That(c2.Sensitivity, Is.EqualTo(0.75).Within(1e-15));
        Assert.That(c2.Specificity, Is.EqualTo(10.0 / 12).Within(1e-15));
        // Background: TP 5, FP 2, FN 3, TN 6 → Dice 10/15, IoU 5/10, sens 5/8, spec 6/8; no distances (not foreground).
        Assert.That((c0.TruePositives, c0.FalsePositives, c0.FalseNegatives, c0.TrueNegatives), Is.EqualTo((5L, 2L, 3L, 6L)));
        Assert.That(c0.Iou, Is.EqualTo(0.5).Within(1e-15));
        Assert.That(c0.Sensitivity, Is.EqualTo(5.0 / 8).Within(1e-15));
        Assert.That(c0.Specificity, Is.EqualTo(0.75).Within(1e-15));
        Assert.That(c0.IsForeground, Is.False);
        Assert.That(c0.Hd95, Is.NaN);
        // Accuracy (5 + 3 + 3) / 16; mean Dice over {1, 2} = (3/4 + 2/3) / 2 = 17/24; mIoU with background (1/2 + 3/5 + 1/2) / 3 = 8/15.
        Assert.That(m.EvaluatedVoxels, Is.EqualTo(16));
        Assert.That(m.PixelAccuracy, Is.EqualTo(11.0 / 16).Within(1e-15));
        Assert.That(m.MeanDice, Is.EqualTo(17.0 / 24).Within(1e-15));
        Assert.That(m.MeanIou, Is.EqualTo(8.0 / 15).Within(1e-15));
        Assert.That(m.MeanIouIncludesBackground, Is.True);
        Assert.That(m.MeanHd95, Is.EqualTo((c1.Hd95 + c2.Hd95) / 2).Within(1e-15));

        // Foreground-only mIoU = (3/5 + 1/2) / 2 = 0.55.
        var fgOnly = Compute(HandPrediction, HandReference, options: new MultiClassOptions { MeanIouIncludesBackground = false });
        Assert.That(fgOnly.MeanIou, Is.EqualTo(0.55).Within(1e-15));

        // The int overload gives the same numbers.
        var asInts = MultiClassMetrics.Compute("case", "site", HandPrediction.Select(b => (int)b).ToArray(), HandReference.Select(b => (int)b).ToArray(), Grid4x4, 3);
        Assert.That(asInts.Classes, Is.EqualTo(m.Classes));
    }

    [Test]
    public void MultiClassDistancesEqualTheBinaryCodeOnEachClassMask()
    {
        var rng = new Random(7);
        var grid = new VolumeGrid(5, 9, 11, 2.5, 0.7, 0.9);
        int n = grid.VoxelCount;
        // Blocks of classes 1..3 plus noise, so each class has a non-trivial surface and the classes touch.
        var r = new byte[n];
        Volumes.Box(5, 9, 11, 0, 1, 1, 4, 5, 5, 1, r);
        Volumes.Box(5, 9, 11, 1, 3, 5, 4, 5, 5, 2, r);
        Volumes.Box(5, 9, 11, 2, 0, 8, 2, 4, 3, 3, r);
        var p = (byte[])r.Clone();
        for (int i = 0; i < n; i++) if (rng.NextDouble() < 0.15) p[i] = (byte)rng.Next(4);
        var mask = Enumerable.Range(0, n).Select(i => i % 11 < 9 && rng.NextDouble() < 0.97).ToArray();

        foreach (var m in new[] { mask, null })
        {
            var multi = Compute(p, r, 4, grid, m);
            for (byte c = 1; c < 4; c++)
            {
                // The class's masks as 0/1 volumes, with voxels outside the mask off.
                byte[] Binary(byte[] labels) => labels.Select((v, i) => (byte)(v == c && (m is null || m[i]) ? 1 : 0)).ToArray();
                var binary = SegmentationMetrics.Compute("case", "site", Binary(p), Binary(r), grid);
                Assert.That(multi.Classes[c].Hd95, Is.EqualTo(binary.Hd95), $"class {c}, mask {m is not null}");
                Assert.That(multi.Classes[c].Asd, Is.EqualTo(binary.Asd));
                Assert.That(multi.Classes[c].Hd, Is.EqualTo(binary.Hd));
                Assert.That(multi.Classes[c].Dice, Is.EqualTo(binary.Dice).Within(1e-15));
                Assert.That(multi.Classes[c].Hd95, Is.GreaterThan(0));
            }
        }
    }

    [Test]
    public void MultiClassAbsentAndOneSidedClasses()
    {
        // K = 4. Class 1 perfect; class 2 only in the prediction (one voxel at the corner); class 3 in neither.
        var r = Labels("1100", "1100", "0000", "0000");
        var p = Labels("1100", "1100", "0000", "0002");
        var m = Compute(p, r, 4);
        var c2 = m.Classes[2];
        var c3 = m.Classes[3];
        Assert.That(m.Classes[1].Dice, Is.EqualTo(1.0));
        Assert.That(m.Classes[1].Hd95, Is.EqualTo(0.0));
        // One-sided: Dice and IoU 0; distances the volume diagonal √(1² + 4² + 4²) = √33; sensitivity 0/0 = NaN; spec 15/16.
        Assert.That((c2.Dice, c2.Iou, c2.Absent), Is.EqualTo((0.0, 0.0, false)));
        Assert.That(c2.Hd95, Is.EqualTo(Math.Sqrt(33)).Within(1e-12));
        Assert.That(c2.Asd, Is.EqualTo(Math.Sqrt(33)).Within(1e-12));
        Assert.That(c2.Sensitivity, Is.NaN);
        Assert.That(c2.Specificity, Is.EqualTo(15.0 / 16).Within(1e-15));
        // Absent: NaN for Dice, IoU, sensitivity and distances; specificity 16/16 stays defined.
        Assert.That(c3.Absent, Is.True);
        Assert.That(new[] { c3.Dice, c3.Iou, c3.Sensitivity, c3.Hd95, c3.Asd, c3.Hd }, Is.All.NaN);
        Assert.That(c3.Specificity, Is.EqualTo(1.0));
        // Means skip class 3: Dice (1 + 0) / 2; HD95 (0 + √33) / 2; mIoU over 0..2 = (11/12 + 1 + 0) / 3.
        Assert.That(m.MeanDice, Is.EqualTo(0.5));
        Assert.That(m.MeanHd95, Is.EqualTo(Math.Sqrt(33) / 2).Within(1e-12));
        Assert.That(m.MeanIou, Is.EqualTo((11.0 / 12 + 1) / 3).Within(1e-15));
        Assert.That(m.PixelAccuracy, Is.EqualTo(15.0 / 16));

        // Under EmptyMaskDistance.NaN the one-sided class's distances are NaN and leave the HD95 mean; Dice stays 0.
        var nanPolicy = new MultiClassOptions { Metrics = new MetricsOptions { EmptyMaskDistance = EmptyMaskDistance.NaN } };
        var n = Compute(p, r, 4, options: nanPolicy);
        Assert.That(n.Classes[2].Hd95, Is.NaN);
        Assert.That(n.Classes[2].Dice, Is.EqualTo(0.0));
        Assert.That(n.MeanHd95, Is.EqualTo(0.0));
        Assert.That(n.MeanDice, Is.EqualTo(0.5));

        // Every foreground class absent: the means have nothing to average and are NaN.
        var empty = Compute(new byte[16], new byte[16], 3);
        Assert.That(empty.MeanDice, Is.NaN);
        Assert.That(empty.MeanHd95, Is.NaN);
        Assert.That(empty.MeanIou, Is.EqualTo(1.0)); // background alone, IoU 1
        Assert.That(empty.PixelAccuracy, Is.EqualTo(1.0));
    }

    [Test]
    public void MultiClassMaskRestrictsCounting()
    {
        // The hand case with column x = 3 outside the mask; 12 voxels remain:
        // Reference  Prediction   (x < 3)
        // 0 0 1      0 1 1
        // 0 0 1      0 0 1
        // 2 2 0      2 2 2
        // 2 2 0      0 2 0
        // Class 1: TP 2, FP 1, FN 0, TN 9 → Dice 4/5, IoU 2/3, sens 1, spec 9/10.
        // Class 2: TP 3, FP 1, FN 1, TN 7 → Dice 6/8, IoU 3/5, sens 3/4, spec 7/8. Accuracy (4 + 2 + 3) / 12 = 3/4.
        var mask = Enumerable.Range(0, 16).Select(i => i % 4 < 3).ToArray();
        var m = Compute(HandPrediction, HandReference, mask: mask);
        Assert.That(m.EvaluatedVoxels, Is.EqualTo(12));
        var c1 = m.Classes[1];
        var c2 = m.Classes[2];
        Assert.That((c1.TruePositives, c1.FalsePositives, c1.FalseNegatives, c1.TrueNegatives), Is.EqualTo((2L, 1L, 0L, 9L)));
        Assert.That(c1.Dice, Is.EqualTo(0.8).Within(1e-15));
        Assert.That(c1.Iou, Is.EqualTo(2.0 / 3).Within(1e-15));
        Assert.That(c1.Sensitivity, Is.EqualTo(1.0));
        Assert.That(c1.Specificity, Is.EqualTo(0.9).Within(1e-15));
        Assert.That((c2.TruePositives, c2.FalsePositives, c2.FalseNegatives, c2.TrueNegatives), Is.EqualTo((3L, 1L, 1L, 7L)));
        Assert.That(c2.Dice, Is.EqualTo(0.75).Within(1e-15));
        Assert.That(c2.Iou, Is.EqualTo(0.6).Within(1e-15));
        Assert.That(c2.Specificity, Is.EqualTo(7.0 / 8).Within(1e-15));
        Assert.That(m.PixelAccuracy, Is.EqualTo(0.75));

        // A class seen only outside the mask is absent inside it.
        var outside = Labels("0003", "0000", "0000", "0003");
        var a = Compute(outside, new byte[16], 4, mask: mask);
        Assert.That(a.Classes[3].Absent, Is.True);
        Assert.That(a.Classes[3].Dice, Is.NaN);
    }

    [Test]
    public void MultiClassValidatesLabelsAndArguments()
    {
        var bad = Labels("0000", "0030", "0000", "0000");
        var e = Assert.Throws<ArgumentException>(() => Compute(bad, HandReference, 3));
        Assert.That(e!.Message, Does.Contain("label 3").And.Contain("voxel 6").And.Contain("prediction"));
        e = Assert.Throws<ArgumentException>(() => Compute(HandPrediction, bad, 3));
        Assert.That(e!.Message, Does.Contain("label 3").And.Contain("reference"));
        var ints = new int[16];
        ints[5] = -1;
        e = Assert.Throws<ArgumentException>(() => MultiClassMetrics.Compute("c", "s", ints, new int[16], Grid4x4, 3));
        Assert.That(e!.Message, Does.Contain("label -1"));
        ints[5] = 300;
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => MultiClassMetrics.Compute("c", "s", new int[16], ints, Grid4x4, 256));
        Assert.That(range!.Message, Does.Contain("256"));
        e = Assert.Throws<ArgumentException>(() => MultiClassMetrics.Compute("c", "s", new int[16], ints, Grid4x4, 255));
        Assert.That(e!.Message, Does.Contain("label 300"));

        Assert.Throws<ArgumentOutOfRangeException>(() => Compute(HandPrediction, HandReference, 1));
        e = Assert.Throws<ArgumentOutOfRangeException>(() => Compute(HandPrediction, HandReference, 3, foreground: [1, 3]));
        Assert.That(e!.Message, Does.Contain("foreground class 3"));
        Assert.Throws<ArgumentException>(() => Compute(HandPrediction, HandReference, 3, foreground: [1, 1]));
        Assert.Throws<ArgumentException>(() => Compute(HandPrediction, HandReference, 3, mask: new bool[15]));
        e = Assert.Throws<ArgumentException>(() => Compute(HandPrediction, HandReference, 3, mask: new bool[16]));
        Assert.That(e!.Message, Does.Contain("no true voxel"));

        // Chosen foreground classes: only class 2 → mean Dice is class 2's alone, class 1 gets no distances.
        var only2 = Compute(HandPrediction, HandReference, 3, foreground: [2]);
        Assert.That(only2.MeanDice, Is.EqualTo(2.0 / 3).Within(1e-15));
        Assert.That(only2.Classes[1].Hd95, Is.NaN);
    }

    [Test]
    public void MultiClassSummaryPerClassAndMeanOfMeans()
    {
        // K = 4 with class 3 absent in both cases. Case A is the hand case, case B is perfect.
        var a = Compute(HandPrediction, HandReference, 4);
        var b = Compute(HandReference, HandReference, 4);
        var s = MultiClassSummary.Of(null, [a, b]);
        Assert.That(s.Cases, Is.EqualTo(2));
        // Class 1 Dice {3/4, 1}: mean 7/8, sample std |1 − 3/4| / √2. Class 2 Dice {2/3, 1}: mean 5/6, std (1/3) / √2.
        Assert.That(s.Classes[1].Dice.Mean, Is.EqualTo(0.875).Within(1e-15));
        Assert.That(s.Classes[1].Dice.StandardDeviation, Is.EqualTo(0.25 / Math.Sqrt(2)).Within(1e-15));
        Assert.That(s.Classes[2].Dice.Mean, Is.EqualTo(5.0 / 6).Within(1e-15));
        Assert.That(s.Classes[2].Dice.StandardDeviation, Is.EqualTo(1.0 / 3 / Math.Sqrt(2)).Within(1e-15));
        Assert.That(s.Classes[2].Specificity.Mean, Is.EqualTo((10.0 / 12 + 1) / 2).Within(1e-15));
        // Class 3: absent twice → no Dice value, both excluded; it does not enter the mean of means.
        Assert.That(s.Classes[3].AbsentCases, Is.EqualTo(2));
        Assert.That(s.Classes[3].Dice, Is.EqualTo(new MetricStats(null, null, 0, 2)));
        // Mean of class means (7/8 + 5/6) / 2 = 41/48; mIoU of class means over 0..2: (3/4 + 4/5 + 3/4) / 3.
        Assert.That(s.MeanDiceOfClassMeans, Is.EqualTo(41.0 / 48).Within(1e-15));
        Assert.That(s.MeanIouOfClassMeans, Is.EqualTo((0.75 + 0.8 + 0.75) / 3).Within(1e-15));
        Assert.That(s.CaseMeanDice.Mean, Is.EqualTo((17.0 / 24 + 1) / 2).Within(1e-15));
        Assert.That(s.PixelAccuracy.Mean, Is.EqualTo(27.0 / 32).Within(1e-15));
        Assert.That(s.PixelAccuracy.StandardDeviation, Is.EqualTo(5.0 / 16 / Math.Sqrt(2)).Within(1e-15));
        Assert.That(s.MeanHd95OfClassMeans, Is.EqualTo((s.Classes[1].Hd95.Mean!.Value + s.Classes[2].Hd95.Mean!.Value) / 2).Within(1e-12));

        // Rows defined differently are refused.
        var other = Compute(HandPrediction, HandReference, 4, options: new MultiClassOptions { MeanIouIncludesBackground = false });
        Assert.Throws<ArgumentException>(() => MultiClassSummary.Of(null, [a, other]));
        Assert.Throws<ArgumentException>(() => MultiClassSummary.Of(null, [a, Compute(HandPrediction, HandReference, 3)]));
    }
}
