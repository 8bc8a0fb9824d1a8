using MedDistill.Distillation.Losses;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Distillation.Tests;

public class SegmentationLossTests
{
    private const double Eps = 1e-5;
    private static readonly double Ln3 = Math.Log(3);

    // Two pixels (1×2 image): pixel 0 logits (0, 0) → P = (1/2, 1/2), label 1; pixel 1 logits (ln 3, 0) → P = (3/4, 1/4), label 0.
    private static (Tensor logits, Tensor label) TwoPixels() =>
        (tensor(new[] { 0.0, Ln3, 0.0, 0.0 }, 1, 2, 1, 2), tensor(new long[] { 1, 0 }, 1, 1, 2));

    private static (Tensor logits, Tensor label) Random(int n, int c, int h, int w, long seed)
    {
        manual_seed(seed);
        var logits = randn([n, c, h, w], ScalarType.Float64).mul(2.0);
        var label = randint(c, [n, h, w]);
        return (logits, label);
    }

    [Test]
    public void DiceOfTwoPixelsByHand()
    {
        using var scope = NewDisposeScope();
        var (logits, label) = TwoPixels();
        // Class 1: Σ P·G = 1/2, Σ P = 1/2 + 1/4, Σ G = 1. Class 0: Σ P·G = 3/4, Σ P = 1/2 + 3/4, Σ G = 1.
        double d1 = (2 * 0.5 + Eps) / (0.75 + 1 + Eps);
        double d0 = (2 * 0.75 + Eps) / (1.25 + 1 + Eps);
        var foregroundOnly = new SegmentationLoss();
        var withBackground = new SegmentationLoss(new SegmentationLossOptions { IncludeBackground = true });
        Assert.That(foregroundOnly.Dice(logits, label).item<double>(), Is.EqualTo(1 - d1).Within(1e-12));
        Assert.That(withBackground.Dice(logits, label).item<double>(), Is.EqualTo(1 - (d0 + d1) / 2).Within(1e-12));
    }

    [Test]
    public void FocalOfTwoPixelsByHand()
    {
        using var scope = NewDisposeScope();
        var (logits, label) = TwoPixels();
        // True-class probabilities 1/2 and 3/4: −(1 − p)^γ log p per pixel, then the mean.
        double gamma2 = (0.25 * Math.Log(2) + 0.0625 * Math.Log(4.0 / 3)) / 2;
        Assert.That(new SegmentationLoss().Focal(logits, label).item<double>(), Is.EqualTo(gamma2).Within(1e-12));
        double gamma1 = (0.5 * Math.Log(2) + 0.25 * Math.Log(4.0 / 3)) / 2;
        Assert.That(new SegmentationLoss(new() { FocalGamma = 1 }).Focal(logits, label).item<double>(), Is.EqualTo(gamma1).Within(1e-12));
        // α weights each pixel by its true class: pixel 0 (class 1) by 0.75, pixel 1 (class 0) by 0.25; the mean stays over 2.
        double alpha = (0.75 * 0.25 * Math.Log(2) + 0.25 * 0.0625 * Math.Log(4.0 / 3)) / 2;
        var weighted = new SegmentationLoss(new() { ClassAlpha = [0.25, 0.75] });
        Assert.That(weighted.Focal(logits, label).item<double>(), Is.EqualTo(alpha).Within(1e-12));
    }

    [Test]
    public void FocalWithGammaZeroIsCrossEntropy()
    {
        using var scope = NewDisposeScope();
        var (logits, label) = TwoPixels();
        var loss = new SegmentationLoss(new() { FocalGamma = 0 });
        Assert.That(loss.Focal(logits, label).item<double>(), Is.EqualTo((Math.Log(2) + Math.Log(4.0 / 3)) / 2).Within(1e-12));
        var (big, bigLabel) = Random(2, 3, 4, 5, seed: 7);
        Assert.That(loss.Focal(big, bigLabel).item<double>(), Is.EqualTo(F.cross_entropy(big, bigLabel).item<double>()).Within(1e-12));
    }

    [Test]
    public void WeightedSumAndTermsByHand()
    {
        using var scope = NewDisposeScope();
        var (logits, label) = TwoPixels();
        double dice = 1 - (2 * 0.5 + Eps) / (1.75 + Eps);
        double focal = (0.25 * Math.Log(2) + 0.0625 * Math.Log(4.0 / 3)) / 2;
        var loss = new SegmentationLoss(new() { DiceWeight = 0.3, FocalWeight = 0.7 });
        var terms = loss.Terms(logits, label);
        Assert.That(terms.Select(t => t.Name), Is.EqualTo(new[] { "dice", "focal" }));
        Assert.That(terms.Select(t => t.Weight), Is.EqualTo(new[] { 0.3, 0.7 }));
        Assert.That(terms[0].Value.item<double>(), Is.EqualTo(dice).Within(1e-12));
        Assert.That(terms[1].Value.item<double>(), Is.EqualTo(focal).Within(1e-12));
        Assert.That(loss.Compute(logits, label).item<double>(), Is.EqualTo(0.3 * dice + 0.7 * focal).Within(1e-12));
        // The default is 0.5/0.5, and a zero weight leaves the term out.
        Assert.That(new SegmentationLoss().Compute(logits, label).item<double>(), Is.EqualTo(0.5 * dice + 0.5 * focal).Within(1e-12));
        var diceOnly = new SegmentationLoss(new() { FocalWeight = 0 });
        Assert.That(diceOnly.Terms(logits, label).Select(t => t.Name), Is.EqualTo(new[] { "dice" }));
        Assert.That(diceOnly.Compute(logits, label).item<double>(), Is.EqualTo(0.5 * dice).Within(1e-12));
    }

