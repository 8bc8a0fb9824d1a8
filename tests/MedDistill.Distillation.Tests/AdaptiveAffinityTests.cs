using MedDistill.Distillation.AffinityKd;

namespace MedDistill.Distillation.Tests;

public class AdaptiveAffinityTests
{
    private static readonly double Ln3 = Math.Log(3);

    // W between a uniform pixel u = (1/2, 1/2) and v = (3/4, 1/4), both ways.
    private static readonly double UniformToSkewed = 0.5 * Math.Log(4.0 / 3);                      // KL(u ‖ v)
    private static readonly double SkewedToUniform = 0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5);  // KL(v ‖ u)

    /// <summary>A 2×2 student map: top row uniform (logits (0, 0)), bottom row (3/4, 1/4) (logits (ln 3, 0)).</summary>
    private static Tensor TwoRowStudent() => tensor(new[] { 0.0, 0.0, Ln3, Ln3, 0.0, 0.0, 0.0, 0.0 }, 1, 2, 2, 2);

    /// <summary>Teacher logits whose argmax is <paramref name="labels"/> (row-major, 2 classes).</summary>
    private static Tensor TeacherFor(long[] labels, int h, int w)
    {
        var data = new double[2 * labels.Length];
        for (int k = 0; k < labels.Length; k++) data[labels[k] * labels.Length + k] = 1.0;
        return tensor(data, 1, 2, h, w);
    }

    [Test]
    public void TwoByTwoPairsByHand()
    {
        using var scope = NewDisposeScope();
        // Teacher labels [[0, 0], [1, 1]]. Of the 12 ordered neighbour pairs of a 2×2 map, the 4 horizontal ones (2 per row,
        // both orders) share a label: P+ = 4, all with W = 0 (same student distribution in a row). P− = 8: 2 vertical and
        // 2 diagonal pairs, each in both orders, so 4 pairs top → bottom (W = KL(u ‖ v)) and 4 bottom → top (KL(v ‖ u)).
        var aam = new AdaptiveAffinityDistillation();
        var parts = aam.ComputeParts(TwoRowStudent(), TeacherFor([0, 0, 1, 1], 2, 2));
        Assert.That(parts.SameLabelPairs.item<double>(), Is.EqualTo(4));
        Assert.That(parts.DifferentLabelPairs.item<double>(), Is.EqualTo(8));
        Assert.That(parts.SameLabelLoss.item<double>(), Is.EqualTo(0).Within(1e-12));
        double minus = (4 * (3 - UniformToSkewed) + 4 * (3 - SkewedToUniform)) / 8;
        Assert.That(parts.DifferentLabelLoss.item<double>(), Is.EqualTo(minus).Within(1e-12));
        Assert.That(aam.Compute(TwoRowStudent(), TeacherFor([0, 0, 1, 1], 2, 2)).item<double>(), Is.EqualTo(minus).Within(1e-12));
    }

    [Test]
    public void MarginClampsLargeDivergences()
    {
        using var scope = NewDisposeScope();
        // m = 0.14 lies between KL(v ‖ u) ≈ 0.1308 and KL(u ‖ v) ≈ 0.1438: the top → bottom pairs are past the margin and
        // contribute 0; the 4 bottom → top pairs contribute m − KL(v ‖ u); the mean is still over all 8 pairs of P−.
        Assert.That(SkewedToUniform, Is.LessThan(0.14));
        Assert.That(UniformToSkewed, Is.GreaterThan(0.14));
        var aam = new AdaptiveAffinityDistillation(new() { Margin = 0.14 });
        var parts = aam.ComputeParts(TwoRowStudent(), TeacherFor([0, 0, 1, 1], 2, 2));
        Assert.That(parts.DifferentLabelLoss.item<double>(), Is.EqualTo(4 * (0.14 - SkewedToUniform) / 8).Within(1e-12));
    }

    [Test]
    public void SingleLabelLeavesTheDifferentSetEmpty()
    {
        using var scope = NewDisposeScope();
        // All 12 pairs are in P+: 4 horizontal with W = 0, 4 top → bottom, 4 bottom → top; L− = 0 (empty set).
        var parts = new AdaptiveAffinityDistillation().ComputeParts(TwoRowStudent(), TeacherFor([1, 1, 1, 1], 2, 2));
        Assert.That(parts.SameLabelPairs.item<double>(), Is.EqualTo(12));
        Assert.That(parts.DifferentLabelPairs.item<double>(), Is.EqualTo(0));
        Assert.That(parts.DifferentLabelLoss.item<double>(), Is.EqualTo(0));
        Assert.That(parts.SameLabelLoss.item<double>(), Is.EqualTo((4 * UniformToSkewed + 4 * SkewedToUniform) / 12).Within(1e-12));
    }

    [Test]
    public void DifferentLabelsEverywhereLeaveTheSameSetEmpty()
    {
        using var scope = NewDisposeScope();
        // 1×2 map, labels [0, 1]: the only pairs are (0 → 1) and (1 → 0), both in P−; student pixels u and v.
        var student = tensor(new[] { 0.0, Ln3, 0.0, 0.0 }, 1, 2, 1, 2);
        var parts = new AdaptiveAffinityDistillation().ComputeParts(student, TeacherFor([0, 1], 1, 2));
        Assert.That(parts.SameLabelPairs.item<double>(), Is.EqualTo(0));
        Assert.That(parts.DifferentLabelPairs.item<double>(), Is.EqualTo(2));
        Assert.That(parts.SameLabelLoss.item<double>(), Is.EqualTo(0));
        Assert.That(parts.DifferentLabelLoss.item<double>(), Is.EqualTo((3 - UniformToSkewed + 3 - SkewedToUniform) / 2).Within(1e-12));
    }

    [Test]
    public void SingleChannelLogitsAreBinary()
    {
        using var scope = NewDisposeScope();
        // Student z = (0, ln 3): distributions (1/2, 1/2) and (1/4, 3/4), whose KLs both ways equal KL(u ‖ v) and KL(v ‖ u)
        // above (the classes are only swapped). Teacher z = (−1, 1): labels 0 and 1 (sign of z), so both pairs are in P−.
        var student = tensor(new[] { 0.0, Ln3 }, 1, 1, 1, 2);
        var teacher = tensor(new[] { -1.0, 1.0 }, 1, 1, 1, 2);
        var parts = new AdaptiveAffinityDistillation().ComputeParts(student, teacher);
        Assert.That(parts.DifferentLabelPairs.item<double>(), Is.EqualTo(2));
        Assert.That(parts.DifferentLabelLoss.item<double>(), Is.EqualTo((3 - UniformToSkewed + 3 - SkewedToUniform) / 2).Within(1e-12));
    }

    [Test]
    public void ClassArgmaxBreaksTiesTowardsTheLowerClass()
    {
        using var scope = NewDisposeScope();
        // Four pixels of three classes: (1, 1, 0) → 0; (0, 2, 2) → 1; (0, 1, 3) → 2; (5, 5, 5) → 0. Of the first two classes
        // only: (1, 1) → 0, (0, 2) → 1, (0, 1) → 1, (5, 5) → 0.
        var logits = tensor(new[] { 1.0, 0, 0, 5, /* class 1 */ 1, 2, 1, 5, /* class 2 */ 0, 2, 3, 5 }, 1, 3, 1, 4);
        Assert.That(TensorChecks.ClassArgmax(logits).ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 2, 0 }));
        Assert.That(TensorChecks.ClassArgmax(logits, ScalarType.Byte).ToArray<byte>(), Is.EqualTo(new byte[] { 0, 1, 2, 0 }));
        Assert.That(TensorChecks.ClassArgmax(logits.narrow(1, 0, 2)).ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 1, 0 }));
    }

    [Test]
    public void CheckerboardPairsDiagonalsOnly()
    {
        using var scope = NewDisposeScope();
        // Labels [[0, 1], [1, 0]]: only the 2 diagonals (both orders) join equal labels: P+ = 4, P− = 8.
        var parts = new AdaptiveAffinityDistillation().ComputeParts(TwoRowStudent(), TeacherFor([0, 1, 1, 0], 2, 2));
        Assert.That(parts.SameLabelPairs.item<double>(), Is.EqualTo(4));
        Assert.That(parts.DifferentLabelPairs.item<double>(), Is.EqualTo(8));
        // The diagonal pairs join a top and a bottom pixel: 2 pairs u → v and 2 v → u.
        Assert.That(parts.SameLabelLoss.item<double>(), Is.EqualTo((2 * UniformToSkewed + 2 * SkewedToUniform) / 4).Within(1e-12));
        // P−: 4 horizontal (W = 0 → m each) and 2 vertical pairs each way.
        double minus = (4 * 3.0 + 2 * (3 - UniformToSkewed) + 2 * (3 - SkewedToUniform)) / 8;
        Assert.That(parts.DifferentLabelLoss.item<double>(), Is.EqualTo(minus).Within(1e-12));
    }

    // Pair counts on a 2×3 map (H = 2, W = 3), Σ over offsets of (H − |dy|)(W − |dx|):
    //  3×3, d = 1: (0, ±1) 2·2 each = 8; (±1, 0) 1·3 each = 6; (±1, ±1) 1·2 each = 8 → 22.
    //  3×3, d = 2: only (0, ±2) fit, 2·1 each → 4; pooled with d = 1 → 26.
    //  5×5, d = 1: dy = 0: dx ±1 → 8, ±2 → 4; dy = ±1: dx 0 → 3, ±1 → 2·2, ±2 → 1·2, per sign 9 → 18; |dy| = 2 gives none → 30.
    [TestCase(3, new[] { 1 }, 22)]
    [TestCase(3, new[] { 2 }, 4)]
    [TestCase(3, new[] { 1, 2 }, 26)]
    [TestCase(5, new[] { 1 }, 30)]
    public void PairCountsOnTwoByThree(int kernel, int[] dilations, int pairs)
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        var student = randn([1, 2, 2, 3], ScalarType.Float64);
        var teacher = randn([1, 2, 2, 3], ScalarType.Float64);
        var parts = new AdaptiveAffinityDistillation(new() { Kernel = kernel, Dilations = dilations }).ComputeParts(student, teacher);
        Assert.That(parts.SameLabelPairs.item<double>() + parts.DifferentLabelPairs.item<double>(), Is.EqualTo(pairs));
        // Two samples double every count.
        var two = new AdaptiveAffinityDistillation(new() { Kernel = kernel, Dilations = dilations })
            .ComputeParts(cat([student, student], 0), cat([teacher, teacher], 0));
        Assert.That(two.SameLabelPairs.item<double>() + two.DifferentLabelPairs.item<double>(), Is.EqualTo(2 * pairs));
    }

    [TestCase(3, new[] { 1 }, 3.0)]
    [TestCase(3, new[] { 1, 2 }, 0.5)]
    [TestCase(5, new[] { 1 }, 1.0)]
    public void MatchesLoopReference(int kernel, int[] dilations, double margin)
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        var student = randn([2, 3, 3, 4], ScalarType.Float64).mul(1.5);
        var teacher = randn([2, 3, 3, 4], ScalarType.Float64);
        var options = new AdaptiveAffinityOptions { Kernel = kernel, Dilations = dilations, Margin = margin };
        var parts = new AdaptiveAffinityDistillation(options).ComputeParts(student, teacher);
        var (plus, minus, np, nm) = Reference.Affinity(Reference.Of(student), Reference.Argmax(Reference.Of(teacher)), options.Offsets(), margin);
        Assert.That(np, Is.GreaterThan(0)); Assert.That(nm, Is.GreaterThan(0));
        Assert.That(parts.SameLabelPairs.item<double>(), Is.EqualTo(np));
        Assert.That(parts.DifferentLabelPairs.item<double>(), Is.EqualTo(nm));
        Assert.That(parts.SameLabelLoss.item<double>(), Is.EqualTo(plus).Within(1e-12));
        Assert.That(parts.DifferentLabelLoss.item<double>(), Is.EqualTo(minus).Within(1e-12));
    }

    [TestCase(3, new[] { 1 }, 3.0)]
    [TestCase(3, new[] { 1, 2 }, 0.5)]
    public void StudentTeacherComparisonMatchesLoopReference(int kernel, int[] dilations, double margin)
    {
        using var scope = NewDisposeScope();
        manual_seed(19);
        var student = randn([2, 3, 3, 4], ScalarType.Float64).mul(1.5);
        var teacher = randn([2, 3, 3, 4], ScalarType.Float64);
        var options = new AdaptiveAffinityOptions { Kernel = kernel, Dilations = dilations, Margin = margin, Compare = AffinityProbabilities.StudentTeacher };
        var parts = new AdaptiveAffinityDistillation(options).ComputeParts(student, teacher);
        var (plus, minus, _, _) = Reference.Affinity(Reference.Of(student), Reference.Argmax(Reference.Of(teacher)), options.Offsets(), margin, Reference.Of(teacher));
        Assert.That(parts.SameLabelLoss.item<double>(), Is.EqualTo(plus).Within(1e-12));
        Assert.That(parts.DifferentLabelLoss.item<double>(), Is.EqualTo(minus).Within(1e-12));
        var asWritten = new AdaptiveAffinityDistillation(options with { Compare = AffinityProbabilities.StudentStudent }).ComputeParts(student, teacher);
        Assert.That(asWritten.SameLabelLoss.item<double>(), Is.Not.EqualTo(plus).Within(1e-6), "the two readings differ");
    }

    [Test]
    public void StudentTeacherGradientsMatchFiniteDifferences_AndSkipTheTeacher()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var student = randn([2, 3, 3, 3], ScalarType.Float64);
        var teacher = randn([2, 3, 3, 3], ScalarType.Float64);
        var aam = new AdaptiveAffinityDistillation(new() { Margin = 0.6, Compare = AffinityProbabilities.StudentTeacher });
        GradCheck.Inputs(x => aam.Compute(x[0], x[1]), [student, teacher], checkInput: [true, false]);
        var t = teacher.detach().requires_grad_();
        aam.Compute(student.detach().requires_grad_(), t).backward();
        Assert.That(t.grad, Is.Null);
    }

    [Test]
    public void OffsetsOfTheDefaultNeighbourhood()
    {
        var offsets = new AdaptiveAffinityOptions().Offsets().ToList();
        Assert.That(offsets, Has.Count.EqualTo(8));
        Assert.That(offsets, Does.Not.Contain((0, 0)));
        Assert.That(new AdaptiveAffinityOptions { Dilations = [1, 3] }.Offsets(), Does.Contain((-3, 3)));
    }

    [Test]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        manual_seed(10);
        var student = randn([2, 3, 3, 3], ScalarType.Float64);
        var teacher = randn([2, 3, 3, 3], ScalarType.Float64);
        // Margin 0.3 puts some different-label pairs inside the hinge and some past it.
        var aam = new AdaptiveAffinityDistillation(new() { Margin = 0.3, Dilations = [1, 2] });
        GradCheck.Inputs(x => aam.Compute(x[0], x[1]), [student, teacher], checkInput: [true, false]);
        var s = student.detach().requires_grad_();
        var t = teacher.detach().requires_grad_();
        aam.Compute(s, t).backward();
        Assert.That(t.grad, Is.Null);
    }

    [Test]
    public void LargerTeacherLogitsAreResizedBeforeTheArgmax()
    {
        using var scope = NewDisposeScope();
        // A 4×4 teacher map whose top half is labelled 0 and bottom half 1. Halving it bilinearly (align_corners=false)
        // samples each output pixel at the centre of a 2×2 block, i.e. averages that block, so the 2×2 labels are
        // [[0, 0], [1, 1]] and the pair counts are those of TwoByTwoPairsByHand.
        var big = new long[16];
        for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) big[y * 4 + x] = y < 2 ? 0 : 1;
        var parts = new AdaptiveAffinityDistillation().ComputeParts(TwoRowStudent(), TeacherFor(big, 4, 4));
        Assert.That(parts.SameLabelPairs.item<double>(), Is.EqualTo(4));
        Assert.That(parts.DifferentLabelPairs.item<double>(), Is.EqualTo(8));
    }

    [Test]
    public void RejectsBadOptions()
    {
        Assert.Throws<ArgumentException>(() => new AdaptiveAffinityDistillation(new() { Kernel = 4 }));
        Assert.Throws<ArgumentException>(() => new AdaptiveAffinityDistillation(new() { Kernel = 1 }));
        Assert.Throws<ArgumentException>(() => new AdaptiveAffinityDistillation(new() { Dilations = [] }));
        Assert.Throws<ArgumentException>(() => new AdaptiveAffinityDistillation(new() { Dilations = [0] }));
        Assert.Throws<ArgumentException>(() => new AdaptiveAffinityDistillation(new() { Dilations = [1, 1] }));
        Assert.Throws<ArgumentException>(() => new AdaptiveAffinityDistillation(new() { Margin = -1 }));
    }
}
