using MedDistill.Models.Networks;
using MedDistill.Torch.Modules;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Tests;

/// <summary>
/// The teacher networks against the figures of the Affinity-KD paper's Table 1 (as resolved in
/// shared/notes/architectures.md) and the structure of the public reference implementations. Full-width networks are only
/// built for counts and one small forward; everything that runs repeatedly uses width 0.125 and small inputs.
/// </summary>
public class TeacherNetworkTests
{
    private const double SmallWidth = 0.125;

    private static SegmentationModel Create(string name, int inChannels = 1, int classes = 2, double width = SmallWidth, long seed = 1)
    {
        manual_seed(seed);
        return ModelRegistry.Create(name, new ModelOptions(inChannels, classes, width));
    }

    // ---------------------------------------------------------------- parameter counts (Table 1 and the notes)

    [TestCase("unetpp", 1, 2, 1.0, 36_628_546L, Description = "UNet++ 64..1024, Table 1's 36.6 M")]
    [TestCase("unetpp", 1, 2, 0.5, 9_162_786L, Description = "UNet++ with widths 32..512")]
    [TestCase("deeplabv3plus", 1, 1, 1.0, 56_795_705L, Description = "DeepLabV3+ Xception-65, Table 1's 56.8 M, one class")]
    [TestCase("deeplabv3plus", 1, 2, 1.0, 56_795_962L, Description = "DeepLabV3+ Xception-65, two classes")]
    [TestCase("unet", 1, 2, 1.0, 31_036_546L, Description = "padded U-Net with BN, base 64")]
    [TestCase("unet", 1, 2, 0.5, 7_762_498L, Description = "padded U-Net with BN, base 32")]
    public void ParameterCountMatchesThePublishedNetwork(string name, int inChannels, int classes, double width, long expected)
    {
        using var model = Create(name, inChannels, classes, width);
        Assert.That(model.parameter_count(), Is.EqualTo(expected));
        // Each parameter is listed once even where a module sits under two parents.
        Assert.That(model.named_parameters().Select(p => p.name).Distinct().Count(), Is.EqualTo(model.named_parameters().Count()));
    }

    /// <summary>
    /// The notes' breakdown 37,865,264 + 2,049,000 + 15,535,104 + 1,347,170 sums to 56,796,538: that is the network with 3
    /// input channels. With 1 channel only the first conv shrinks, by (3 − 1)·32·3·3 = 576 weights, giving Table 1's
    /// 56,795,962. The fc, ASPP and decoder figures are recomputed by hand below from the layer shapes.
    /// </summary>
    [TestCase(3, 37_865_264L)]
    [TestCase(1, 37_865_264L - 576)]
    public void DeepLabParameterBreakdownByNamePrefix(int inChannels, long backbone)
    {
        using var model = Create("deeplabv3plus", inChannels, 2, 1.0);
        long Sum(Func<string, bool> select) => model.named_parameters().Where(p => select(p.name)).Sum(p => p.parameter.numel());

        long fc = 2048 * 1000 + 1000;
        long aspp = 2 * (2048 * 256 + 2 * 256)          // b0 and the image-pooling branch: 1×1 conv + BN
                    + 3 * (2048 * 256 * 9 + 2 * 256)    // three dilated 3×3 branches + BN
                    + (5 * 256 * 256 + 2 * 256);        // projection 1280 → 256 + BN
        long decoder = (128 * 48 * 9 + 2 * 48) + (304 * 256 * 9 + 2 * 256) + (256 * 256 * 9 + 2 * 256) + (256 * 2 + 2);
        Assert.That(aspp, Is.EqualTo(15_535_104L));
        Assert.That(decoder, Is.EqualTo(1_347_170L));

        Assert.That(Sum(n => n.StartsWith("pretrained.", StringComparison.Ordinal) && !n.StartsWith("pretrained.fc.", StringComparison.Ordinal)),
            Is.EqualTo(backbone), "backbone convolutions and BNs");
        Assert.That(Sum(n => n.StartsWith("pretrained.fc.", StringComparison.Ordinal)), Is.EqualTo(fc), "unused ImageNet classifier");
        Assert.That(Sum(n => n.StartsWith("head.aspp.", StringComparison.Ordinal)), Is.EqualTo(aspp), "ASPP");
        Assert.That(Sum(n => n.StartsWith("head.c1_block.", StringComparison.Ordinal) || n.StartsWith("head.block.", StringComparison.Ordinal)),
            Is.EqualTo(decoder), "decoder");
        Assert.That(model.parameter_count(), Is.EqualTo(backbone + fc + aspp + decoder), "nothing outside the four parts");
    }

