using System.Runtime.InteropServices;
using MedDistill.Models.Networks;
using MedDistill.Models.Profiling;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Tests;

/// <summary>
/// GKD's MobileNetV2-UNet student. The independent truth for the encoder is torchvision's mobilenet_v2 (3,504,872
/// parameters, of which the classifier is 1280·1000 + 1000); every other count is worked out by hand from the stage table,
/// in the helpers at the end, which are checked against that figure first. Runs use width 0.25 and 64×64 inputs.
/// </summary>
public class MobileNetV2UNetTests
{
    private const double SmallWidth = 0.25;
    private const string Name = MobileNetV2UNet.RegistryName;

    private static MobileNetV2UNet Create(int inChannels = 1, int classes = 2, double width = SmallWidth, long seed = 1)
    {
        manual_seed(seed);
        return (MobileNetV2UNet)ModelRegistry.Create(Name, new ModelOptions(inChannels, classes, width));
    }

    private static long Sum(SegmentationModel model, string prefix) =>
        model.named_parameters().Where(p => p.name.StartsWith(prefix, StringComparison.Ordinal)).Sum(p => p.parameter.numel());

    // ---------------------------------------------------------------- parameter counts

    [Test]
    public void HandCountReproducesTorchvisionMobileNetV2Features()
    {
        const long torchvisionMobileNetV2 = 3_504_872, classifier = 1280 * 1000 + 1000;
        Assert.That(EncoderByHand(3, 1.0), Is.EqualTo(torchvisionMobileNetV2 - classifier));
        using var model = Create(3, 2, 1.0);
        Assert.That(Sum(model, "backbone.features."), Is.EqualTo(2_223_872));
    }

    // The figures the report quotes: 1 input channel, 2 classes; 3 channels without the head is the notes' "4.68 M".
    [TestCase(1, 2, 1.0, 4_682_298L)]
    [TestCase(1, 9, 1.0, 4_682_417L)]
    [TestCase(1, 2, 0.5, 1_211_354L)]
    [TestCase(1, 2, 0.25, 322_546L)]
    [TestCase(3, 2, 1.0, 4_682_840L + 34)]
    public void TotalParameterCountIsTheHandCount(int inChannels, int classes, double width, long expected)
    {
        Assert.That(FullByHand(inChannels, classes, width), Is.EqualTo(expected));
        using var model = Create(inChannels, classes, width);
        Assert.That(model.parameter_count(), Is.EqualTo(expected));
        Assert.That(Sum(model, "head."), Is.EqualTo(model.SkipChannels[3] * classes + classes));
    }

    [Test]
    public void ParameterNamesAreTorchvisionsAndTheReferences()
    {
        using var model = Create();
        using var scope = NewDisposeScope();
        var keys = model.state_dict().Keys.ToHashSet();
        string[] expected =
        [
            "backbone.features.0.0.weight", "backbone.features.0.1.running_var",
            "backbone.features.1.conv.0.0.weight", "backbone.features.1.conv.1.weight", "backbone.features.1.conv.2.bias",
            "backbone.features.2.conv.0.0.weight", "backbone.features.2.conv.1.0.weight", "backbone.features.2.conv.2.weight",
            "backbone.features.2.conv.3.running_mean", "backbone.features.17.conv.3.weight", "backbone.features.18.0.weight",
            "dconv1.weight", "dconv1.bias", "invres1.conv.0.0.weight", "dconv4.bias", "invres4.conv.3.bias", "head.weight", "head.bias",
        ];
        foreach (var key in expected) Assert.That(keys, Does.Contain(key));
        Assert.That(keys.Any(k => k.StartsWith("backbone.features.19.", StringComparison.Ordinal)), Is.False, "19 layers: stem, 17 blocks, last conv");
        Assert.That(keys.Any(k => k.StartsWith("backbone.features.0.0.bias", StringComparison.Ordinal)), Is.False, "MobileNetV2 convs have no bias");
    }

    [TestCase(1.0, new[] { 16, 24, 32, 96, 1280 })]
    [TestCase(0.5, new[] { 8, 16, 16, 48, 640 })]     // 24·0.5 = 12 → 16 (halves up)
    [TestCase(0.25, new[] { 8, 8, 8, 24, 320 })]      // 4, 6, 8 all floor at 8
    [TestCase(0.35, new[] { 8, 8, 16, 32, 448 })]     // 5.6 → 8, 8.4 → 8, 11.2 → 8 < 0.9·11.2 → 16, 33.6 → 32
    [TestCase(0.01, new[] { 8, 8, 8, 8, 16 })]        // every level at the floor; 1280·0.01 = 12.8 → 16
    public void WidthRoundsLikeMakeDivisible(double width, int[] levels)
    {
        using var model = Create(1, 2, width);
        Assert.That(model.LevelChannels, Is.EqualTo(levels));
        Assert.That(model.SkipChannels, Is.EqualTo(new[] { levels[3], levels[2], levels[1], levels[0] }));
        Assert.That(model.parameter_count(), Is.EqualTo(FullByHand(1, 2, width)));
    }

