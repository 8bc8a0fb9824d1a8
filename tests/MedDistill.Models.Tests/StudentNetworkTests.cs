using MedDistill.Models;
using MedDistill.Models.Networks;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Tests;

/// <summary>
/// The three students of the Affinity-KD paper. Parameter counts are checked against the paper's Table 1 (via the exact
/// figures in shared/notes/architectures.md) and against hand counts from the layer shapes; behaviour is checked on small
/// inputs so the whole fixture stays fast on two CPU cores.
/// </summary>
public class StudentNetworkTests
{
    private static readonly string[] students = ["espnet", "enet", "erfnet"];

    private string dir = null!;

    [SetUp]
    public void SetUp()
    {
        dir = Path.Combine(Path.GetTempPath(), "mdm-students-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
    }

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private static SegmentationModel Build(string name, int inChannels = 1, int classes = 2, double width = 1.0, long seed = 0)
    {
        manual_seed(seed);
        return ModelRegistry.Create(name, new ModelOptions(inChannels, classes, width));
    }

    private static Tensor Image(int batch, int inChannels, int h, int w, long seed = 123)
    {
        manual_seed(seed);
        return randn(batch, inChannels, h, w);
    }

    // ------------------------------------------------------------------ parameter counts

    // Table 1 figures (3 input channels, 2 classes; ERFNet also (3,1) and (1,2)), and the 1-channel counts training uses.
    // The 1-channel counts by hand, from where the input width enters each network:
    //  ESPNet, per input channel: level1 3×3 conv to 16 (144), b1 BR (3), level2_0 3×3 reduction to 12 (108), b2 BR (3),
    //    level3_0 3×3 reduction to 25 (225), level3_C 1×1 to c (c), decoder CBR 3×3 to c (9c) = 483 + 10c = 503 for c = 2,
    //    so (1,2) = 183,643 − 2·503 = 182,637. Per class count c (3 inputs, c < 5 so the decoder ESP block has no convs):
    //    encoder classifier 256c, level3_C 131c, br 2c, CBR 9c(19 + c) + 3c, three 2×2 deconvs 12c², BRs 6c + 3c + 3c
    //    = 575c + 21c²: 1,234 for c = 2, 596 for c = 1, so (3,1) = 183,643 − 638 = 183,005.
    //  ENet: only the initial conv, in × (16 − in) × 9: 351 for 3 channels, 135 for 1 → 353,761 − 216 = 353,545.
    //  ERFNet: only the initial conv with bias, in × (16 − in) × 9 + (16 − in): 364 vs 150 → 2,063,344 − 214 = 2,063,130,
    //    the published (1,2) figure.
    // All of these were also cross-checked against an independent PyTorch 1.13 reimplementation (not part of the suite).
    [TestCase("espnet", 3, 2, 183_643)]
    [TestCase("espnet", 1, 2, 182_637)]
    [TestCase("espnet", 3, 1, 183_005)]
    [TestCase("enet", 3, 2, 353_761)]
    [TestCase("enet", 1, 2, 353_545)]
    [TestCase("erfnet", 3, 2, 2_063_344)]
    [TestCase("erfnet", 3, 1, 2_063_150)]
    [TestCase("erfnet", 1, 2, 2_063_130)]
    public void ParameterCountsMatchThePublishedFigures(string name, int inChannels, int classes, long expected)
    {
        using var model = Build(name, inChannels, classes);
        Assert.That(model.parameter_count(), Is.EqualTo(expected));
    }

    [Test]
    public void PerModuleCountsMatchHandCounts()
    {
        using var enet = Build("enet", 3, 2);
        // Regular bottleneck (128, 32, 128): 1×1 4,096 + BN 64 + PReLU 1; 3×3 9,216 + 64 + 1; 1×1 4,096 + BN 256; PReLU 1.
        Assert.That(enet.get_submodule("bottleneck3_5").parameter_count(), Is.EqualTo(17_795));
        // Initial block: 3×3 conv 3→13 (351) + BN(16) (32) + one PReLU slope.
        Assert.That(enet.get_submodule("initial").parameter_count(), Is.EqualTo(384));
        // Asymmetric bottleneck: 5×1 and 1×5 convs of 32×32 (5,120 each) instead of the 3×3.
        Assert.That(enet.get_submodule("bottleneck2_3").parameter_count(), Is.EqualTo(17_795 - 9_216 + 2 * 5_120));
        Assert.That(enet.get_parameter("bottleneck2_3.conv2.0.weight").shape, Is.EqualTo(new long[] { 32, 32, 5, 1 }));
        Assert.That(enet.get_parameter("bottleneck2_3.conv2.1.weight").shape, Is.EqualTo(new long[] { 32, 32, 1, 5 }));

        using var erfnet = Build("erfnet", 3, 2);
        Assert.That(erfnet.get_submodule("encoder.output_conv").parameter_count(), Is.EqualTo(128 * 2 + 2));
        // Non-bottleneck-1D at 128 channels: four 3-tap convs (128·128·3 + 128 each) and two BNs.
        Assert.That(erfnet.get_submodule("encoder.layers.7").parameter_count(), Is.EqualTo(4 * (128 * 128 * 3 + 128) + 2 * 256));

        using var espnet = Build("espnet", 3, 2);
        // Level-3 ESP block (128 → 128): n = 25, n1 = 28; 1×1 128·25, d1 25·28·9, four 25·25·9, BR(128) = 384.
        Assert.That(espnet.get_submodule("encoder.level3.0").parameter_count(), Is.EqualTo(3_200 + 6_300 + 4 * 5_625 + 384));
        // The 2-class decoder ESP block (4 → 2) has zero-width branches: only its BR(2) (BN 4 + PReLU 2) holds parameters.
        Assert.That(espnet.get_submodule("combine_l2_l3.1").parameter_count(), Is.EqualTo(6));
    }

    [Test]
    public void ParameterNamesFollowTheReferenceImplementations()
    {
        using var espnet = Build("espnet", 3, 2);
        using var enet = Build("enet", 3, 2);
        using var erfnet = Build("erfnet", 3, 2);
        var espNames = espnet.named_parameters().Select(p => p.name).ToList();
        var enetNames = enet.named_parameters().Select(p => p.name).ToList();
        var erfNames = erfnet.named_parameters().Select(p => p.name).ToList();

        Assert.That(espNames, Is.SupersetOf(new[]
        {
            "encoder.level1.conv.weight", "encoder.level1.act.weight", "encoder.b1.bn.weight", "encoder.level2_0.c1.conv.weight",
            "encoder.level2_0.act.weight", "encoder.level2.1.d16.conv.weight", "encoder.level2.1.bn.act.weight",
            "encoder.level3.2.d4.conv.weight", "encoder.b3.bn.bias", "encoder.classifier.conv.weight", "level3_C.conv.weight",
            "br.weight", "conv.conv.weight", "up_l3.0.weight", "combine_l2_l3.0.act.weight", "combine_l2_l3.1.bn.bn.weight",
            "up_l2.0.weight", "up_l2.1.act.weight", "classifier.weight",
        }));
        Assert.That(espNames.Where(n => n.StartsWith("combine_l2_l3.1.")),
            Is.EqualTo(new[] { "combine_l2_l3.1.bn.bn.weight", "combine_l2_l3.1.bn.bn.bias", "combine_l2_l3.1.bn.act.weight" }));
        Assert.That(espNames[0], Is.EqualTo("encoder.level1.conv.weight"));
        Assert.That(espNames[^1], Is.EqualTo("classifier.weight"));

        Assert.That(enetNames, Is.SupersetOf(new[]
        {
            "initial.conv.weight", "initial.bn.weight", "initial.act.weight", "bottleneck1_0.conv_down.0.weight",
            "bottleneck1_0.conv_down.1.bias", "bottleneck1_0.conv1.2.weight", "bottleneck2_8.conv2.0.weight",
            "bottleneck3_5.conv3.1.weight", "bottleneck4_0.conv.0.weight", "bottleneck4_0.block.3.weight",
            "bottleneck5_1.act.weight", "fullconv.weight",
        }));
        Assert.That(enetNames.Any(n => n.Contains("bias") && n.EndsWith("conv.weight")), Is.False);
        Assert.That(enet.get_parameter("bottleneck2_8.conv2.0.weight").shape, Is.EqualTo(new long[] { 32, 32, 3, 3 }));
        Assert.That(enet.get_parameter("bottleneck4_0.block.3.weight").shape, Is.EqualTo(new long[] { 16, 16, 2, 2 }));

        Assert.That(erfNames, Is.SupersetOf(new[]
        {
            "encoder.initial_block.conv.weight", "encoder.initial_block.conv.bias", "encoder.initial_block.bn.weight",
            "encoder.layers.0.conv.weight", "encoder.layers.7.conv3x1_2.weight", "encoder.layers.14.conv1x3_2.bias",
            "encoder.output_conv.weight", "decoder.layers.0.conv.weight", "decoder.layers.5.bn2.bias",
            "decoder.output_conv.weight", "decoder.output_conv.bias",
        }));
        Assert.That(erfnet.get_parameter("encoder.layers.14.conv1x3_2.weight").shape, Is.EqualTo(new long[] { 128, 128, 1, 3 }));
        Assert.That(erfNames, Has.Count.EqualTo(erfNames.Distinct().Count()));
    }

    [Test]
    public void BindingRefusesZeroChannelConvolutions()
    {
        // Why ESPNet does not build its zero-width decoder branches (see ESPNet's summary): PyTorch builds them but cannot
        // run them, and our binding refuses them outright.
        Assert.Throws<ArgumentException>(() => nn.Conv2d(4, 0, 1));
        Assert.Throws<ArgumentException>(() => nn.Conv2d(0, 2, 3));
    }

    // ------------------------------------------------------------------ shapes and input checks

    [Test]
    public void OutputsHaveTheInputResolution([Values("espnet", "enet", "erfnet")] string name, [Values(384, 320, 256)] int size)
    {
        using var scope = NewDisposeScope();
        using var model = Build(name);
        model.eval();
        using var _ = no_grad();
        var logits = model.call(Image(1, 1, size, size));
        Assert.That(logits.shape, Is.EqualTo(new long[] { 1, 2, size, size }));
    }

    [Test]
    public void NonSquareInputsAndOtherChannelCountsWork([Values("espnet", "enet", "erfnet")] string name)
    {
        using var scope = NewDisposeScope();
        using var model = Build(name, inChannels: 3, classes: 4);
        model.eval();
        using var _ = no_grad();
        Assert.That(model.call(Image(2, 3, 32, 72)).shape, Is.EqualTo(new long[] { 2, 4, 32, 72 }));
    }

    [TestCase("espnet", "ESPNet")]
    [TestCase("enet", "ENet")]
    [TestCase("erfnet", "ERFNet")]
    public void UnsupportedInputsGiveClearErrors(string name, string display)
    {
        using var scope = NewDisposeScope();
        using var model = Build(name);
        var wrongSize = Assert.Throws<ArgumentException>(() => model.call(zeros(1, 1, 100, 100)))!;
        Assert.That(wrongSize.Message, Does.Contain(display).And.Contain("100×100").And.Contain("multiples of 8"));
        Assert.That(Assert.Throws<ArgumentException>(() => model.call(zeros(1, 1, 64, 36)))!.Message, Does.Contain("64×36"));
        Assert.That(Assert.Throws<ArgumentException>(() => model.call(zeros(1, 1, 0, 64)))!.Message, Does.Contain("0×64"));
        Assert.That(Assert.Throws<ArgumentException>(() => model.call(zeros(1, 3, 64, 64)))!.Message,
            Does.Contain(display).And.Contain("1 input channel").And.Contain("got 3"));
        Assert.That(Assert.Throws<ArgumentException>(() => model.call(zeros(1, 64, 64)))!.Message, Does.Contain("4-D"));
    }

    // ------------------------------------------------------------------ gradients

    private static IReadOnlyList<string> LogitIndependentPrefixes(SegmentationModel model) =>
        model is ESPNet esp ? [.. model.UnusedParameterPrefixes, .. esp.LogitIndependentParameterPrefixes] : model.UnusedParameterPrefixes;

    [TestCase("espnet", 2)]
    [TestCase("espnet", 5)]
    [TestCase("enet", 2)]
    [TestCase("erfnet", 2)]
    public void EveryUsedParameterGetsAFiniteGradient(string name, int classes)
    {
        using var scope = NewDisposeScope();
        using var model = Build(name, classes: classes, seed: 7);
        model.train();
        var x = Image(2, 1, 64, 64);
        manual_seed(11);
        var target = randint(0, classes, [2, 64, 64]);
        F.cross_entropy(model.call(x), target).backward();

        var without = LogitIndependentPrefixes(model);
        int checkedCount = 0;
        var zeroGradient = new List<string>();
        foreach (var (pname, p) in model.named_parameters())
        {
            var g = p.grad;
            if (without.Any(pname.StartsWith))
            {
                Assert.That(g, Is.Null, $"{pname} is documented as not reaching the logits but got a gradient");
                continue;
            }
            Assert.That(g, Is.Not.Null, $"{pname} got no gradient");
            Assert.That(g!.isfinite().all().item<bool>(), Is.True, $"{pname} has a non-finite gradient");
            checkedCount++;
            if (g.abs().sum().item<float>() == 0) zeroGradient.Add(pname);
        }
        if (name == "espnet" && classes == 2)
        {
            // What reaches the 2-class logits: encoder.level1 (conv, BN ×2, PReLU) 4, encoder.b1 3, the decoder ESP block's
            // BR 3, up_l2 (deconv + BR) 4, conv (CBR) 4, classifier 1.
            Assert.That(checkedCount, Is.EqualTo(19));
        }
        // All gradients are non-zero except, for 2-class ESPNet, those of the decoder path that the zero-width ESP block
        // feeds: at initialisation (BN shift 0) it carries exact zeros, so BN scales, PReLU slopes and the 2×2 deconvolution
        // it passes through have zero gradient; the BN shifts do not, and once they move the path carries a constant.
        string[] expectedZero = name == "espnet" && classes == 2
            ? ["combine_l2_l3.1.bn.bn.weight", "combine_l2_l3.1.bn.act.weight", "up_l2.0.weight", "up_l2.1.bn.weight", "up_l2.1.act.weight"]
            : [];
        Assert.That(zeroGradient, Is.EquivalentTo(expectedZero));
    }

    [Test]
    public void DocumentedUnusedParametersAreTheOnesNamedInTheNotes()
    {
        using var enet = Build("enet");
        using var erfnet = Build("erfnet");
        using var espnet2 = (ESPNet)Build("espnet", classes: 2);
        using var espnet5 = (ESPNet)Build("espnet", classes: 5);
        Assert.That(enet.UnusedParameterPrefixes, Is.EqualTo(new[] { "bottleneck3_5." }));
        Assert.That(erfnet.UnusedParameterPrefixes, Is.EqualTo(new[] { "encoder.output_conv." }));
        Assert.That(espnet2.UnusedParameterPrefixes, Is.Empty);
        Assert.That(espnet5.LogitIndependentParameterPrefixes, Is.Empty);
        // Each prefix names real parameters.
        foreach (var m in new SegmentationModel[] { enet, erfnet, espnet2 })
            foreach (var prefix in LogitIndependentPrefixes(m))
                Assert.That(m.named_parameters().Any(p => p.name.StartsWith(prefix)), Is.True, $"{m.Name}: {prefix} names no parameter");
    }

    [Test]
    public void EspNetEncoderLearnsThroughItsTapWhenTheLogitsCannotReachIt()
    {
        using var scope = NewDisposeScope();
        using var model = Build("espnet", classes: 2, seed: 3);
        model.train();
        var maps = model.forward_features(Image(2, 1, 64, 64), SegmentationModel.EncoderTap);
        maps[SegmentationModel.EncoderTap].square().mean().backward();
        foreach (var name in new[] { "encoder.level3.2.d16.conv.weight", "encoder.level2_0.c1.conv.weight", "encoder.b3.act.weight" })
        {
            var g = model.get_parameter(name).grad;
            Assert.That(g, Is.Not.Null, name);
            Assert.That(g!.abs().sum().item<float>(), Is.GreaterThan(0f), name);
        }
        Assert.That(model.get_parameter("classifier.weight").grad, Is.Null);
    }

    // ------------------------------------------------------------------ modes, determinism, checkpoints

    [Test]
    public void EvalIsDeterministicAndTrainDiffers([Values("espnet", "enet", "erfnet")] string name)
    {
        using var scope = NewDisposeScope();
        using var model = Build(name, seed: 5);
        var x = Image(2, 1, 64, 64);
        model.eval();
        Tensor first, second;
        using (no_grad())
        {
            first = model.call(x);
            second = model.call(x);
        }
        Assert.That(first.equal(second), Is.True, "two eval forwards differ");

        using var twin = Build(name, seed: 5);
        twin.eval();
        using (no_grad()) Assert.That(twin.call(x).equal(first), Is.True, "same seed, different network");

        model.train();
        Tensor trained;
        using (no_grad()) trained = model.call(x);
        Assert.That(trained.shape, Is.EqualTo(first.shape));
        Assert.That(trained.allclose(first, rtol: 1e-3, atol: 1e-4), Is.False, "train mode (batch statistics, dropout) gave the eval output");
    }

    [Test]
    public void StateDictRoundTripReproducesEvalOutputs([Values("espnet", "enet", "erfnet")] string name)
    {
        using var scope = NewDisposeScope();
        var x = Image(2, 1, 64, 64);
        using var source = Build(name, seed: 21);
        source.train();
        using (no_grad()) source.call(x); // moves the BatchNorm running statistics away from their initial values
        source.eval();
        Tensor expected;
        using (no_grad()) expected = source.call(x);
        string path = Path.Combine(dir, name + ".safetensors");
        source.save(path);

        using var restored = Build(name, seed: 99);
        restored.eval();
        using (no_grad()) Assert.That(restored.call(x).equal(expected), Is.False, "the fresh network already matched");
        restored.load(path);
        using (no_grad()) Assert.That(restored.call(x).equal(expected), Is.True);
        Assert.That(restored.state_dict().Keys, Is.EquivalentTo(source.state_dict().Keys));
    }

    // ------------------------------------------------------------------ feature taps

    [TestCase("espnet", new[] { "level1", "level2", "encoder", "decoder", "logits" },
        new[] { 2, 17, 32, 32 }, new[] { 2, 129, 16, 16 }, new[] { 2, 256, 8, 8 }, new[] { 2, 2, 32, 32 }, new[] { 2, 2, 64, 64 })]
    [TestCase("enet", new[] { "initial", "stage1", "stage2", "encoder", "up1", "decoder", "logits" },
        new[] { 2, 16, 32, 32 }, new[] { 2, 64, 16, 16 }, new[] { 2, 128, 8, 8 }, new[] { 2, 128, 8, 8 }, new[] { 2, 64, 16, 16 },
        new[] { 2, 16, 32, 32 }, new[] { 2, 2, 64, 64 })]
    [TestCase("erfnet", new[] { "initial", "stage1", "encoder", "up1", "decoder", "logits" },
        new[] { 2, 16, 32, 32 }, new[] { 2, 64, 16, 16 }, new[] { 2, 128, 8, 8 }, new[] { 2, 64, 16, 16 }, new[] { 2, 16, 32, 32 },
        new[] { 2, 2, 64, 64 })]
    public void FeatureTapsHaveTheDocumentedShapes(string name, string[] taps, params int[][] shapes)
    {
        using var scope = NewDisposeScope();
        using var model = Build(name, seed: 4);
        Assert.That(model.TapNames, Is.EqualTo(taps));
        model.eval();
        using var _ = no_grad();
        var x = Image(2, 1, 64, 64);
        var maps = model.forward_features(x, taps);
        for (int i = 0; i < taps.Length; i++)
            Assert.That(maps[taps[i]].shape, Is.EqualTo(shapes[i].Select(v => (long)v).ToArray()), taps[i]);
        Assert.That(maps[SegmentationModel.LogitsTap].equal(maps.Logits), Is.True);
        Assert.That(maps.Logits.equal(model.call(x)), Is.True, "capturing taps changed the output");

        var error = Assert.Throws<ArgumentException>(() => model.forward_features(x, "bottleneck"))!;
        Assert.That(error.Message, Does.Contain("bottleneck").And.Contain(name));
    }

    // ------------------------------------------------------------------ width multiplier

    [TestCase(0.5, new[] { 8, 32, 64 })]
    [TestCase(0.3, new[] { 5, 19, 38 })]   // 4.8 → 5, 19.2 → 19, 38.4 → 38
    [TestCase(0.01, new[] { 4, 5, 6 })]    // floors: 4, then one more than the width before (a down-sampler needs out > in)
    public void ErfNetWidthsFollowTheRoundingRule(double width, int[] widths)
    {
        using var model = (ERFNet)Build("erfnet", width: width);
        Assert.That(model.Widths, Is.EqualTo(widths));
        Assert.That(model.get_parameter("encoder.layers.0.conv.weight").shape,
            Is.EqualTo(new long[] { widths[1] - widths[0], widths[0], 3, 3 }));
    }

    [Test]
    public void EnetAndEspNetWidthsFollowTheRoundingRule()
    {
        using var enet = (ENet)Build("enet", width: 0.25);
        Assert.That(enet.Widths, Is.EqualTo(new[] { 4, 16, 32 }));
        // Bottleneck widths 4, 16, 32 → 1 (floor 2), 4, 8; the initial conv makes 4 − 1 channels beside the pooled image.
        Assert.That(enet.get_parameter("initial.conv.weight").shape, Is.EqualTo(new long[] { 3, 1, 3, 3 }));
        Assert.That(enet.get_parameter("bottleneck5_1.conv1.0.weight").shape, Is.EqualTo(new long[] { 2, 4, 1, 1 }));
        Assert.That(enet.get_parameter("bottleneck2_1.conv1.0.weight").shape, Is.EqualTo(new long[] { 8, 32, 1, 1 }));

        using var espnet = (ESPNet)Build("espnet", width: 0.1);
        // 1.6 → 2 (floor 4), 6.4 → 6, 12.8 → 13: every ESP branch keeps at least one channel (n = 1 and 2).
        Assert.That((espnet.Level1Channels, espnet.Level2Channels, espnet.Level3Channels), Is.EqualTo((4, 6, 13)));
        Assert.That(espnet.get_parameter("encoder.level3.0.d1.conv.weight").shape, Is.EqualTo(new long[] { 13 - 4 * 2, 2, 3, 3 }));
    }

    [Test]
    public void ThinNetworksRunAndShrink([Values("espnet", "enet", "erfnet")] string name, [Values(0.05, 0.25, 0.5)] double width)
    {
        using var scope = NewDisposeScope();
        using var full = Build(name);
        using var thin = Build(name, width: width);
        Assert.That(thin.parameter_count(), Is.LessThan(full.parameter_count()));
        thin.train();
        var logits = thin.call(Image(2, 1, 32, 32));
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 2, 32, 32 }));
        logits.sum().backward();
    }

    [Test]
    public void WidthOneIsThePublishedNetwork([Values("espnet", "enet", "erfnet")] string name)
    {
        using var a = Build(name, width: 1.0);
        using var b = Build(name);
        Assert.That(a.named_parameters().Select(p => (p.name, string.Join("x", p.parameter.shape))),
            Is.EqualTo(b.named_parameters().Select(p => (p.name, string.Join("x", p.parameter.shape)))));
    }

    // ------------------------------------------------------------------ registry

    [Test]
    public void RegistryResolvesTheStudents()
    {
        Assert.That(ModelRegistry.Names, Is.SupersetOf(students));
        var options = new ModelOptions(1, 2);
        using (var m = ModelRegistry.Create("espnet", options)) Assert.That(m, Is.TypeOf<ESPNet>());
        using (var m = ModelRegistry.Create("ENet", options)) Assert.That(m, Is.TypeOf<ENet>());
        using (var m = ModelRegistry.Create("erfnet", options))
        {
            Assert.That(m, Is.TypeOf<ERFNet>());
            Assert.That(m.Name, Is.EqualTo("erfnet"));
            Assert.That(m.Options, Is.EqualTo(options));
        }
        Assert.That(Assert.Throws<ArgumentException>(() => ModelRegistry.Create("espnet2", options))!.Message, Does.Contain("espnet2"));
    }
}