    // ---------------------------------------------------------------- structure and names

    [Test]
    public void ParameterNamesFollowTheReferenceImplementations()
    {
        using var unetpp = Create("unetpp");
        using var deeplab = Create("deeplabv3plus");
        using var unet = Create("unet");
        string[] unetppKeys = ["conv0_0.conv1.weight", "conv0_0.conv1.bias", "conv0_0.bn1.running_var", "conv1_3.conv2.weight", "conv0_4.bn2.bias", "final.weight", "final.bias"];
        string[] deeplabKeys =
        [
            "pretrained.conv1.weight", "pretrained.bn1.weight",
            "pretrained.block1.skip.weight", "pretrained.block1.skipbn.running_mean",
            "pretrained.block1.rep.0.conv1.weight", "pretrained.block1.rep.0.bn.weight", "pretrained.block1.rep.0.pointwise.weight",
            "pretrained.block1.rep.1.weight", "pretrained.block1.rep.6.pointwise.weight",
            "pretrained.block3.rep.1.conv1.weight", "pretrained.midflow.15.rep.7.pointwise.weight", "pretrained.midflow.15.rep.8.weight",
            "pretrained.block20.rep.4.pointwise.weight", "pretrained.block20.rep.7.running_mean",
            "pretrained.conv5.pointwise.weight", "pretrained.bn5.num_batches_tracked", "pretrained.fc.weight", "pretrained.fc.bias",
            "head.aspp.b0.0.weight", "head.aspp.b3.block.0.weight", "head.aspp.b4.gap.1.weight", "head.aspp.b4.gap.2.running_var",
            "head.aspp.project.0.weight", "head.c1_block.conv.weight", "head.c1_block.bn.weight",
            "head.block.0.conv.weight", "head.block.2.bn.bias", "head.block.4.weight", "head.block.4.bias",
        ];
        string[] unetKeys =
        [
            "inc.double_conv.0.weight", "inc.double_conv.1.running_mean", "down1.maxpool_conv.1.double_conv.3.weight",
            "up1.up.weight", "up1.up.bias", "up4.conv.double_conv.4.bias", "outc.conv.weight", "outc.conv.bias",
        ];
        foreach (var (model, keys) in new[] { (unetpp, unetppKeys), (deeplab, deeplabKeys), (unet, unetKeys) })
        {
            using var scope = NewDisposeScope();
            var state = model.state_dict();
            foreach (var key in keys) Assert.That(state.ContainsKey(key), $"{model.Name} state dict has '{key}'");
        }
        // Bias-free where the references are: DeepLab's and U-Net's 3×3 convs; UNet++'s have biases.
        using (NewDisposeScope())
        {
            Assert.That(deeplab.state_dict().ContainsKey("pretrained.conv1.bias"), Is.False);
            Assert.That(unet.state_dict().ContainsKey("inc.double_conv.0.bias"), Is.False);
        }
    }

