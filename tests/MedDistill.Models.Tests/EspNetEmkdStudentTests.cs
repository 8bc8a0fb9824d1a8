using MedDistill.Models;
using MedDistill.Models.Networks;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Models.Tests;

/// <summary>
/// <c>espnet-emkd</c>: EagleMIT/EMKD's ESPNet, whose decoder ESP block has 5 outputs instead of c (docs/models.md). The
/// expected figures are counted by hand from the layer shapes, not read off the implementation.
/// </summary>
public class EspNetEmkdStudentTests
{
    private static ESPNet Build(string name, int inChannels = 1, int classes = 2, double width = 1.0, long seed = 0)
    {
        manual_seed(seed);
        return (ESPNet)ModelRegistry.Create(name, new ModelOptions(inChannels, classes, width));
    }

    private static Tensor Image(int batch, int inChannels, int h, int w, long seed = 123)
    {
        manual_seed(seed);
        return randn(batch, inChannels, h, w);
    }

    // ------------------------------------------------------------------ parameter counts

    // The whole network by hand, 3 inputs, 2 classes, width 1 (convs bias-free; BN 2 per channel, PReLU 1 per channel):
    //  encoder
    //   level1     CBR 3→16 3×3: 432 + BN 32 + PReLU 16                                                   =     480
    //   b1         BR(19)                                                                                 =      57
    //   level2_0   down-sampler 19→64 (n 12, n1 16): 3×3 19·12·9 2,052; d1 12·16·9 1,728;
    //              d2..d16 4·12·12·9 5,184; BN 128 + PReLU 64                                             =   9,156
    //   level2     2 × ESP 64→64: 1×1 64·12 768 + 1,728 + 5,184 + BR(64) 192 = 7,872                      =  15,744
    //   b2         BR(131)                                                                                =     393
    //   level3_0   down-sampler 131→128 (n 25, n1 28): 3×3 131·25·9 29,475; d1 25·28·9 6,300;
    //              d2..d16 4·25·25·9 22,500; BN 256 + PReLU 128                                           =  58,659
    //   level3     3 × ESP 128→128: 1×1 128·25 3,200 + 6,300 + 22,500 + BR(128) 384 = 32,384             =  97,152
    //   b3         BR(256)                                                                                =     768
    //   classifier 1×1 256→2                                                                              =     512
    //                                                                                          encoder    = 182,921
    //  decoder
    //   level3_C   1×1 131→2                                                                              =     262
    //   br         BN(2)                                                                                  =       4
    //   conv       CBR 21→2 3×3: 378 + 4 + 2                                                              =     384
    //   up_l3      deconv 2→2 2×2                                                                         =      16
    //   combine    BR(4) 12; ESP 4→5 (n 1, n1 1): 1×1 4·1 4, d1..d16 5·9 45, BR(5) 15 = 64              =      76
    //   up_l2      deconv 5→2 2×2 40 + BR(2) 6                                                            =      46
    //   classifier deconv 2→2 2×2                                                                         =      16
    //                                                                                          decoder    =     804
    //  total 183,725. (espnet differs only in the ESP block, BR(2) = 6, and a 2→2 deconv, 16: 58 + 24 = 82 fewer.)
    // One input channel: 503 fewer per input channel (the figure StudentNetworkTests derives for espnet; the EMKD block
    // does not see the input width) → 182,719. One class (3 in): espnet's 183,005 plus 60 + 19·1 − 4·1 = 75 (below).
    [TestCase(3, 2, 183_725)]
    [TestCase(1, 2, 182_719)]
    [TestCase(3, 1, 183_080)]
    public void ParameterCountsMatchTheHandCount(int inChannels, int classes, long expected)
    {
        using var model = Build("espnet-emkd", inChannels, classes);
        Assert.That(model.parameter_count(), Is.EqualTo(expected));
    }

