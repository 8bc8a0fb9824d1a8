using System.Runtime.InteropServices;
using MedDistill.Models.Networks;
using MedDistill.Torch.Modules;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Tests;

/// <summary>
/// ACW-SKD's ResNet-18 U-Net. The independent truth for the encoder is torchvision's resnet18 (11,689,512 parameters,
/// of which the fc layer is 512·1000 + 1000); every other count is worked out by hand from the layer shapes, in the
/// helpers at the end, which are checked against that figure first. Runs use width 0.25 and small inputs.
/// </summary>
public class ResNet18UNetTests
{
    private const double SmallWidth = 0.25;
    private const string Name = ResNet18UNet.RegistryName;

    private static ResNet18UNet Create(int inChannels = 1, int classes = 2, double width = SmallWidth, long seed = 1, AuxStage? aux = null)
    {
        manual_seed(seed);
        var options = new ModelOptions(inChannels, classes, width);
        return aux is null ? (ResNet18UNet)ModelRegistry.Create(Name, options) : new ResNet18UNet(options, aux.Value);
    }

    private static long Sum(SegmentationModel model, string prefix) =>
        model.named_parameters().Where(p => p.name.StartsWith(prefix, StringComparison.Ordinal)).Sum(p => p.parameter.numel());

    // ---------------------------------------------------------------- parameter counts

    [Test]
    public void HandCountReproducesTorchvisionResNet18Body()
    {
        const long torchvisionResNet18 = 11_689_512, fc = 512 * 1000 + 1000;
        Assert.That(fc, Is.EqualTo(513_000));
        Assert.That(EncoderByHand(3, [64, 128, 256, 512]), Is.EqualTo(torchvisionResNet18 - fc));
    }

    [TestCase(3, 11_176_512L, Description = "torchvision resnet18 without fc")]
    [TestCase(1, 11_176_512L - 2 * 64 * 49, Description = "one input channel: conv1 loses two 64×7×7 slices")]
    public void EncoderAtWidthOneIsTorchvisionResNet18WithoutFc(int inChannels, long expected)
    {
        using var model = Create(inChannels, 2, 1.0);
        Assert.That(Sum(model, "encoder."), Is.EqualTo(expected));
    }

    [Test]
    public void EncoderParameterNamesAreTorchvisions()
    {
        using var model = Create();
        using var scope = NewDisposeScope();
        var state = model.state_dict();
        string[] keys =
        [
            "encoder.conv1.weight", "encoder.bn1.running_var", "encoder.layer1.0.conv1.weight", "encoder.layer1.1.bn2.bias",
            "encoder.layer2.0.downsample.0.weight", "encoder.layer2.0.downsample.1.running_mean", "encoder.layer4.1.conv2.weight",
        ];
        foreach (var key in keys) Assert.That(state.ContainsKey(key), key);
        // Shortcuts project only where the shape changes: layer1 and every second block keep the identity.
        Assert.That(state.Keys.Where(k => k.Contains("downsample.0.weight")),
            Is.EquivalentTo(new[] { "encoder.layer2.0.downsample.0.weight", "encoder.layer3.0.downsample.0.weight", "encoder.layer4.0.downsample.0.weight" }));
        Assert.That(state.ContainsKey("encoder.conv1.bias"), Is.False, "ResNet convolutions have no bias");
        Assert.That(state.ContainsKey("encoder.fc.weight"), Is.False, "no classifier in the encoder");
    }

    // The totals the report quotes, with one input channel (single CT/MRI slice).
    [TestCase(2, 1.0, 14_358_948L)]
    [TestCase(9, 1.0, 14_359_522L)]
    [TestCase(2, 0.25, 900_252L)]
    [TestCase(9, 0.25, 900_406L)]
    public void TotalParameterCountIsTheHandCount(int classes, double width, long expected)
    {
        using var model = Create(1, classes, width);
        Assert.That(FullByHand(1, classes, width), Is.EqualTo(expected));
        Assert.That(model.parameter_count(), Is.EqualTo(expected));
        Assert.That(Sum(model, ResNet18UNet.AuxHeadPrefix), Is.EqualTo(AuxHeadByHand(model.AuxChannels, classes)));
        Assert.That(Sum(model, "classifier."), Is.EqualTo(model.DecoderChannels[4] * classes + classes));
    }