    [Test]
    public void MakeDivisibleByHand()
    {
        // 9 and 19.9 round down to 8 and 16, more than 10% low, so they get 8 more; 12 and 36 are halves, rounded up.
        Assert.That(new[] { 4.0, 8.8, 9, 12, 19.9, 20, 36, 1280 }.Select(v => MobileNetV2UNet.MakeDivisible(v)),
            Is.EqualTo(new[] { 8, 8, 16, 16, 24, 24, 40, 1280 }));
        Assert.That(MobileNetV2UNet.MakeDivisible(11.2), Is.EqualTo(16), "8 is more than 10% below 11.2");
        Assert.Throws<ArgumentException>(() => MobileNetV2UNet.MakeDivisible(0));
    }

    // ---------------------------------------------------------------- shapes and taps

    [Test]
    public void EveryTapAt64HasItsLevelsShape()
    {
        using var scope = NewDisposeScope();
        using var model = Create(1, 3);
        model.eval();
        using (no_grad())
        {
            var maps = model.forward_features(randn(2, 1, 64, 64), [.. model.TapNames]);
            var expected = new Dictionary<string, long[]>
            {
                ["stage1"] = [2, 8, 32, 32], ["stage2"] = [2, 8, 16, 16], ["stage3"] = [2, 8, 8, 8], ["stage4"] = [2, 24, 4, 4],
                ["encoder"] = [2, 320, 2, 2], ["up1"] = [2, 24, 4, 4], ["up2"] = [2, 8, 8, 8], ["up3"] = [2, 8, 16, 16],
                ["decoder"] = [2, 8, 32, 32], ["logits"] = [2, 3, 64, 64],
            };
            Assert.That(model.TapNames, Is.EqualTo(expected.Keys));
            foreach (var (tap, shape) in expected) Assert.That(maps[tap].shape, Is.EqualTo(shape), tap);
            // The logits are the head on the decoder tap, upsampled 2× bilinearly.
            var head = ((MedDistill.Torch.Modules.Conv2d)model.get_submodule("head")).call(maps[SegmentationModel.DecoderTap]);
            var up = F.interpolate(head, scale_factor: [2.0, 2.0], mode: InterpolationMode.Bilinear, align_corners: false);
            Assert.That(up.equal(maps.Logits));
            // The first decoder step reads the encoder tap and the stride-16 skip.
            var deconv = ((MedDistill.Torch.Modules.ConvTranspose2d)model.get_submodule("dconv1")).call(maps[SegmentationModel.EncoderTap]);
            var up1 = ((InvertedResidual)model.get_submodule("invres1")).call(cat([maps["stage4"], deconv], 1));
            Assert.That(up1.equal(maps["up1"]));
        }
    }

    [TestCase(32, 32)]
    [TestCase(96, 64)]
    [TestCase(128, 160)]
    public void OutputHasTheInputSize(int h, int w)
    {
        using var scope = NewDisposeScope();
        using var model = Create(1, 2);
        model.eval();
        using (no_grad()) Assert.That(model.call(randn(1, 1, h, w)).shape, Is.EqualTo(new long[] { 1, 2, h, w }));
    }

    [Test]
    public void RegistryBuildsItAndBadInputsAreNamed()
    {
        using var scope = NewDisposeScope();
        Assert.That(ModelRegistry.Names, Does.Contain(Name));
        using var model = Create(1, 2);
        Assert.That(model.InputSizeMultiple, Is.EqualTo(32));
        Assert.That(model.UnusedParameterPrefixes, Is.Empty);
        foreach (var (h, w) in new[] { (48, 64), (64, 16), (0, 32) })
            Assert.That(Assert.Throws<ArgumentException>(() => model.call(randn(1, 1, h, w)))!.Message,
                Does.Contain(Name).And.Contain("multiples of 32"), $"{h}×{w}");
        Assert.That(Assert.Throws<ArgumentException>(() => model.call(randn(1, 3, 64, 64)))!.Message, Does.Contain("expected 1 input channel"));
        Assert.Throws<ArgumentException>(() => model.CheckInputSize(40, 64));
    }

    // ---------------------------------------------------------------- gradients, determinism, substitution