    // EMKD − espnet, per class count c. Below 5 classes espnet's block is BR(c) (3c) and its deconv c→c (4c²); EMKD's block
    // is 1×1 2c→1 (2c) + five 1→1 3×3 (45) + BR(5) (15) and its deconv 5→c (20c): 60 + 19c − 4c².
    // c = 5: both blocks are 10→5 (n 1, n1 1) and both deconvs 5→5: no difference.
    // c = 6: espnet 12→6 (n 1, n1 2): 12 + 18 + 36 + BR 18 = 84, deconv 144; EMKD 12 + 60 = 72, deconv 120: −36.
    // c = 7: espnet 14→7 (n 1, n1 3): 14 + 27 + 36 + BR 21 = 98, deconv 196; EMKD 14 + 60 = 74, deconv 140: −80.
    // The encoder and the rest of the decoder are identical, so the difference holds for any width and input count.
    [TestCase(1, 75)]
    [TestCase(2, 82)]
    [TestCase(3, 81)]
    [TestCase(4, 72)]
    [TestCase(5, 0)]
    [TestCase(6, -36)]
    [TestCase(7, -80)]
    public void OnlyTheDecoderBlockAndTheDeconvolutionAfterItDiffer(int classes, long emkdMinusEspnet)
    {
        foreach (var (inChannels, width) in new[] { (3, 1.0), (1, 0.25) })
        {
            using var emkd = Build("espnet-emkd", inChannels, classes, width);
            using var espnet = Build("espnet", inChannels, classes, width);
            Assert.That(emkd.parameter_count() - espnet.parameter_count(), Is.EqualTo(emkdMinusEspnet), $"in {inChannels}, width {width}");
        }
    }

    [Test]
    public void TheWidenedBlockHasEmkdsShapesNamesAndOrder()
    {
        using var emkd = Build("espnet-emkd", 3, 2);
        using var espnet = Build("espnet", 3, 2);
        Assert.That(emkd.DecoderBlockChannels, Is.EqualTo(5));
        Assert.That(espnet.DecoderBlockChannels, Is.EqualTo(2));
        Assert.That(emkd.get_submodule("combine_l2_l3.1").parameter_count(), Is.EqualTo(64));
        Assert.That(emkd.get_parameter("combine_l2_l3.1.c1.conv.weight").shape, Is.EqualTo(new long[] { 1, 4, 1, 1 }));
        foreach (var branch in new[] { "d1", "d2", "d4", "d8", "d16" })
            Assert.That(emkd.get_parameter($"combine_l2_l3.1.{branch}.conv.weight").shape, Is.EqualTo(new long[] { 1, 1, 3, 3 }), branch);
        Assert.That(emkd.get_parameter("combine_l2_l3.1.bn.bn.weight").shape, Is.EqualTo(new long[] { 5 }));
        Assert.That(emkd.get_parameter("combine_l2_l3.1.bn.act.weight").shape, Is.EqualTo(new long[] { 5 }));
        // ConvTranspose2d weights are (in, out, kH, kW): 5 channels in, 2 classes out.
        Assert.That(emkd.get_parameter("up_l2.0.weight").shape, Is.EqualTo(new long[] { 5, 2, 2, 2 }));
        Assert.That(espnet.get_parameter("up_l2.0.weight").shape, Is.EqualTo(new long[] { 2, 2, 2, 2 }));

        // State-dict order as EMKD's module would give it: espnet's names with the block's convolutions, registered in its
        // __init__ order (c1, d1, d2, d4, d8, d16, then bn), in front of the block's BR.
        var expected = espnet.named_parameters().Select(p => p.name).ToList();
        int at = expected.IndexOf("combine_l2_l3.1.bn.bn.weight");
        expected.InsertRange(at, new[] { "c1", "d1", "d2", "d4", "d8", "d16" }.Select(b => $"combine_l2_l3.1.{b}.conv.weight"));
        Assert.That(emkd.named_parameters().Select(p => p.name), Is.EqualTo(expected));
        Assert.That(emkd.state_dict().Keys.Where(k => k.StartsWith("combine_l2_l3.1.bn.bn.")),
            Is.EqualTo(new[] { "combine_l2_l3.1.bn.bn.weight", "combine_l2_l3.1.bn.bn.bias", "combine_l2_l3.1.bn.bn.running_mean",
                "combine_l2_l3.1.bn.bn.running_var", "combine_l2_l3.1.bn.bn.num_batches_tracked" }));
    }