    [TestCase(0.5)]
    [TestCase(0.25)]
    [TestCase(2.0)]
    public void WidthMultiplierScalesEveryStage(double width)
    {
        using var model = Create(3, 2, width);
        int[] e = [.. new[] { 64, 128, 256, 512 }.Select(c => (int)Math.Round(c * width))];
        int[] d = [.. new[] { 256, 128, 64, 32, 16 }.Select(c => (int)Math.Round(c * width))];
        Assert.That(model.EncoderChannels, Is.EqualTo(e));
        Assert.That(model.DecoderChannels, Is.EqualTo(d));
        Assert.That(Sum(model, "encoder."), Is.EqualTo(EncoderByHand(3, e)));
        Assert.That(model.parameter_count(), Is.EqualTo(FullByHand(3, 2, width)));
        // Convolutions dominate, so the count goes nearly as width² (the stem and the BNs scale linearly).
        double ratio = (double)Sum(model, "encoder.") / 11_176_512;
        Assert.That(ratio, Is.EqualTo(width * width).Within(1).Percent);
    }

    [Test]
    public void TinyWidthKeepsTheZoosChannelFloor()
    {
        using var scope = NewDisposeScope();
        using var model = Create(1, 2, 0.005); // 512 × 0.005 = 2.56: every stage at the floor
        Assert.That(model.EncoderChannels.Concat(model.DecoderChannels), Is.All.EqualTo(NetworkRules.MinChannels));
        model.eval();
        using (no_grad()) Assert.That(model.call(randn(1, 1, 32, 32)).shape, Is.EqualTo(new long[] { 1, 2, 32, 32 }));
    }

    // ---------------------------------------------------------------- shapes and taps

    // Every stride-2 layer rounds up, so odd and non-multiple-of-32 sizes work; aux maps are ⌈H/4⌉ × ⌈W/4⌉.
    [TestCase(64, 64)]
    [TestCase(96, 96)]
    [TestCase(65, 65)]
    [TestCase(100, 75)]
    [TestCase(33, 47)]
    public void OutputAndAuxShapesForEvenAndOddSizes(int h, int w)
    {
        using var scope = NewDisposeScope();
        using var model = Create(1, 9);
        model.eval();
        using (no_grad())
        {
            var maps = model.forward_features(randn(2, 1, h, w), ResNet18UNet.AuxLogitsTap, ResNet18UNet.AuxFeaturesTap, ResNet18UNet.PenultimateTap);
            long ah = (h + 3) / 4, aw = (w + 3) / 4;
            Assert.That(maps.Logits.shape, Is.EqualTo(new long[] { 2, 9, h, w }));
            Assert.That(maps[ResNet18UNet.AuxLogitsTap].shape, Is.EqualTo(new long[] { 2, 9, ah, aw }));
            Assert.That(maps[ResNet18UNet.AuxFeaturesTap].shape, Is.EqualTo(new long[] { 2, 16, ah, aw }));
            Assert.That(maps[ResNet18UNet.PenultimateTap].shape, Is.EqualTo(new long[] { 2, 4, h, w }));
            Assert.That(model.call(randn(1, 1, h, w)).shape, Is.EqualTo(new long[] { 1, 9, h, w }));
        }
    }

    [Test]
    public void EveryTapAt64HasItsStagesShape()
    {
        using var scope = NewDisposeScope();
        using var model = Create(1, 2);
        model.eval();
        using (no_grad())
        {
            var maps = model.forward_features(randn(1, 1, 64, 64), [.. model.TapNames]);
            var expected = new Dictionary<string, long[]>
            {
                ["stem"] = [1, 16, 32, 32], ["layer1"] = [1, 16, 16, 16], ["layer2"] = [1, 32, 8, 8], ["layer3"] = [1, 64, 4, 4],
                ["encoder"] = [1, 128, 2, 2], ["up1"] = [1, 64, 4, 4], ["up2"] = [1, 32, 8, 8], ["up3"] = [1, 16, 16, 16],
                ["aux_features"] = [1, 16, 16, 16], ["aux_logits"] = [1, 2, 16, 16], ["up4"] = [1, 8, 32, 32],
                ["decoder"] = [1, 4, 64, 64], ["penultimate"] = [1, 4, 64, 64], ["logits"] = [1, 2, 64, 64],
            };
            Assert.That(model.TapNames, Is.EquivalentTo(expected.Keys));
            foreach (var (tap, shape) in expected) Assert.That(maps[tap].shape, Is.EqualTo(shape), tap);
            Assert.That(maps[ResNet18UNet.AuxFeaturesTap].equal(maps["up3"]), "the default aux stage is the 1/4 decoder stage");
            // The taps are what the heads read: the classifier on penultimate is the logits, the aux head on aux_features the aux logits.
            Assert.That(((Conv2d)model.get_submodule("classifier")).call(maps[ResNet18UNet.PenultimateTap]).equal(maps.Logits));
            Assert.That(((Sequential)model.get_submodule("aux_head")).call(maps[ResNet18UNet.AuxFeaturesTap]).equal(maps[ResNet18UNet.AuxLogitsTap]));
        }
    }

