using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Torch.Tests;

public class FunctionalTests
{
    private DisposeScope scope = null!;

    [SetUp] public void OpenScope() { scope = NewDisposeScope(); manual_seed(7); }
    [TearDown] public void CloseScope() => scope.Dispose();

    private static Tensor D(params long[] shape) => randn(shape, ScalarType.Float64);
    private static double[] Values(Tensor t) => t.to(ScalarType.Float64).ToArray<double>();

    // ---- hand-computed cases

    [Test]
    public void Conv2dSumsWindows()
    {
        var x = tensor(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 1, 1, 3, 3);
        var w = ones(1, 1, 2, 2);
        var y = F.conv2d(x, w, tensor(new float[] { 10 }));
        Assert.That(y.shape, Is.EqualTo(new long[] { 1, 1, 2, 2 }));
        Assert.That(y.ToArray<float>(), Is.EqualTo(new float[] { 1 + 2 + 4 + 5 + 10, 2 + 3 + 5 + 6 + 10, 4 + 5 + 7 + 8 + 10, 5 + 6 + 8 + 9 + 10 }));
        var strided = F.conv2d(x, w, stride: [2, 2], padding: [1, 1]);
        // Padded 5x5 grid, windows at rows/cols 0 and 2: [[1, 2+3], [4+7, 5+6+8+9]].
        Assert.That(strided.ToArray<float>(), Is.EqualTo(new float[] { 1, 5, 11, 28 }));
    }

    [Test]
    public void ConvTranspose2dScattersKernelPerInput()
    {
        var x = tensor(new float[] { 1, 2, 3, 4 }, 1, 1, 2, 2);
        var w = tensor(new float[] { 1, 10, 100, 1000 }, 1, 1, 2, 2);
        var y = F.conv_transpose2d(x, w, stride: [2, 2]);
        Assert.That(y.shape, Is.EqualTo(new long[] { 1, 1, 4, 4 }));
        Assert.That(y.ToArray<float>(), Is.EqualTo(new float[]
        {
            1, 10, 2, 20,
            100, 1000, 200, 2000,
            3, 30, 4, 40,
            300, 3000, 400, 4000,
        }));
        var padded = F.conv_transpose2d(x, w, stride: [2, 2], output_padding: [1, 1]);
        Assert.That(padded.shape, Is.EqualTo(new long[] { 1, 1, 5, 5 }));
    }

    [Test]
    public void MaxPoolIndicesRoundTripThroughUnpool()
    {
        var x = tensor(new float[]
        {
            1, 5, 2, 0,
            3, 4, 8, 7,
            0, 0, 1, 1,
            9, 0, 1, 2,
        }, 1, 1, 4, 4);
        var (y, idx) = F.max_pool2d_with_indices(x, [2, 2]);
        Assert.That(y.ToArray<float>(), Is.EqualTo(new float[] { 5, 8, 9, 2 }));
        Assert.That(idx.ToArray<long>(), Is.EqualTo(new long[] { 1, 6, 12, 15 }));
        var back = F.max_unpool2d(y, idx, [4, 4]);
        Assert.That(back.ToArray<float>(), Is.EqualTo(new float[] { 0, 5, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 9, 0, 0, 2 }));
        Assert.That(F.max_pool2d(x, [2, 2]).ToArray<float>(), Is.EqualTo(y.ToArray<float>()));
    }

    [Test]
    public void AveragePoolsAndAdaptivePools()
    {
        var x = arange(16, ScalarType.Float32).view_as_4x4();
        Assert.That(F.avg_pool2d(x, [2, 2]).ToArray<float>(), Is.EqualTo(new float[] { 2.5f, 4.5f, 10.5f, 12.5f }));
        Assert.That(F.adaptive_avg_pool2d(x, [1, 1]).ToArray<float>(), Is.EqualTo(new float[] { 7.5f }));
        // count_include_pad=false divides border windows by their real size only.
        var padded = F.avg_pool2d(x, [3, 3], stride: [1, 1], padding: [1, 1], count_include_pad: false);
        Assert.That(padded.ToArray<float>()[0], Is.EqualTo((0 + 1 + 4 + 5) / 4f));
    }

