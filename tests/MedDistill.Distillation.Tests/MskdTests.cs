using MedDistill.Distillation.Emkd;
using MedDistill.Distillation.Mskd;

namespace MedDistill.Distillation.Tests;

public class MskdTests
{
    private static readonly MskdOptions NoFilter = new() { Filter = RegionFilter.None };

    private static Tensor Map(double[] data, params long[] shape) => tensor(data, shape);

    /// <summary>Teacher logits (N, K, H, W) whose argmax is <paramref name="predicted"/> (margin 2 over the other classes).</summary>
    private static Tensor Predicting(long[] predicted, long classes, long n, long h, long w)
    {
        var data = new double[n * classes * h * w];
        for (long s = 0; s < n; s++)
            for (long p = 0; p < h * w; p++)
                data[(s * classes + predicted[s * h * w + p]) * h * w + p] = 2;
        return Map(data, n, classes, h, w);
    }

    [Test]
    public void RegionMasksByHand()
    {
        using var scope = NewDisposeScope();
        // Label [[0, 1], [2, 1]]; the teacher predicts [[0, 1], [1, 1]], wrong only at (1, 0) (organ 2 taken for organ 1).
        var label = tensor(new long[] { 0, 1, 2, 1 }, 1, 2, 2);
        var teacher = Predicting([0, 1, 1, 1], 3, 1, 2, 2);
        double[] Masks(MskdOptions o) => MskdLosses.RegionMasks(label, teacher, o).ToArray<double>();
        // Filter TeacherCorrect: the confused pixel leaves every region, so class 2 is empty.
        Assert.That(Masks(new MskdOptions()), Is.EqualTo(new double[] { 1, 0, 0, 0, /* 1 */ 0, 1, 0, 1, /* 2 */ 0, 0, 0, 0 }));
        Assert.That(Masks(NoFilter), Is.EqualTo(new double[] { 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0 }));
        Assert.That(Masks(NoFilter with { Regions = RegionSource.TeacherPrediction }),
            Is.EqualTo(new double[] { 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0 }));
        // Same masks from either source once the filter keeps only pixels where the two agree.
        Assert.That(Masks(new MskdOptions { Regions = RegionSource.TeacherPrediction }), Is.EqualTo(Masks(new MskdOptions())));
        Assert.That(Masks(NoFilter with { IncludeBackground = false }), Is.EqualTo(new double[] { 0, 1, 0, 1, 0, 0, 1, 0 }));
    }

    [Test]
    public void ConfidenceFilterByHand()
    {
        using var scope = NewDisposeScope();
        // Two classes, pixels with teacher logits (0, 0) → p = ½; (ln 99, 0) → 0.99; (0, ln 3) → ¾. τ = 0.9 keeps the second
        // only; τ = 0.7 also the third; τ = 0.5 all (max p ≥ τ, including equality).
        var label = tensor(new long[] { 0, 0, 1 }, 1, 1, 3);
        var logits = Map([0, Math.Log(99), 0, /* class 1 */ 0, 0, Math.Log(3)], 1, 2, 1, 3);
        double[] Masks(double tau) => MskdLosses.RegionMasks(label, logits,
            new MskdOptions { Filter = RegionFilter.TeacherConfident, ConfidenceThreshold = tau }).ToArray<double>();
        Assert.That(Masks(0.9), Is.EqualTo(new double[] { 0, 1, 0, 0, 0, 0 }));
        Assert.That(Masks(0.7), Is.EqualTo(new double[] { 0, 1, 0, 0, 0, 1 }));
        Assert.That(Masks(0.5), Is.EqualTo(new double[] { 1, 1, 0, 0, 0, 1 }));
    }

    [Test]
    public void PrototypesAreAreaWeightedMeans()
    {
        using var scope = NewDisposeScope();
        // Label 2×4 [[1, 1, 0, 0], [1, 0, 0, 1]], features 1×2 (each covers a 2×2 block): class 1 covers ¾ of block 0 and ¼
        // of block 1. Feature [4, 8]: class 1 → (¾·4 + ¼·8)/(¾ + ¼) = 5, class 0 → (¼·4 + ¾·8)/1 = 7.
        var label = tensor(new long[] { 1, 1, 0, 0, 1, 0, 0, 1 }, 1, 2, 4);
        var masks = MskdLosses.RegionMasks(label, Predicting([1, 1, 0, 0, 1, 0, 0, 1], 3, 1, 2, 4), new MskdOptions());
        var (prototypes, valid) = MskdLosses.Prototypes(Map([4, 8], 1, 1, 1, 2), masks);
        Assert.That(prototypes.ToArray<double>(), Is.EqualTo(new double[] { 7, 5, 0 }).Within(1e-12));
        Assert.That(valid.ToArray<double>(), Is.EqualTo(new double[] { 1, 1, 0 }));
    }