    [TestCase(AuxStage.Sixteenth, 4, 64)]
    [TestCase(AuxStage.Eighth, 8, 32)]
    [TestCase(AuxStage.Quarter, 16, 16)]
    [TestCase(AuxStage.Half, 32, 8)]
    public void AuxStageOptionMovesTheHead(AuxStage stage, int size, int channels)
    {
        using var scope = NewDisposeScope();
        using var model = Create(1, 3, aux: stage);
        Assert.That(model.AuxStride, Is.EqualTo(64 / size));
        Assert.That(model.AuxChannels, Is.EqualTo(channels));
        Assert.That(Sum(model, ResNet18UNet.AuxHeadPrefix), Is.EqualTo(AuxHeadByHand(channels, 3)));
        model.eval();
        using (no_grad())
        {
            var maps = model.forward_features(randn(1, 1, 64, 64), ResNet18UNet.AuxLogitsTap, ResNet18UNet.AuxFeaturesTap);
            Assert.That(maps[ResNet18UNet.AuxLogitsTap].shape, Is.EqualTo(new long[] { 1, 3, size, size }));
            Assert.That(maps[ResNet18UNet.AuxFeaturesTap].shape, Is.EqualTo(new long[] { 1, channels, size, size }));
        }
    }

    [Test]
    public void RegistryBuildsItAndBadInputsAreNamed()
    {
        using var scope = NewDisposeScope();
        Assert.That(ModelRegistry.Names, Does.Contain(Name));
        using var model = Create(1, 2);
        Assert.That(model.AuxStage, Is.EqualTo(AuxStage.Quarter));
        Assert.That(model.InputSizeMultiple, Is.EqualTo(1));
        Assert.That(Assert.Throws<ArgumentException>(() => model.call(randn(1, 3, 32, 32)))!.Message, Does.Contain(Name).And.Contain("expected 1 input channel"));
        Assert.That(Assert.Throws<ArgumentException>(() => model.forward_features(randn(1, 1, 32, 32), "aux"))!.Message, Does.Contain("aux_logits"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ResNet18UNet(new ModelOptions(1, 2, SmallWidth), (AuxStage)7));
    }

    // ---------------------------------------------------------------- gradients

    [Test]
    public void LossOnAuxLogitsReachesTheAuxHeadAndTheLayersBelowIt()
    {
        using var scope = NewDisposeScope();
        using var model = Create(1, 3);
        model.train();
        var maps = model.forward_features(randn(2, 1, 64, 64), ResNet18UNet.AuxLogitsTap);
        F.cross_entropy(maps[ResNet18UNet.AuxLogitsTap], randint(0, 3, [2, 16, 16])).backward();
        foreach (var (name, p) in model.named_parameters())
        {
            using var grad = p.grad;
            // Stages after the 1/4 one and the classifier are not on the aux path.
            bool below = !new[] { "decoder4.", "decoder5.", "classifier." }.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal));
            if (!below) { Assert.That(grad, Is.Null, $"{name} is above the aux stage but got a gradient"); continue; }
            Assert.That(grad, Is.Not.Null, $"{name} got no gradient from the aux loss");
            Assert.That(grad!.isfinite().all().item<bool>(), name);
            Assert.That(grad.abs().sum().item<float>(), Is.GreaterThan(0f), name);
        }
    }

    [Test]
    public void PlainForwardSkipsTheAuxHeadAndAnOptimiserStepLeavesItAlone()
    {
        using var scope = NewDisposeScope();
        using var model = Create(1, 2);
        int auxCalls = 0;
        using var hook = ((Sequential)model.get_submodule("aux_head")).register_forward_hook((_, _, _) => auxCalls++);
        var before = model.named_parameters().Where(p => p.name.StartsWith(ResNet18UNet.AuxHeadPrefix, StringComparison.Ordinal)).Select(p => p.parameter.clone()).ToList();
        var sgd = torch.optim.SGD(model.parameters(), lr: 0.01, momentum: 0.9, weight_decay: 5e-4);
        model.train();
        F.cross_entropy(model.call(randn(2, 1, 32, 32)), randint(0, 2, [2, 32, 32])).backward();
        // Features without the aux logits do not run the head either.
        using (no_grad()) model.forward_features(randn(2, 1, 32, 32), ResNet18UNet.AuxFeaturesTap, ResNet18UNet.PenultimateTap);
        Assert.That(auxCalls, Is.Zero);
        foreach (var (name, p) in model.named_parameters())
        {
            using var grad = p.grad;
            if (name.StartsWith(ResNet18UNet.AuxHeadPrefix, StringComparison.Ordinal)) Assert.That(grad, Is.Null, name);
            else Assert.That(grad is not null && grad.abs().sum().item<float>() > 0, $"{name} got no gradient");
        }
        sgd.step();
        var after = model.named_parameters().Where(p => p.name.StartsWith(ResNet18UNet.AuxHeadPrefix, StringComparison.Ordinal)).Select(p => p.parameter).ToList();
        for (int i = 0; i < after.Count; i++) Assert.That(after[i].equal(before[i]), "weight decay must not touch a head without gradient");
        // The head still works after such steps.
        var maps = model.forward_features(randn(2, 1, 32, 32), ResNet18UNet.AuxLogitsTap);
        Assert.That(maps[ResNet18UNet.AuxLogitsTap].shape, Is.EqualTo(new long[] { 2, 2, 8, 8 }));
        Assert.That(auxCalls, Is.EqualTo(1));
        Assert.That(model.UnusedParameterPrefixes, Is.EqualTo(new[] { ResNet18UNet.AuxHeadPrefix }));
    }

    // ---------------------------------------------------------------- determinism

    [Test]
    public void SameSeedGivesTheSameOutputBytes()
    {
        using var scope = NewDisposeScope();
        byte[] Run(long seed, bool train)
        {
            using var model = Create(1, 9, seed: seed);
            manual_seed(99);
            var x = randn(2, 1, 48, 40);
            if (train) model.train(); else model.eval();
            var maps = model.forward_features(x, ResNet18UNet.AuxLogitsTap);
            var values = maps.Logits.contiguous().ToArray<float>().Concat(maps[ResNet18UNet.AuxLogitsTap].contiguous().ToArray<float>()).ToArray();
            return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        }
        Assert.That(Run(5, train: false), Is.EqualTo(Run(5, train: false)));
        Assert.That(Run(5, train: true), Is.EqualTo(Run(5, train: true)));
        Assert.That(Run(6, train: false), Is.Not.EqualTo(Run(5, train: false)), "another seed should give another network");
    }

    // ---------------------------------------------------------------- hand counts (from the layer shapes alone)

    // 3×3 conv without bias + BN (weight, bias) twice; the projection shortcut is a 1×1 conv without bias + BN.
    private static long BasicBlockByHand(long cin, long cout, bool project) =>
        9 * cin * cout + 2 * cout + 9 * cout * cout + 2 * cout + (project ? cin * cout + 2 * cout : 0);

    private static long EncoderByHand(long inChannels, int[] c)
    {
        long n = 49 * inChannels * c[0] + 2 * c[0];                         // conv1 7×7 + bn1
        n += 2 * BasicBlockByHand(c[0], c[0], false);                        // layer1
        for (int i = 1; i < 4; i++) n += BasicBlockByHand(c[i - 1], c[i], true) + BasicBlockByHand(c[i], c[i], false);
        return n;
    }

    private static long DoubleConvByHand(long cin, long cout) => 9 * cin * cout + 2 * cout + 9 * cout * cout + 2 * cout;

    private static long AuxHeadByHand(long channels, long classes) => 9 * channels * channels + 2 * channels + channels * classes + classes;

    private static long FullByHand(int inChannels, int classes, double width)
    {
        int S(int c) => NetworkRules.ScaleChannels(c, width);
        int[] e = [S(64), S(128), S(256), S(512)];
        int[] d = [S(256), S(128), S(64), S(32), S(16)];
        long decoder = DoubleConvByHand(e[3] + e[2], d[0]) + DoubleConvByHand(d[0] + e[1], d[1]) + DoubleConvByHand(d[1] + e[0], d[2])
                       + DoubleConvByHand(d[2] + e[0], d[3]) + DoubleConvByHand(d[3], d[4]);
        return EncoderByHand(inChannels, e) + decoder + AuxHeadByHand(d[2], classes) + d[4] * classes + classes;
    }
}
