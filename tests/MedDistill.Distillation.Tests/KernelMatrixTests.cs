using MedDistill.Distillation.AffinityKd;
using MedDistill.Models;

namespace MedDistill.Distillation.Tests;

public class KernelMatrixTests
{
    private static KernelMatrixDistillation Build(long cs, long ct, KernelMatrixOptions? options = null) =>
        new(cs, ct, options, dtype: ScalarType.Float64);

    /// <summary>Sets the adapter to weight <paramref name="w"/> (out × in) and bias <paramref name="b"/>.</summary>
    private static void SetAdapter(KernelMatrixDistillation kmm, double[] w, double[]? b)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        kmm.Adapter.weight.copy_(tensor(w, kmm.Adapter.weight.shape));
        if (b is not null) kmm.Adapter.bias!.copy_(tensor(b, kmm.Adapter.bias!.shape));
    }

    // Student rows (after an identity adapter) [1, 0] and [1, 1]; teacher rows [1, 0] and [0, 1]; maps are 1×1×1×2.
    private static (Tensor s, Tensor t) RowsExample() =>
        (tensor(new[] { 1.0, 0.0, 1.0, 1.0 }, 2, 1, 1, 2), tensor(new[] { 1.0, 0.0, 0.0, 1.0 }, 2, 1, 1, 2));

    [TestCase(false, L1Reduction.Mean, 0.75 + 0.75)]
    [TestCase(false, L1Reduction.Sum, 0.75 + 3.0)]
    public void UnnormalisedGramByHand(bool normalise, L1Reduction reduction, double expected)
    {
        // K_s = [[1, 1], [1, 2]], K_t = I, D = [[0, 1], [1, 1]]: mean D² = 3/4, mean |D| = 3/4, Σ |D| = 3.
        using var scope = NewDisposeScope();
        using var kmm = Build(1, 1, new() { Normalise = normalise, L1Reduction = reduction });
        SetAdapter(kmm, [1.0], [0.0]);
        var (s, t) = RowsExample();
        Assert.That(kmm.Compute(s, t).item<double>(), Is.EqualTo(expected).Within(1e-12));
    }

    [TestCase(L1Reduction.Mean)]
    [TestCase(L1Reduction.Sum)]
    public void NormalisedGramByHand(L1Reduction reduction)
    {
        // Rows [1, 0] and [1, 1]/√2: K_s = [[1, 1/√2], [1/√2, 1]], K_t = I, D has 1/√2 off the diagonal:
        // mean D² = 1/4, mean |D| = √2/4, Σ |D| = √2.
        using var scope = NewDisposeScope();
        using var kmm = Build(1, 1, new() { L1Reduction = reduction });
        var (s, t) = RowsExample();
        double expected = 0.25 + (reduction == L1Reduction.Mean ? Math.Sqrt(2) / 4 : Math.Sqrt(2));
        SetAdapter(kmm, [1.0], [0.0]);
        Assert.That(kmm.Compute(s, t).item<double>(), Is.EqualTo(expected).Within(1e-12));
        // Normalised rows make the loss blind to the adapter's scale.
        SetAdapter(kmm, [5.0], [0.0]);
        Assert.That(kmm.Compute(s, t).item<double>(), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void SmallerStudentMapIsResizedToTheTeacher()
    {
        // Student maps 1×1 with values 2 and 3 become constant 2×2 maps: rows [2,2,2,2], [3,3,3,3]; K_s = [[16, 24], [24, 36]].
        // Teacher rows [1,0,0,0], [0,0,0,1]: K_t = I. D = [[15, 24], [24, 35]]: mean D² = 2602/4, mean |D| = 98/4.
        using var scope = NewDisposeScope();
        using var kmm = Build(1, 1, new() { Normalise = false });
        SetAdapter(kmm, [1.0], [0.0]);
        var s = tensor(new[] { 2.0, 3.0 }, 2, 1, 1, 1);
        var t = tensor(new[] { 1.0, 0, 0, 0, 0, 0, 0, 1 }, 2, 1, 2, 2);
        Assert.That(kmm.Compute(s, t).item<double>(), Is.EqualTo(2602.0 / 4 + 98.0 / 4).Within(1e-9));
    }

    [Test]
    public void LargerStudentMapIsResizedToTheTeacher()
    {
        // 2×2 student maps halve (bilinear, align_corners=false) to their mean: 2.5 and 0.5; the adapter (weight 2, bias 1)
        // gives 6 and 2, so K_s = [[36, 12], [12, 4]]. Teacher values 1 and 2: K_t = [[1, 2], [2, 4]]. D = [[35, 10], [10, 0]]:
        // mean D² = 1425/4, mean |D| = 55/4.
        using var scope = NewDisposeScope();
        using var kmm = Build(1, 1, new() { Normalise = false });
        SetAdapter(kmm, [2.0], [1.0]);
        var s = tensor(new[] { 1.0, 2, 3, 4, 0, 0, 0, 2 }, 2, 1, 2, 2);
        var t = tensor(new[] { 1.0, 2.0 }, 2, 1, 1, 1);
        Assert.That(kmm.Compute(s, t).item<double>(), Is.EqualTo(1425.0 / 4 + 55.0 / 4).Within(1e-9));
    }

    [Test]
    public void BiasEntersBeforeTheGram()
    {
        // Weight 1, bias 1 on the rows example: student rows [2, 1] and [2, 2]; K_s = [[5, 6], [6, 8]], K_t = I;
        // D = [[4, 6], [6, 7]]: mean D² = (16 + 36 + 36 + 49)/4, mean |D| = 23/4.
        using var scope = NewDisposeScope();
        using var kmm = Build(1, 1, new() { Normalise = false });
        SetAdapter(kmm, [1.0], [1.0]);
        var (s, t) = RowsExample();
        Assert.That(kmm.Compute(s, t).item<double>(), Is.EqualTo(137.0 / 4 + 23.0 / 4).Within(1e-12));
        using var noBias = Build(1, 1, new() { AdapterBias = false });
        Assert.That(noBias.Adapter.bias, Is.Null);
        Assert.That(noBias.named_parameters().Select(p => p.name), Is.EqualTo(new[] { "adapter.weight" }));
    }

    [TestCase(true, L1Reduction.Mean)]
    [TestCase(false, L1Reduction.Sum)]
    public void MatchesLoopReferenceWithRandomAdapter(bool normalise, L1Reduction reduction)
    {
        using var scope = NewDisposeScope();
        manual_seed(21);
        using var kmm = Build(3, 2, new() { Normalise = normalise, L1Reduction = reduction });
        var s = randn([3, 3, 2, 3], ScalarType.Float64);
        var t = randn([3, 2, 2, 3], ScalarType.Float64);
        var w = kmm.Adapter.weight.ToArray<double>();
        var weight = new double[2, 3];
        for (int o = 0; o < 2; o++) for (int c = 0; c < 3; c++) weight[o, c] = w[o * 3 + c];
        var adapted = Reference.Adapted(Reference.Of(s), weight, kmm.Adapter.bias!.ToArray<double>());
        double expected = Reference.KernelMatrix(adapted, Reference.Rows(Reference.Of(t)), normalise, reduction == L1Reduction.Sum);
        Assert.That(kmm.Compute(s, t).item<double>(), Is.EqualTo(expected).Within(1e-10));
    }

    // Teacher maps smaller than (1×1), equal to (2×2) and larger than (3×3) the 2×2 student maps.
    [TestCase(true, 1)]
    [TestCase(false, 1)]
    [TestCase(true, 2)]
    [TestCase(true, 3)]
    public void GradientsMatchFiniteDifferencesForFeaturesAndAdapter(bool normalise, int teacherSize)
    {
        using var scope = NewDisposeScope();
        manual_seed(22);
        using var kmm = Build(3, 2, new() { Normalise = normalise });
        var s = randn([3, 3, 2, 2], ScalarType.Float64);
        var t = randn([3, 2, teacherSize, teacherSize], ScalarType.Float64);
        GradCheck.Inputs(x => kmm.Compute(x[0], x[1]), [s, t], checkInput: [true, false]);
        GradCheck.Parameters(() => kmm.Compute(s, t), kmm.parameters());
    }

    [Test]
    public void TeacherFeaturesGetNoGradient()
    {
        using var scope = NewDisposeScope();
        using var kmm = Build(2, 2);
        var s = randn([2, 2, 2, 2], ScalarType.Float64).requires_grad_();
        var t = randn([2, 2, 2, 2], ScalarType.Float64).requires_grad_();
        kmm.Compute(s, t).backward();
        Assert.That(t.grad, Is.Null);
        Assert.That(s.grad, Is.Not.Null);
        Assert.That(kmm.Adapter.weight.grad, Is.Not.Null);
    }

    [Test]
    public void ProbeReadsTapChannelsAndLeavesTheModelAsItWas()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var enet = ModelRegistry.Create("enet", new ModelOptions(1, 2, 0.25));
        var before = enet.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        Assert.That(enet.training, Is.True);
        // ENet at width 0.25: the encoder ends at round(128·0.25) = 32 channels, the decoder at round(16·0.25) = 4.
        Assert.That(KernelMatrixDistillation.ProbeChannels(enet, SegmentationModel.EncoderTap), Is.EqualTo(32));
        Assert.That(KernelMatrixDistillation.ProbeChannels(enet, SegmentationModel.DecoderTap), Is.EqualTo(4));
        Assert.That(enet.training, Is.True, "training mode restored");
        foreach (var (name, value) in enet.state_dict())
            Assert.That(value.equal(before[name]), $"{name} changed by the probe (BatchNorm statistics must not move)");
        Assert.Throws<ArgumentException>(() => KernelMatrixDistillation.ProbeChannels(enet, "no-such-tap"));
    }

    [Test]
    public void RejectsMismatchedChannels()
    {
        using var scope = NewDisposeScope();
        using var kmm = Build(2, 3);
        Assert.Throws<ArgumentException>(() => kmm.Compute(zeros([2, 3, 1, 1], ScalarType.Float64), zeros([2, 3, 1, 1], ScalarType.Float64)));
        Assert.Throws<ArgumentException>(() => kmm.Compute(zeros([2, 2, 1, 1], ScalarType.Float64), zeros([3, 3, 1, 1], ScalarType.Float64)));
        Assert.Throws<ArgumentException>(() => new KernelMatrixDistillation(0, 3));
        Assert.Throws<ArgumentException>(() => new KernelMatrixDistillation(2, 3, new() { StudentTap = "" }));
    }
}