    [Test]
    public void FeatureFilteringByHand()
    {
        using var scope = NewDisposeScope();
        // Label [0, 1, 1], 2 classes. Student channels [1, 2, 0] and [0, 0, 2]: prototypes class 0 (1, 0), class 1 (1, 1).
        // Teacher [2, 0, 1] and [0, 3, 0]: class 0 (2, 0), class 1 (½, 3/2).
        var label = tensor(new long[] { 0, 1, 1 }, 1, 1, 3);
        var masks = MskdLosses.RegionMasks(label, Predicting([0, 1, 1], 2, 1, 1, 3), NoFilter);
        var s = Map([1, 2, 0, 0, 0, 2], 1, 2, 1, 3);
        var t = Map([2, 0, 1, 0, 3, 0], 1, 2, 1, 3);
        // Cosine: class 0 parallel → 0; class 1: 1 − (½ + 3/2)/(√2·√(5/2)) = 1 − 2/√5. Mean over the two nodes.
        Assert.That(MskdLosses.FeatureFiltering(s, t, masks).item<double>(), Is.EqualTo((1 - 2 / Math.Sqrt(5)) / 2).Within(1e-12));
        // Squared error: class 0 ((1 − 2)² + 0)/2 = ½; class 1 ((½)² + (½)²)/2 = ¼; mean 3/8.
        Assert.That(MskdLosses.FeatureFiltering(s, t, masks, PrototypeDistance.SquaredError).item<double>(), Is.EqualTo(0.375).Within(1e-12));
    }

    [Test]
    public void AdapterActsOnPrototypesAsOnTheMap()
    {
        using var scope = NewDisposeScope();
        // One student channel [1, 2, 3], label [0, 1, 1]: prototypes 1 and 5/2. Adapter W = (2, −1)ᵀ, b = (0, 1): class 0 →
        // (2, 0), class 1 → (5, −3/2). Teacher channels [1, 1, 1] and [0, 0, 0]: both prototypes (1, 0). Cosine: class 0
        // → 0, class 1 → 1 − 5/√(25 + 9/4).
        var label = tensor(new long[] { 0, 1, 1 }, 1, 1, 3);
        var masks = MskdLosses.RegionMasks(label, Predicting([0, 1, 1], 2, 1, 1, 3), NoFilter);
        var s = Map([1, 2, 3], 1, 1, 1, 3);
        var t = Map([1, 1, 1, 0, 0, 0], 1, 2, 1, 3);
        var weight = Map([2, -1], 2, 1, 1, 1);
        var bias = tensor(new[] { 0.0, 1.0 });
        double expected = (1 - 5 / Math.Sqrt(27.25)) / 2;
        Assert.That(MskdLosses.FeatureFiltering(s, t, masks, PrototypeDistance.Cosine, weight, bias).item<double>(), Is.EqualTo(expected).Within(1e-12));
        // The same 1×1 convolution applied to the map first, then no adapter: equal (the pooling weights sum to 1).
        var convolved = nn.functional.conv2d(s, weight, bias);
        Assert.That(MskdLosses.FeatureFiltering(convolved, t, masks).item<double>(), Is.EqualTo(expected).Within(1e-12));
        Assert.Throws<ArgumentException>(() => MskdLosses.FeatureFiltering(s, t, masks), "1 vs 2 channels without an adapter");
    }

    [Test]
    public void RegionGraphByHand()
    {
        using var scope = NewDisposeScope();
        // One pixel per class (label [0, 1, 2]). Student pixels (1, 0), (0, 1), (1, 1): cosines A01 = 0, A02 = A12 = 1/√2.
        // Teacher (1, 0), (1, 0), (0, 1): A01 = 1, A02 = A12 = 0. Squared differences 1, ½, ½, each edge in both orders: 2/3.
        var label = tensor(new long[] { 0, 1, 2 }, 1, 1, 3);
        var masks = MskdLosses.RegionMasks(label, Predicting([0, 1, 2], 3, 1, 1, 3), NoFilter);
        var s = Map([1, 0, 1, 0, 1, 1], 1, 2, 1, 3);
        var t = Map([1, 1, 0, 0, 0, 1], 1, 2, 1, 3);
        Assert.That(MskdLosses.RegionGraph(s, t, masks).item<double>(), Is.EqualTo(2.0 / 3).Within(1e-12));
        // Label [0, 1, 1]: class 2 is absent and leaves the graph. Student class 1 = mean((0, 1), (1, 1)) = (½, 1), teacher
        // class 1 = (½, ½); the one edge: (½/√(5/4) − ½/√½)².
        var twoNodes = MskdLosses.RegionMasks(tensor(new long[] { 0, 1, 1 }, 1, 1, 3), Predicting([0, 1, 1], 3, 1, 1, 3), NoFilter);
        double d = 0.5 / Math.Sqrt(1.25) - 0.5 / Math.Sqrt(0.5);
        Assert.That(MskdLosses.RegionGraph(s, t, twoNodes).item<double>(), Is.EqualTo(d * d).Within(1e-12));
    }