    [Test]
    public void XceptionBlockReluIsRegisteredInTheBlockAndInItsRepList()
    {
        using var model = Create("deeplabv3plus");
        var relu = model.get_submodule("pretrained.block3.relu");
        Assert.That(relu, Is.InstanceOf<ReLU>());
        // block3 (start with ReLU, grow first, is_last): [ReLU, Sep, BN] × 3.
        foreach (var index in new[] { 0, 3, 6 })
            Assert.That(model.get_submodule($"pretrained.block3.rep.{index}"), Is.SameAs(relu));
        // block1 starts without ReLU: [Sep, BN, ReLU, Sep, BN, ReLU, Sep(stride 2), BN].
        var relu1 = model.get_submodule("pretrained.block1.relu");
        Assert.That(model.get_submodule("pretrained.block1.rep.0"), Is.InstanceOf<SeparableConv2d>());
        Assert.That(model.get_submodule("pretrained.block1.rep.2"), Is.SameAs(relu1));
        Assert.That(model.get_submodule("pretrained.block1.rep.5"), Is.SameAs(relu1));
        // block20 (grow last): [ReLU, Sep 728→728, BN, ReLU, Sep 728→1024, ReLU, Sep 1024→1024, BN]; the growing unit has no BN.
        Assert.That(model.get_submodule("pretrained.block20.rep.5"), Is.SameAs(model.get_submodule("pretrained.block20.relu")));
        Assert.That(model.get_submodule("pretrained.block20.rep.4"), Is.InstanceOf<SeparableConv2d>());
        // Middle-flow blocks keep the channels and stride: identity skip, no skip conv.
        Assert.Throws<KeyNotFoundException>(() => model.get_submodule("pretrained.midflow.0.skip"));
        Assert.That(((Sequential)model.get_submodule("pretrained.midflow")).Count, Is.EqualTo(16));
    }