    [Test]
    public void InterpolateNearestAndBilinear()
    {
        var x = tensor(new float[] { 1, 2, 3, 4 }, 1, 1, 2, 2);
        Assert.That(F.interpolate(x, scale_factor: [2]).ToArray<float>(),
            Is.EqualTo(new float[] { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 }));
        var line = tensor(new float[] { 0, 1 }, 1, 1, 1, 2);
        var aligned = F.interpolate(line, size: [1, 3], mode: InterpolationMode.Bilinear, align_corners: true);
        Assert.That(aligned.ToArray<float>(), Is.EqualTo(new float[] { 0, 0.5f, 1 }));
        // Half-pixel centres: output x=0 maps to source -0.25, clamped to 0; x=1 maps to 0.25.
        var unaligned = F.interpolate(line, size: [1, 4], mode: InterpolationMode.Bilinear, align_corners: false);
        Assert.That(unaligned.ToArray<float>(), Is.EqualTo(new float[] { 0, 0.25f, 0.75f, 1 }));
        Assert.Throws<ArgumentException>(() => F.interpolate(x, size: [4, 4], scale_factor: [2]));
        Assert.Throws<ArgumentException>(() => F.interpolate(x, size: [4, 4], align_corners: true));
    }

    [Test]
    public void PadModes()
    {
        var x = tensor(new float[] { 1, 2, 3 }, 1, 1, 1, 3);
        Assert.That(F.pad(x, [2, 1], value: 9).ToArray<float>(), Is.EqualTo(new float[] { 9, 9, 1, 2, 3, 9 }));
        Assert.That(F.pad(x.view(1, 1, 3), [2, 1], PaddingModes.Reflect).ToArray<float>(), Is.EqualTo(new float[] { 3, 2, 1, 2, 3, 2 }));
        Assert.That(F.pad(x.view(1, 1, 3), [2, 1], PaddingModes.Replicate).ToArray<float>(), Is.EqualTo(new float[] { 1, 1, 1, 2, 3, 3 }));
    }

    [Test]
    public void BatchNormTrainingNormalisesAndUpdatesRunningStats()
    {
        var x = tensor(new double[] { 1, 3, 5, 7 }, 4, 1, 1, 1);
        var mean = zeros([1], ScalarType.Float64);
        var variance = ones([1], ScalarType.Float64);
        var y = F.batch_norm(x, mean, variance, training: true, momentum: 0.1, eps: 0);
        // Batch mean 4, biased variance 5 normalises; the running variance takes the unbiased 20/3.
        double s = Math.Sqrt(5);
        Assert.That(Values(y), Is.EqualTo(new[] { -3 / s, -1 / s, 1 / s, 3 / s }).Within(1e-12));
        Assert.That(mean.item<double>(), Is.EqualTo(0.4).Within(1e-12));
        Assert.That(variance.item<double>(), Is.EqualTo(0.9 + 0.1 * 20.0 / 3).Within(1e-12));
        var evaluated = F.batch_norm(x, mean, variance, training: false, eps: 0);
        Assert.That(Values(evaluated)[0], Is.EqualTo((1 - 0.4) / Math.Sqrt(variance.item<double>())).Within(1e-12));
    }