    [Test]
    public void MatchLoopReference([Values] RegionFilter filter, [Values] RegionSource source, [Values] bool background)
    {
        using var scope = NewDisposeScope();
        manual_seed(40);
        var o = new MskdOptions { Filter = filter, Regions = source, IncludeBackground = background, ConfidenceThreshold = 0.5 };
        var label = randint(4, [3, 4, 6]);
        var logits = randn([3, 4, 4, 6], ScalarType.Float64);
        var masks = MskdLosses.RegionMasks(label, logits, o);
        var reference = MskdReference.Masks(Reference.Labels(label), Reference.Of(logits), o);
        Assert.That(masks.ToArray<double>(), Is.EqualTo(reference.SelectMany(s => s.SelectMany(k => k.Cast<double>())).ToArray()));
        // Student at the label's size, teacher at half of it (2×2 blocks), different channel counts.
        var s = randn([3, 3, 4, 6], ScalarType.Float64);
        var t = randn([3, 5, 2, 3], ScalarType.Float64);
        var weight = randn([5, 3, 1, 1], ScalarType.Float64);
        var bias = randn([5], ScalarType.Float64);
        var w = new double[5, 3];
        Buffer.BlockCopy(weight.ToArray<double>(), 0, w, 0, 15 * sizeof(double));
        var (fs, ft) = (Reference.Of(s), Reference.Of(t));
        foreach (var distance in new[] { PrototypeDistance.Cosine, PrototypeDistance.SquaredError })
            Assert.That(MskdLosses.FeatureFiltering(s, t, masks, distance, weight, bias).item<double>(),
                Is.EqualTo(MskdReference.Ffd(fs, ft, reference, distance, w, bias.ToArray<double>())).Within(1e-12), distance.ToString());
        Assert.That(MskdLosses.RegionGraph(s, t, masks).item<double>(), Is.EqualTo(MskdReference.Rgd(fs, ft, reference)).Within(1e-12));
        Assert.That(MskdLosses.RegionGraph(t, s, masks).item<double>(), Is.EqualTo(MskdReference.Rgd(ft, fs, reference)).Within(1e-12));
    }