    [Test]
    public void SingleChannelModelIsBinaryWithSigmoid()
    {
        using var scope = NewDisposeScope();
        // Logits 0 and ln 3: σ = 1/2 and 3/4 for the foreground; labels 1 and 0.
        var logits = tensor(new[] { 0.0, Ln3 }, 1, 1, 1, 2);
        var label = tensor(new long[] { 1, 0 }, 1, 1, 2);
        var loss = new SegmentationLoss();
        Assert.That(loss.Dice(logits, label).item<double>(), Is.EqualTo(1 - (2 * 0.5 + Eps) / (1.25 + 1 + Eps)).Within(1e-12));
        // True-class probabilities: 1/2 (foreground) and 1 − 3/4 (background).
        double focal = (0.25 * Math.Log(2) + 0.5625 * Math.Log(4)) / 2;
        Assert.That(loss.Focal(logits, label).item<double>(), Is.EqualTo(focal).Within(1e-12));
    }

    [TestCase(false, 2.0)]
    [TestCase(true, 2.0)]
    [TestCase(false, 1.5)]
    [TestCase(true, 0.0)]
    public void MatchesLoopReferenceOnThreeClasses(bool includeBackground, double gamma)
    {
        using var scope = NewDisposeScope();
        var (logits, label) = Random(2, 3, 2, 3, seed: 11);
        var loss = new SegmentationLoss(new() { IncludeBackground = includeBackground, FocalGamma = gamma, ClassAlpha = [0.2, 0.5, 1.3] });
        var m = Reference.Of(logits); var y = Reference.Labels(label);
        Assert.That(loss.Dice(logits, label).item<double>(), Is.EqualTo(Reference.Dice(m, y, includeBackground, Eps)).Within(1e-12));
        Assert.That(loss.Focal(logits, label).item<double>(), Is.EqualTo(Reference.Focal(m, y, gamma, [0.2, 0.5, 1.3])).Within(1e-12));
    }

    [Test]
    public void AbsentClassScoresOneThroughSmoothing()
    {
        using var scope = NewDisposeScope();
        // Class 2 never appears and is predicted with probability ~0: its Dice is (0 + ε)/(≈0 + ε) ≈ 1, not 0/0.
        var logits = tensor(new[] { 0.0, 0.0, 0.0, 0.0, -1000.0, -1000.0 }, 1, 3, 1, 2);
        var label = tensor(new long[] { 1, 0 }, 1, 1, 2);
        var dice = new SegmentationLoss().Dice(logits, label).item<double>();
        // Class 1: Σ P·G = 1/2, Σ P = 1, Σ G = 1 → (1 + ε)/(2 + ε); class 2 → 1.
        Assert.That(dice, Is.EqualTo(1 - ((1 + Eps) / (2 + Eps) + 1) / 2).Within(1e-9));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void GradientsMatchFiniteDifferences(bool includeBackground)
    {
        using var scope = NewDisposeScope();
        var (logits, label) = Random(2, 3, 2, 3, seed: 5);
        var options = new SegmentationLossOptions { IncludeBackground = includeBackground, ClassAlpha = [0.3, 1.0, 0.7] };
        var loss = new SegmentationLoss(options);
        GradCheck.Inputs(x => loss.Dice(x[0], label), [logits]);
        GradCheck.Inputs(x => loss.Focal(x[0], label), [logits]);
        GradCheck.Inputs(x => new SegmentationLoss(options with { FocalGamma = 1.5 }).Compute(x[0], label), [logits]);
        var binary = randn([2, 1, 2, 3], ScalarType.Float64);
        var binaryLabel = randint(2, [2, 2, 3]);
        GradCheck.Inputs(x => new SegmentationLoss().Compute(x[0], binaryLabel), [binary]);
    }

    [Test]
    public void RejectsBadOptionsAndShapes()
    {
        Assert.Throws<ArgumentException>(() => new SegmentationLoss(new() { DiceWeight = -1 }));
        Assert.Throws<ArgumentException>(() => new SegmentationLoss(new() { DiceWeight = 0, FocalWeight = 0 }));
        Assert.Throws<ArgumentException>(() => new SegmentationLoss(new() { Smooth = 0 }));
        Assert.Throws<ArgumentException>(() => new SegmentationLoss(new() { FocalGamma = double.NaN }));
        Assert.Throws<ArgumentException>(() => new SegmentationLoss(new() { ClassAlpha = [] }));
        using var scope = NewDisposeScope();
        var (logits, label) = TwoPixels();
        Assert.Throws<ArgumentException>(() => new SegmentationLoss(new() { ClassAlpha = [1, 1, 1] }).Compute(logits, label));
        Assert.Throws<ArgumentException>(() => new SegmentationLoss().Compute(logits, label.to(ScalarType.Int32)));
        Assert.Throws<ArgumentException>(() => new SegmentationLoss().Compute(logits, tensor(new long[] { 1, 0, 1 }, 1, 1, 3)));
        Assert.Throws<ArgumentException>(() => new SegmentationLoss().Compute(logits.squeeze(0), label));
    }
}