    // A transposed conv's bias reaches the loss only through a bias-free 1×1 conv and a BatchNorm, which in train mode
    // subtracts the batch mean and with it any per-channel constant: its gradient is zero up to rounding there, and
    // non-zero in eval mode (running statistics), which is where it is checked.
    [TestCase(true)]
    [TestCase(false)]
    public void GradientsReachEveryParameter(bool train)
    {
        using var scope = NewDisposeScope();
        using var model = Create(1, 3);
        model.train(train);
        manual_seed(7);
        F.cross_entropy(model.call(randn(2, 1, 64, 64)), randint(0, 3, [2, 64, 64])).backward();
        foreach (var (name, p) in model.named_parameters())
        {
            using var grad = p.grad;
            Assert.That(grad, Is.Not.Null, $"{name} got no gradient");
            Assert.That(grad!.isfinite().all().item<bool>(), name);
            bool cancelledByBatchNorm = train && name.StartsWith("dconv", StringComparison.Ordinal) && name.EndsWith(".bias", StringComparison.Ordinal);
            if (cancelledByBatchNorm) Assert.That(grad.abs().max().item<float>(), Is.LessThan(1e-5f), name);
            else Assert.That(grad.abs().sum().item<float>(), Is.GreaterThan(0f), name);
        }
    }

    [Test]
    public void SameSeedGivesTheSameOutputBytes()
    {
        using var scope = NewDisposeScope();
        byte[] Run(long seed, bool train)
        {
            using var model = Create(1, 2, seed: seed);
            manual_seed(99);
            var x = randn(2, 1, 64, 32);
            if (train) model.train(); else model.eval();
            using var _ = no_grad();
            return MemoryMarshal.AsBytes(model.call(x).contiguous().ToArray<float>().AsSpan()).ToArray();
        }
        Assert.That(Run(5, train: false), Is.EqualTo(Run(5, train: false)));
        Assert.That(Run(5, train: true), Is.EqualTo(Run(5, train: true)));
        Assert.That(Run(6, train: false), Is.Not.EqualTo(Run(5, train: false)), "another seed should give another network");
    }

    [Test]
    public void ProfilerCountsItsReLU6AndDepthwiseConvolutions()
    {
        using var model = Create(1, 2, 1.0);
        var cost = ModelProfiler.Profile(model, 64, 64);
        Assert.That(cost.Parameters, Is.EqualTo(4_682_298));
        Assert.That(cost.PaperMacs.Activation, Is.GreaterThan(0), "ReLU6 is in ptflops' table");
        // The stem: 3×3 conv from 1 channel to 32 at 32×32 outputs, and the first depthwise 3×3 on 32 channels.
        var stem = cost.Layers.Single(l => l.Path == "backbone.features.0.0");
        Assert.That(stem.TrueMacs, Is.EqualTo(32L * 32 * 32 * 9));
        var depthwise = cost.Layers.Single(l => l.Path == "backbone.features.1.conv.0.0");
        Assert.That(depthwise.TrueMacs, Is.EqualTo(32L * 32 * 32 * 9));
    }

    // ---------------------------------------------------------------- hand counts (from the stage table alone)

    private static long ConvBn(long cin, long cout, long k, long groups = 1) => k * k * (cin / groups) * cout + 2 * cout;

    private static long InvertedResidualByHand(long cin, long cout, long t)
    {
        long hidden = cin * t;
        return (t == 1 ? 0 : ConvBn(cin, hidden, 1)) + ConvBn(hidden, hidden, 3, hidden) + hidden * cout + 2 * cout;
    }

    private static int Div8(double v) => MobileNetV2UNet.MakeDivisible(v);

    private static long EncoderByHand(long inChannels, double width)
    {
        (int t, int c, int n)[] table = [(1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1)];
        long channels = Div8(32 * width);
        long total = ConvBn(inChannels, channels, 3);
        foreach (var (t, c, n) in table)
            for (int i = 0; i < n; i++)
            {
                total += InvertedResidualByHand(channels, Div8(c * width), t);
                channels = Div8(c * width);
            }
        return total + ConvBn(channels, Div8(1280 * width), 1);
    }

    private static long FullByHand(int inChannels, int classes, double width)
    {
        long total = EncoderByHand(inChannels, width), previous = Div8(1280 * width);
        foreach (var skip in new[] { 96, 32, 24, 16 }.Select(c => (long)Div8(c * width)))
        {
            total += previous * skip * 16 + skip + InvertedResidualByHand(2 * skip, skip, 6);   // 4×4 ConvT with bias, then the block
            previous = skip;
        }
        return total + previous * classes + classes;
    }
}