    [Test]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        manual_seed(41);
        // Class 3 never occurs (an empty node); the student map is finer than the teacher's.
        var label = randint(3, [2, 4, 4]);
        var masks = MskdLosses.RegionMasks(label, randn([2, 4, 4, 4], ScalarType.Float64), new MskdOptions());
        var s = randn([2, 3, 4, 4], ScalarType.Float64);
        var t = randn([2, 4, 2, 2], ScalarType.Float64);
        var weight = randn([4, 3, 1, 1], ScalarType.Float64);
        var bias = randn([4], ScalarType.Float64);
        foreach (var distance in new[] { PrototypeDistance.Cosine, PrototypeDistance.SquaredError })
            GradCheck.Inputs(x => MskdLosses.FeatureFiltering(x[0], x[1], masks, distance, x[2], x[3]), [s, t, weight, bias],
                checkInput: [true, false, true, true]);
        GradCheck.Inputs(x => MskdLosses.RegionGraph(x[0], x[1], masks), [s, t], checkInput: [true, false]);
    }

    [Test]
    public void IdenticalFeaturesGiveZero()
    {
        using var scope = NewDisposeScope();
        manual_seed(42);
        var label = randint(3, [2, 4, 4]);
        var masks = MskdLosses.RegionMasks(label, randn([2, 3, 4, 4], ScalarType.Float64), NoFilter);
        var f = randn([2, 5, 2, 2], ScalarType.Float64);
        Assert.That(MskdLosses.FeatureFiltering(f, f.clone(), masks).item<double>(), Is.EqualTo(0).Within(1e-12));
        Assert.That(MskdLosses.FeatureFiltering(f, f.clone(), masks, PrototypeDistance.SquaredError).item<double>(), Is.EqualTo(0));
        Assert.That(MskdLosses.RegionGraph(f, f.clone(), masks).item<double>(), Is.EqualTo(0).Within(1e-24));
        // Cosine FFD and RGD ignore a positive scale of the student; RGD also its channel count (a wider copy).
        Assert.That(MskdLosses.FeatureFiltering(f.mul(3), f, masks).item<double>(), Is.EqualTo(0).Within(1e-12));
        Assert.That(MskdLosses.RegionGraph(f.mul(3), f, masks).item<double>(), Is.EqualTo(0).Within(1e-24));
        Assert.That(MskdLosses.RegionGraph(cat([f, f], 1), f, masks).item<double>(), Is.EqualTo(0).Within(1e-24));
        // A different student is not zero, so the checks above can fail.
        Assert.That(MskdLosses.RegionGraph(randn([2, 5, 2, 2], ScalarType.Float64), f, masks).item<double>(), Is.GreaterThan(1e-3));
    }

    [Test]
    public void FilteredPixelsNeitherCountNorGetGradient()
    {
        using var scope = NewDisposeScope();
        manual_seed(43);
        // The teacher is wrong at pixel (0, 0) of sample 0 only.
        var label = tensor(new long[] { 1, 0, 2, 1, 0, 1, 2, 2 }, 2, 2, 2);
        var logits = Predicting([0, 0, 2, 1, 0, 1, 2, 2], 3, 2, 2, 2);
        var masks = MskdLosses.RegionMasks(label, logits, new MskdOptions());
        var s = randn([2, 3, 2, 2], ScalarType.Float64).requires_grad_();
        var t = randn([2, 3, 2, 2], ScalarType.Float64);
        var loss = MskdLosses.FeatureFiltering(s, t, masks).add(MskdLosses.RegionGraph(s, t, masks));
        loss.backward();
        var grad = s.grad!.ToArray<double>();
        // Element (n = 0, c, y = 0, x = 0) is at flat index c·4.
        Assert.That(new[] { grad[0], grad[4], grad[8] }, Is.All.EqualTo(0.0));
        Assert.That(grad.Count(g => g != 0), Is.GreaterThan(12));
        // Changing the student there changes nothing; without the filter it does.
        var values = s.detach().ToArray<double>();
        values[0] = 100;
        var changed = tensor(values, s.shape);
        double With(Tensor m, Tensor x) => MskdLosses.FeatureFiltering(x, t, m).add(MskdLosses.RegionGraph(x, t, m)).item<double>();
        Assert.That(With(masks, changed), Is.EqualTo(loss.item<double>()).Within(1e-12));
        var unfiltered = MskdLosses.RegionMasks(label, logits, NoFilter);
        Assert.That(With(unfiltered, changed), Is.Not.EqualTo(With(unfiltered, s.detach())).Within(1e-6));
    }

    [Test]
    public void EmptyGraphsAndRegionsGiveZeroWithZeroGradient()
    {
        using var scope = NewDisposeScope();
        manual_seed(44);
        // Two classes without background: one node per sample, so no edge; the teacher wrong everywhere: no node at all.
        var label = randint(2, [2, 2, 2]);
        var s = randn([2, 3, 2, 2], ScalarType.Float64).requires_grad_();
        var t = randn([2, 3, 2, 2], ScalarType.Float64);
        var oneNode = MskdLosses.RegionMasks(label, randn([2, 2, 2, 2], ScalarType.Float64), NoFilter with { IncludeBackground = false });
        var rgd = MskdLosses.RegionGraph(s, t, oneNode);
        Assert.That(rgd.item<double>(), Is.EqualTo(0));
        var wrong = MskdLosses.RegionMasks(label, Predicting(label.neg().add(1).flatten().ToArray<long>(), 2, 2, 2, 2), new MskdOptions());
        var ffd = MskdLosses.FeatureFiltering(s, t, wrong);
        Assert.That(ffd.item<double>(), Is.EqualTo(0));
        rgd.add(ffd).backward();
        Assert.That(s.grad!.ToArray<double>(), Is.All.EqualTo(0.0));
    }

    [Test]
    public void NoGradientReachesTheTeacher()
    {
        using var scope = NewDisposeScope();
        manual_seed(45);
        var label = randint(3, [2, 4, 4]);
        var logits = randn([2, 3, 4, 4], ScalarType.Float64).requires_grad_();
        var s = randn([2, 3, 2, 2], ScalarType.Float64).requires_grad_();
        var t = randn([2, 4, 2, 2], ScalarType.Float64).requires_grad_();
        var masks = MskdLosses.RegionMasks(label, logits, new MskdOptions { Filter = RegionFilter.TeacherConfident, ConfidenceThreshold = 0.4 });
        var weight = randn([4, 3, 1, 1], ScalarType.Float64);
        MskdLosses.FeatureFiltering(s, t, masks, PrototypeDistance.Cosine, weight).add(MskdLosses.RegionGraph(s, t, masks)).backward();
        Assert.That(s.grad, Is.Not.Null);
        Assert.That(t.grad, Is.Null);
        Assert.That(logits.grad, Is.Null);
    }
}