    [Test]
    public void XceptionSkipPathSeesTheInputAfterTheLeadingInPlaceRelu()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var reference = new XceptionBlock(8, 8, reps: 3, dilation: 2);
        using var plain = new XceptionBlock(8, 8, reps: 3, dilation: 2, skipSeesActivatedInput: false);
        plain.load_state_dict(reference.state_dict());
        reference.eval();
        plain.eval();
        var rep = (Sequential)reference.get_submodule("rep");
        var x = randn(2, 8, 12, 12);
        using (no_grad())
        {
            var main = rep.call(x);
            Assert.That((reference.call(x) - main).allclose(x.relu(), 1e-5, 1e-6), "reference behaviour: rep(x) + relu(x)");
            Assert.That((plain.call(x) - main).allclose(x, 1e-5, 1e-6), "without the in-place effect: rep(x) + x");
        }
    }

    /// <summary>
    /// True convolution multiply-adds at 384×384 (notes: UNet++ 309.95 G, DeepLabV3+ 136.24 G), measured with forward hooks
    /// at 64×64 and scaled by 36: every map at 64 is exactly 1/6 of its size at 384 (64 and 384 are multiples of both nets'
    /// strides), except the ASPP image-pooling conv, whose output is 1×1 at any size.
    /// </summary>
    [TestCase("unetpp", 309.95)]
    [TestCase("deeplabv3plus", 136.24)]
    public void FullWidthConvolutionMacsMatchTheNotes(string name, double expectedGMacs)
    {
        using var scope = NewDisposeScope();
        using var model = Create(name, 1, 2, 1.0);
        model.eval();
        double macs = 0;
        var hooks = new List<IDisposable>();
        foreach (var conv in model.modules().OfType<Conv2d>())
            hooks.Add(conv.register_forward_hook((m, input, output) =>
            {
                var c = (Conv2d)m;
                double perOutput = c.in_channels / c.groups * c.kernel_size[0] * c.kernel_size[1];
                long pixels = output.size(2) * output.size(3);
                macs += output.size(0) * c.out_channels * pixels * perOutput * (pixels == 1 ? 1 : 36);
            }));
        Tensor logits;
        using (no_grad()) logits = model.call(randn(1, 1, 64, 64));
        foreach (var h in hooks) h.Dispose();
        Assert.That(logits.shape, Is.EqualTo(new long[] { 1, 2, 64, 64 }));
        Assert.That(macs / 1e9, Is.EqualTo(expectedGMacs).Within(0.005));
    }

    // ---------------------------------------------------------------- input sizes

    [TestCase("unetpp", 384)]
    [TestCase("unetpp", 320)]
    [TestCase("unetpp", 256)]
    [TestCase("deeplabv3plus", 384)]
    [TestCase("deeplabv3plus", 320)]
    [TestCase("deeplabv3plus", 256)]
    [TestCase("unet", 384)]
    [TestCase("unet", 320)]
    [TestCase("unet", 256)]
    public void OutputHasTheInputSize(string name, int size)
    {
        using var scope = NewDisposeScope();
        using var model = Create(name, 1, 2);
        model.eval();
        Tensor logits;
        using (no_grad()) logits = model.call(randn(1, 1, size, size));
        Assert.That(logits.shape, Is.EqualTo(new long[] { 1, 2, size, size }));
    }

    [Test]
    public void NonSquareInputKeepsItsShape()
    {
        using var scope = NewDisposeScope();
        foreach (var (name, h, w) in new[] { ("unetpp", 48, 80), ("deeplabv3plus", 40, 24), ("unet", 32, 64) })
        {
            using var model = Create(name, 1, 3);
            model.eval();
            using (no_grad())
                Assert.That(model.call(randn(2, 1, h, w)).shape, Is.EqualTo(new long[] { 2, 3, h, w }), name);
        }
    }

    [TestCase("unetpp", 100, 100, "multiples of 16")]
    [TestCase("unetpp", 384, 392, "multiples of 16")]
    [TestCase("unet", 8, 8, "multiples of 16")]
    [TestCase("deeplabv3plus", 100, 100, "multiples of 8")]
    [TestCase("deeplabv3plus", 384, 380, "multiples of 8")]
    public void UnsupportedSizeIsRejectedBeforeAnyConvolution(string name, int h, int w, string rule)
    {
        using var scope = NewDisposeScope();
        using var model = Create(name);
        int convCalls = 0;
        var hooks = model.modules().OfType<Conv2d>().Select(c => c.register_forward_hook((_, _, _) => convCalls++)).ToList();
        var ex = Assert.Throws<ArgumentException>(() => model.call(randn(1, 1, h, w)));
        foreach (var hook in hooks) hook.Dispose();
        Assert.That(ex!.Message, Does.Contain(name).And.Contain($"{h}×{w}").And.Contain(rule));
        Assert.That(convCalls, Is.Zero);
    }

    [Test]
    public void WrongChannelCountOrRankIsRejectedWithTheNetworkNamed()
    {
        using var scope = NewDisposeScope();
        using var model = Create("unet", inChannels: 1);
        Assert.That(Assert.Throws<ArgumentException>(() => model.call(randn(1, 3, 32, 32)))!.Message,
            Does.Contain("unet").And.Contain("expected 1 input channel"));
        Assert.That(Assert.Throws<ArgumentException>(() => model.call(randn(1, 32, 32)))!.Message,
            Does.Contain("unet").And.Contain("4-D"));
    }

    // ---------------------------------------------------------------- gradients, modes, checkpoints

    [TestCase("unetpp")]
    [TestCase("deeplabv3plus")]
    [TestCase("unet")]
    public void EveryUsedParameterGetsAFiniteNonZeroGradient(string name)
    {
        using var scope = NewDisposeScope();
        using var model = Create(name, 1, 2);
        model.train();
        var image = randn(2, 1, 32, 32);
        var label = randint(0, 2, [2, 32, 32]);
        F.cross_entropy(model.call(image), label).backward();

        var unused = model.UnusedParameterPrefixes;
        Assert.That(unused, Is.EqualTo(name == "deeplabv3plus" ? new[] { "pretrained.fc." } : Array.Empty<string>()));
        foreach (var (pname, p) in model.named_parameters())
        {
            using var grad = p.grad;
            if (unused.Any(prefix => pname.StartsWith(prefix, StringComparison.Ordinal)))
            {
                Assert.That(grad, Is.Null, $"{pname} is documented as unused but got a gradient");
                continue;
            }
            Assert.That(grad, Is.Not.Null, $"{pname} got no gradient");
            Assert.That(grad!.isfinite().all().item<bool>(), $"{pname} has a non-finite gradient");
            Assert.That(grad.abs().sum().item<float>(), Is.GreaterThan(0f), $"{pname} has an all-zero gradient");
        }
    }

    /// <summary>
    /// Eval mode is a pure function of the input. Training mode normalises with batch statistics, so it differs from eval
    /// (fresh running statistics are 0 and 1); only DeepLabV3+ has dropout, so only its training-mode output varies between calls.
    /// </summary>
    [TestCase("unetpp", false)]
    [TestCase("deeplabv3plus", true)]
    [TestCase("unet", false)]
    public void EvalIsDeterministicAndTrainingDiffers(string name, bool hasDropout)
    {
        using var scope = NewDisposeScope();
        using var model = Create(name, 1, 2);
        var x = randn(2, 1, 32, 32);
        using (no_grad())
        {
            model.eval();
            var e1 = model.call(x);
            var e2 = model.call(x);
            Assert.That(e1.equal(e2), "two eval passes differ");
            model.train();
            var t1 = model.call(x);
            var t2 = model.call(x);
            Assert.That(t1.equal(e1), Is.False, "training mode equals eval mode");
            Assert.That(t1.equal(t2), Is.EqualTo(!hasDropout), hasDropout ? "dropout should make training passes differ" : "no dropout, so training passes should agree");
        }
    }

    [TestCase("unetpp")]
    [TestCase("deeplabv3plus")]
    [TestCase("unet")]
    public void SafetensorsRoundTripReproducesEvalOutputsBitForBit(string name)
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(Path.GetTempPath(), $"meddistill-{name}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var source = Create(name, 1, 2, seed: 1);
            var x = randn(2, 1, 32, 32);
            using (no_grad())
            {
                source.train();
                source.call(x); // moves the running statistics away from their initial values
            }
            source.eval();
            Tensor expected;
            using (no_grad()) expected = source.call(x);
            source.save(path);

            using var target = Create(name, 1, 2, seed: 2);
            target.eval();
            using (no_grad()) Assert.That(target.call(x).equal(expected), Is.False, "another seed should give another network");
            target.load(path);
            using (no_grad()) Assert.That(target.call(x).equal(expected), "loaded network differs from the saved one");
        }
        finally
        {
            File.Delete(path);
        }
    }

    // ---------------------------------------------------------------- taps

    [Test]
    public void UNetPlusPlusTapShapes()
    {
        using var scope = NewDisposeScope();
        using var model = Create("unetpp", 1, 2);
        model.eval();
        int[] f = [8, 16, 32, 64, 128]; // 64..1024 × 0.125
        using (no_grad())
        {
            var maps = model.forward_features(randn(2, 1, 64, 64), [.. model.TapNames]);
            for (int i = 0; i <= 4; i++)
                for (int j = 0; i + j <= 4; j++)
                    Assert.That(maps[$"x{i}_{j}"].shape, Is.EqualTo(new long[] { 2, f[i], 64 >> i, 64 >> i }), $"x{i}_{j}");
            Assert.That(maps[SegmentationModel.EncoderTap].equal(maps["x4_0"]));
            Assert.That(maps[SegmentationModel.DecoderTap].equal(maps["x0_4"]));
            Assert.That(maps[SegmentationModel.LogitsTap].shape, Is.EqualTo(new long[] { 2, 2, 64, 64 }));
            Assert.That(maps[SegmentationModel.LogitsTap], Is.SameAs(maps.Logits));
        }
    }

    [Test]
    public void UNetTapShapes()
    {
        using var scope = NewDisposeScope();
        using var model = Create("unet", 1, 2);
        model.eval();
        using (no_grad())
        {
            var maps = model.forward_features(randn(1, 1, 64, 64), [.. model.TapNames]);
            var expected = new Dictionary<string, long[]>
            {
                ["enc1"] = [1, 8, 64, 64], ["enc2"] = [1, 16, 32, 32], ["enc3"] = [1, 32, 16, 16], ["enc4"] = [1, 64, 8, 8],
                ["encoder"] = [1, 128, 4, 4], ["up1"] = [1, 64, 8, 8], ["up2"] = [1, 32, 16, 16], ["up3"] = [1, 16, 32, 32],
                ["decoder"] = [1, 8, 64, 64], ["logits"] = [1, 2, 64, 64],
            };
            Assert.That(model.TapNames, Is.EquivalentTo(expected.Keys));
            foreach (var (tap, shape) in expected) Assert.That(maps[tap].shape, Is.EqualTo(shape), tap);
        }
    }

    [Test]
    public void DeepLabTapShapes()
    {
        using var scope = NewDisposeScope();
        using var model = Create("deeplabv3plus", 1, 2);
        model.eval();
        using (no_grad())
        {
            var maps = model.forward_features(randn(1, 1, 64, 64), [.. model.TapNames]);
            // Width 0.125: 32→4, 128→16, 728→91, 2048→256, ASPP and decoder 256→32; strides 2, 4, 8, 8, 8, 4.
            var expected = new Dictionary<string, long[]>
            {
                ["stem"] = [1, 4, 32, 32], ["low_level"] = [1, 16, 16, 16], ["mid_level"] = [1, 91, 8, 8], ["encoder"] = [1, 256, 8, 8],
                ["aspp"] = [1, 32, 8, 8], ["decoder"] = [1, 32, 16, 16], ["logits"] = [1, 2, 64, 64],
            };
            Assert.That(model.TapNames, Is.EquivalentTo(expected.Keys));
            foreach (var (tap, shape) in expected) Assert.That(maps[tap].shape, Is.EqualTo(shape), tap);
            // The decoder tap is the classifier's input: the 1×1 conv applied to it, resized ×4, gives the logits.
            var classifier = (Conv2d)model.get_submodule("head.block.4");
            var resized = F.interpolate(classifier.call(maps["decoder"]), [64, 64], mode: InterpolationMode.Bilinear, align_corners: true);
            Assert.That(resized.equal(maps.Logits));
        }
    }

    [Test]
    public void FullWidthDeepLabEncoderTapHas2048Channels()
    {
        using var scope = NewDisposeScope();
        using var model = Create("deeplabv3plus", 1, 2, 1.0);
        model.eval();
        using (no_grad())
        {
            var maps = model.forward_features(randn(1, 1, 32, 32), SegmentationModel.EncoderTap, "low_level", SegmentationModel.DecoderTap);
            Assert.That(maps[SegmentationModel.EncoderTap].shape, Is.EqualTo(new long[] { 1, 2048, 4, 4 }));
            Assert.That(maps["low_level"].shape, Is.EqualTo(new long[] { 1, 128, 8, 8 }));
            Assert.That(maps[SegmentationModel.DecoderTap].shape, Is.EqualTo(new long[] { 1, 256, 8, 8 }));
            Assert.That(maps.Logits.shape, Is.EqualTo(new long[] { 1, 2, 32, 32 }));
        }
    }

    // ---------------------------------------------------------------- registry and width rule

    [TestCase("unetpp", typeof(NestedUNet))]
    [TestCase("deeplabv3plus", typeof(DeepLabV3Plus))]
    [TestCase("unet", typeof(UNet))]
    [TestCase("UNetPP", typeof(NestedUNet))]
    public void RegistryBuildsEachTeacher(string name, Type type)
    {
        Assert.That(ModelRegistry.Names, Does.Contain(name.ToLowerInvariant()));
        using var model = ModelRegistry.Create(name, new ModelOptions(1, 2, SmallWidth));
        Assert.That(model, Is.InstanceOf(type));
        Assert.That(model.Name, Is.EqualTo(name.ToLowerInvariant()));
        Assert.That(model.TapNames, Is.SupersetOf(new[] { SegmentationModel.EncoderTap, SegmentationModel.DecoderTap, SegmentationModel.LogitsTap }));
    }

    [TestCase(64, 1.0, 64)]
    [TestCase(728, 0.125, 91)]  // 91.0
    [TestCase(48, 0.125, 6)]
    [TestCase(100, 0.125, 13)]  // 12.5 rounds away from zero
    [TestCase(1536, 0.3, 461)]  // 460.8
    [TestCase(32, 0.05, 4)]     // 1.6, raised to the minimum
    [TestCase(64, 2.0, 128)]
    public void ChannelWidthRule(int channels, double width, int expected) =>
        Assert.That(NetworkRules.ScaleChannels(channels, width), Is.EqualTo(expected));

    [Test]
    public void TinyWidthStillBuildsAValidNetwork()
    {
        using var scope = NewDisposeScope();
        foreach (var name in new[] { "unetpp", "deeplabv3plus", "unet" })
        {
            using var model = Create(name, 1, 2, 0.01);
            model.eval();
            using (no_grad()) Assert.That(model.call(randn(1, 1, 16, 16)).shape, Is.EqualTo(new long[] { 1, 2, 16, 16 }), name);
        }
    }
}