    // ------------------------------------------------------------------ gradients

    [Test]
    public void TwoClassLogitsReachEveryParameter()
    {
        using var scope = NewDisposeScope();
        using var espnet = Build("espnet", classes: 2);
        Assert.That(espnet.LogitIndependentParameterPrefixes, Is.Not.Empty, "the contrast this variant exists for");

        using var model = Build("espnet-emkd", classes: 2, seed: 7);
        Assert.That(model.LogitIndependentParameterPrefixes, Is.Empty);
        Assert.That(model.UnusedParameterPrefixes, Is.Empty);
        model.train();
        var x = Image(2, 1, 64, 64);
        manual_seed(11);
        var target = randint(0, 2, [2, 64, 64]);
        F.cross_entropy(model.call(x), target).backward();

        var withoutGradient = new List<string>();
        int parameters = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            parameters++;
            var g = p.grad;
            if (g is null || !g.isfinite().all().item<bool>() || g.abs().sum().item<float>() == 0) withoutGradient.Add(name);
        }
        // espnet's parameter tensors plus the block's six convolutions, all of them with a gradient: among them the deep
        // path that espnet's 2-class logits never reach (encoder.level2*, level3*, level3_C, br, up_l3, ...).
        Assert.That(parameters, Is.EqualTo(espnet.named_parameters().Count() + 6));
        Assert.That(withoutGradient, Is.Empty);
        foreach (var deep in new[] { "encoder.level3.2.d16.conv.weight", "encoder.classifier.conv.weight", "level3_C.conv.weight", "up_l3.0.weight" })
            Assert.That(model.get_parameter(deep).grad!.abs().sum().item<float>(), Is.GreaterThan(0f), deep);
    }

    [Test]
    public void DeepEncoderChangesTheTwoClassLogits()
    {
        // The behavioural side of the gradient test: perturbing a level-3 weight moves espnet-emkd's logits but not espnet's.
        using var scope = NewDisposeScope();
        var x = Image(1, 1, 32, 32);
        foreach (var (name, moves) in new[] { ("espnet-emkd", true), ("espnet", false) })
        {
            using var model = Build(name, seed: 2);
            model.eval();
            using var _ = no_grad();
            var before = model.call(x);
            model.get_parameter("encoder.level3.0.c1.conv.weight").mul_(3.0);
            var after = model.call(x);
            Assert.That(after.equal(before), Is.EqualTo(!moves), name);
        }
    }

    // ------------------------------------------------------------------ shapes, width, taps

    [TestCase(1, 2, 64, 64)]
    [TestCase(3, 2, 32, 72)]
    [TestCase(1, 7, 40, 24)]
    public void OutputsHaveTheInputResolutionAndClassCount(int inChannels, int classes, int h, int w)
    {
        using var scope = NewDisposeScope();
        using var model = Build("espnet-emkd", inChannels, classes);
        model.eval();
        using var _ = no_grad();
        Assert.That(model.call(Image(2, inChannels, h, w)).shape, Is.EqualTo(new long[] { 2, classes, h, w }));
        Assert.That(model.InputSizeMultiple, Is.EqualTo(8));
        Assert.That(Assert.Throws<ArgumentException>(() => model.call(zeros(1, inChannels, 36, 64)))!.Message, Does.Contain("36×64"));
    }

    [Test]
    public void QuarterWidthBuildsAndTrainsOnASmallImage()
    {
        using var scope = NewDisposeScope();
        using var model = Build("espnet-emkd", 1, 2, width: 0.25);
        // 16·0.25 = 4, 64·0.25 = 16, 128·0.25 = 32; the decoder block keeps its 5 channels.
        Assert.That((model.Level1Channels, model.Level2Channels, model.Level3Channels, model.DecoderBlockChannels), Is.EqualTo((4, 16, 32, 5)));
        Assert.That(model.get_parameter("encoder.level3.0.d1.conv.weight").shape, Is.EqualTo(new long[] { 32 - 4 * 6, 6, 3, 3 }));
        Assert.That(model.parameter_count(), Is.LessThan(182_719));
        model.train();
        var logits = model.call(Image(1, 1, 32, 32));
        Assert.That(logits.shape, Is.EqualTo(new long[] { 1, 2, 32, 32 }));
        logits.square().mean().backward();
        Assert.That(model.get_parameter("encoder.level3.2.d16.conv.weight").grad, Is.Not.Null);
    }

    [Test]
    public void TapsAreEspNetsTaps()
    {
        using var scope = NewDisposeScope();
        using var model = Build("espnet-emkd", seed: 4);
        using var espnet = Build("espnet", seed: 4);
        Assert.That(model.TapNames, Is.EqualTo(espnet.TapNames));
        model.eval();
        using var _ = no_grad();
        var maps = model.forward_features(Image(2, 1, 64, 64), [.. model.TapNames]);
        long[][] shapes = [[2, 17, 32, 32], [2, 129, 16, 16], [2, 256, 8, 8], [2, 2, 32, 32], [2, 2, 64, 64]];
        for (int i = 0; i < shapes.Length; i++)
            Assert.That(maps[model.TapNames[i]].shape, Is.EqualTo(shapes[i]), model.TapNames[i]);
    }

    // ------------------------------------------------------------------ relation to espnet

    [Test]
    public void FiveClassesGiveExactlyEspNet()
    {
        // With c = 5 EMKD's literal 5 is c: same modules, same registration order, so the same seed gives the same weights.
        using var scope = NewDisposeScope();
        using var emkd = Build("espnet-emkd", 1, 5, seed: 9);
        using var espnet = Build("espnet", 1, 5, seed: 9);
        var a = emkd.named_parameters().ToList();
        var b = espnet.named_parameters().ToList();
        Assert.That(a.Select(p => p.name), Is.EqualTo(b.Select(p => p.name)));
        for (int i = 0; i < a.Count; i++)
            Assert.That(a[i].parameter.equal(b[i].parameter), Is.True, a[i].name);
        var x = Image(2, 1, 32, 32);
        emkd.eval();
        espnet.eval();
        using var _ = no_grad();
        Assert.That(emkd.call(x).equal(espnet.call(x)), Is.True);
    }

    [Test]
    public void MoreThanFiveClassesKeepEmkdsFiveChannelBlock()
    {
        using var emkd = Build("espnet-emkd", 1, 7);
        using var espnet = Build("espnet", 1, 7);
        Assert.That(emkd.get_parameter("combine_l2_l3.1.d1.conv.weight").shape, Is.EqualTo(new long[] { 1, 1, 3, 3 }));
        Assert.That(espnet.get_parameter("combine_l2_l3.1.d1.conv.weight").shape, Is.EqualTo(new long[] { 3, 1, 3, 3 }));
        Assert.That(emkd.get_parameter("up_l2.0.weight").shape, Is.EqualTo(new long[] { 5, 7, 2, 2 }));
        Assert.That(espnet.get_parameter("up_l2.0.weight").shape, Is.EqualTo(new long[] { 7, 7, 2, 2 }));
    }

    // ------------------------------------------------------------------ registry

    [Test]
    public void RegistryBuildsTheVariantUnderItsOwnName()
    {
        var options = new ModelOptions(3, 2, 0.5);
        Assert.That(ModelRegistry.Names, Does.Contain("espnet-emkd").And.Contain("espnet"));
        using var model = ModelRegistry.Create("ESPNet-EMKD", options);
        Assert.That(model, Is.TypeOf<ESPNet>());
        Assert.That(model.Name, Is.EqualTo("espnet-emkd"));
        Assert.That(model.Options, Is.EqualTo(options));
        using var plain = ModelRegistry.Create("espnet", options);
        Assert.That(plain.Name, Is.EqualTo("espnet"));
        Assert.That(((ESPNet)plain).DecoderBlockChannels, Is.EqualTo(2));
    }
}