    [Test]
    public void Dropout2dDropsWholeChannelsAndRescales()
    {
        var x = ones(4, 16, 3, 3);
        var y = F.dropout2d(x, 0.5, training: true);
        var v = y.ToArray<float>();
        int zeroed = 0;
        for (int ch = 0; ch < 64; ch++)
        {
            var plane = v.AsSpan(ch * 9, 9).ToArray();
            Assert.That(plane.Distinct().Count(), Is.EqualTo(1), "a channel is dropped or kept as a whole");
            Assert.That(plane[0], Is.EqualTo(0f).Or.EqualTo(2f));
            if (plane[0] == 0) zeroed++;
        }
        Assert.That(zeroed, Is.InRange(10, 54));
        Assert.That(F.dropout2d(x, 0.5, training: false).ToArray<float>(), Is.All.EqualTo(1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.dropout(x, 1.5));
    }

    [Test]
    public void CrossEntropyByHandWithWeightsAndIgnoreIndex()
    {
        var logits = tensor(new double[] { 1, 2, 3, 1, 1, 1, 0, 0, 5 }, 3, 3);
        var target = tensor(new long[] { 2, 0, 1 });
        double Nll(double[] row, int y) => Math.Log(row.Sum(Math.Exp)) - row[y];
        double l0 = Nll([1, 2, 3], 2), l1 = Nll([1, 1, 1], 0), l2 = Nll([0, 0, 5], 1);
        Assert.That(F.cross_entropy(logits, target).item<double>(), Is.EqualTo((l0 + l1 + l2) / 3).Within(1e-12));
        var w = tensor(new double[] { 1, 2, 3 });
        Assert.That(F.cross_entropy(logits, target, w).item<double>(), Is.EqualTo((3 * l0 + 1 * l1 + 2 * l2) / 6).Within(1e-12));
        var ignoring = tensor(new long[] { 2, -100, 1 });
        Assert.That(F.cross_entropy(logits, ignoring).item<double>(), Is.EqualTo((l0 + l2) / 2).Within(1e-12));
        Assert.That(F.cross_entropy(logits, target, reduction: Reduction.Sum).item<double>(), Is.EqualTo(l0 + l1 + l2).Within(1e-12));
        Assert.That(Values(F.cross_entropy(logits, target, reduction: Reduction.None)), Is.EqualTo(new[] { l0, l1, l2 }).Within(1e-12));
        Assert.That(F.nll_loss(F.log_softmax(logits, 1), target).item<double>(), Is.EqualTo((l0 + l1 + l2) / 3).Within(1e-12));
    }

    [Test]
    public void KlDivergenceReductions()
    {
        double[] p = [0.2, 0.8, 0.5, 0.5], q = [0.4, 0.6, 0.9, 0.1];
        var logQ = tensor(q.Select(v => Math.Log(v)).ToArray(), 2, 2);
        var target = tensor(p, 2, 2);
        double sum = Enumerable.Range(0, 4).Sum(i => p[i] * (Math.Log(p[i]) - Math.Log(q[i])));
        Assert.That(F.kl_div(logQ, target, Reduction.Sum).item<double>(), Is.EqualTo(sum).Within(1e-12));
        Assert.That(F.kl_div(logQ, target, Reduction.BatchMean).item<double>(), Is.EqualTo(sum / 2).Within(1e-12));
        Assert.That(F.kl_div(logQ, target).item<double>(), Is.EqualTo(sum / 4).Within(1e-12));
        var logP = tensor(p.Select(v => Math.Log(v)).ToArray(), 2, 2);
        Assert.That(F.kl_div(logQ, logP, Reduction.Sum, log_target: true).item<double>(), Is.EqualTo(sum).Within(1e-12));
    }

    [Test]
    public void RegressionLossesAndCosineByHand()
    {
        var a = tensor(new double[] { 1, 2, 3 });
        var b = tensor(new double[] { 2, 2, 5 });
        Assert.That(F.mse_loss(a, b).item<double>(), Is.EqualTo(5.0 / 3).Within(1e-12));
        Assert.That(F.l1_loss(a, b).item<double>(), Is.EqualTo(1.0).Within(1e-12));
        Assert.That(F.cosine_similarity(a.view(1, 3), b.view(1, 3)).item<double>(),
            Is.EqualTo(21 / (Math.Sqrt(14) * Math.Sqrt(33))).Within(1e-12));
        var logits = tensor(new double[] { 0.5, -1 });
        var labels = tensor(new double[] { 1, 0 });
        double Sig(double z) => 1 / (1 + Math.Exp(-z));
        double expected = -(Math.Log(Sig(0.5)) + Math.Log(1 - Sig(-1))) / 2;
        Assert.That(F.binary_cross_entropy_with_logits(logits, labels).item<double>(), Is.EqualTo(expected).Within(1e-12));
        var posWeight = tensor(new double[] { 3, 3 });
        double weighted = -(3 * Math.Log(Sig(0.5)) + Math.Log(1 - Sig(-1))) / 2;
        Assert.That(F.binary_cross_entropy_with_logits(logits, labels, pos_weight: posWeight).item<double>(), Is.EqualTo(weighted).Within(1e-12));
    }

    [Test]
    public void IdentityAffineGridSamplesTheImageBack()
    {
        var image = D(1, 2, 5, 6);
        var theta = tensor(new double[] { 1, 0, 0, 0, 1, 0 }, 1, 2, 3);
        var grid = F.affine_grid(theta, [1, 2, 5, 6], align_corners: true);
        Assert.That(grid.shape, Is.EqualTo(new long[] { 1, 5, 6, 2 }));
        var resampled = F.grid_sample(image, grid, align_corners: true);
        Assert.That(Values(resampled), Is.EqualTo(Values(image)).Within(1e-12));
        // A horizontal flip: x -> -x.
        var flip = tensor(new double[] { -1, 0, 0, 0, 1, 0 }, 1, 2, 3);
        var flipped = Values(F.grid_sample(image, F.affine_grid(flip, [1, 2, 5, 6], align_corners: true), align_corners: true));
        var original = Values(image);
        Assert.That(flipped[0], Is.EqualTo(original[5]).Within(1e-12));
    }

    [Test]
    public void ActivationsByHand()
    {
        var x = tensor(new double[] { -2, 0.5 });
        Assert.That(Values(F.leaky_relu(x, 0.1)), Is.EqualTo(new[] { -0.2, 0.5 }).Within(1e-12));
        Assert.That(Values(F.prelu(x, tensor(new double[] { 0.25 }))), Is.EqualTo(new[] { -0.5, 0.5 }).Within(1e-12));
        double Gelu(double v) => 0.5 * v * (1 + Erf(v / Math.Sqrt(2)));
        Assert.That(Values(F.gelu(x)), Is.EqualTo(new[] { Gelu(-2), Gelu(0.5) }).Within(1e-6));
        Assert.That(Values(F.softmax(x, 0)).Sum(), Is.EqualTo(1).Within(1e-12));
    }

    // Abramowitz-Stegun 7.1.26: absolute error below 1.5e-7, inside the tolerance above.
    private static double Erf(double x)
    {
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return Math.Sign(x) * y;
    }

    // ---- errors surface as typed exceptions with libtorch's message

    [Test]
    public void ChannelMismatchIsATorchException()
    {
        var x = randn(1, 3, 8, 8);
        var w = randn(4, 2, 3, 3);
        var ex = Assert.Throws<TorchException>(() => F.conv2d(x, w));
        Assert.That(ex!.Message, Does.Contain("expected input").And.Contain("channels"));
    }

    [Test]
    public void TargetOutOfRangeIsATorchException()
    {
        var logits = randn(2, 3);
        var bad = tensor(new long[] { 0, 7 });
        Assert.That(() => F.cross_entropy(logits, bad), Throws.InstanceOf<TorchException>().With.Message.Contain("out of bounds"));
    }

    // ---- finite-difference gradient checks

    [Test]
    public void GradCheckCatchesAWrongGradient()
    {
        // d/dx (detach(x)·x) is x to autograd but 2x numerically: the checker must notice.
        Assert.Throws<AssertionException>(() => GradCheck.Check(a => a[0].detach() * a[0], [D(3)]));
    }

    [Test]
    public void Conv2dGradient() =>
        GradCheck.Check(a => F.conv2d(a[0], a[1], a[2], stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2),
            [D(2, 4, 5, 5), D(6, 2, 3, 3), D(6)]);

    [Test]
    public void ConvTranspose2dGradient() =>
        GradCheck.Check(a => F.conv_transpose2d(a[0], a[1], a[2], stride: [2, 2], padding: [1, 0], output_padding: [1, 1]),
            [D(1, 3, 3, 3), D(3, 2, 3, 2), D(2)]);

    [Test]
    public void BatchNormGradient()
    {
        var mean = zeros([3], ScalarType.Float64);
        var variance = ones([3], ScalarType.Float64);
        GradCheck.Check(a => F.batch_norm(a[0], mean, variance, a[1], a[2], training: true), [D(4, 3, 2, 2), D(3), D(3)]);
    }

    [Test]
    public void BilinearInterpolateGradient()
    {
        GradCheck.Check(a => F.interpolate(a[0], size: [5, 7], mode: InterpolationMode.Bilinear, align_corners: false), [D(1, 2, 3, 4)]);
        GradCheck.Check(a => F.interpolate(a[0], scale_factor: [2, 2], mode: InterpolationMode.Bilinear, align_corners: true), [D(1, 1, 3, 3)]);
        GradCheck.Check(a => F.interpolate(a[0], scale_factor: [2], mode: InterpolationMode.Nearest), [D(1, 1, 2, 3)]);
    }

    [Test]
    public void MaxUnpoolGradient()
    {
        var (_, indices) = F.max_pool2d_with_indices(D(2, 2, 4, 4), [2, 2]);
        GradCheck.Check(a => F.max_unpool2d(a[0], indices, [4, 4]), [D(2, 2, 2, 2)]);
    }

    [Test]
    public void LossGradients()
    {
        var target = tensor(new long[] { 0, 2, 1, 2, 0, 1 }).view(2, 3);
        var weight = tensor(new double[] { 0.5, 1, 2 });
        GradCheck.Check(a => F.cross_entropy(a[0], target, weight, ignore_index: 1), [D(2, 3, 3)]);
        GradCheck.Check(a => F.nll_loss(F.log_softmax(a[0], 1), target), [D(2, 3, 3)]);
        var probs = F.softmax(D(2, 3), 1);
        GradCheck.Check(a => F.kl_div(F.log_softmax(a[0], 1), probs, Reduction.BatchMean), [D(2, 3)]);
        GradCheck.Check(a => F.mse_loss(a[0], a[1]), [D(3, 2), D(3, 2)]);
        // Shifted apart so no element sits at l1's kink, where the derivative is undefined.
        GradCheck.Check(a => F.l1_loss(a[0], a[1] + 10), [D(3, 2), D(3, 2)]);
        GradCheck.Check(a => F.binary_cross_entropy_with_logits(a[0], a[1].sigmoid()), [D(4), D(4)]);
        GradCheck.Check(a => F.cosine_similarity(a[0], a[1]), [D(2, 4), D(2, 4)]);
    }

    [Test]
    public void GridSampleGradient() =>
        GradCheck.Check(a => F.grid_sample(a[0], a[1].tanh() * 0.9, align_corners: false), [D(1, 2, 4, 4), D(1, 3, 3, 2)]);
}

internal static class TestShapes
{
    public static Tensor view_as_4x4(this Tensor t) => t.view(1, 1, 4, 4);
}
