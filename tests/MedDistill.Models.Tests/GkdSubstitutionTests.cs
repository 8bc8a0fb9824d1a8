namespace MedDistill.Models.Tests;

/// <summary>
/// forward_substituted, which GKD's header exchange runs: the network continues from the given tensor at the encoder tap,
/// so its own value reproduces the plain forward bit for bit, another value changes it, and gradients reach the replacement
/// but not frozen parameters.
/// </summary>
public class GkdSubstitutionTests
{
    private static readonly string[] networks = ["unet", "enet", "erfnet"];

    private static SegmentationModel Build(string name)
    {
        manual_seed(11);
        var model = ModelRegistry.Create(name, new ModelOptions(1, 2, 0.125));
        model.eval();  // dropout off: two forwards of one input must agree
        return model;
    }

    [Test]
    public void OwnEncoderValueReproducesTheLogitsExactly([ValueSource(nameof(networks))] string name)
    {
        using var model = Build(name);
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 32, 32);
        var plain = model.forward_features(x, SegmentationModel.EncoderTap);
        var own = plain[SegmentationModel.EncoderTap].detach().clone();
        var substituted = model.forward_substituted(x, SegmentationModel.EncoderTap, own, SegmentationModel.EncoderTap);
        Assert.That(substituted.Logits.detach().ToArray<float>(), Is.EqualTo(plain.Logits.detach().ToArray<float>()));
        Assert.That(ReferenceEquals(substituted[SegmentationModel.EncoderTap], own), "the tap records the value the network went on with");
    }

    [Test]
    public void AnotherValueChangesTheLogits([ValueSource(nameof(networks))] string name)
    {
        using var model = Build(name);
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 32, 32);
        var plain = model.forward_features(x, SegmentationModel.EncoderTap);
        var other = randn_like(plain[SegmentationModel.EncoderTap]);
        var substituted = model.forward_substituted(x, SegmentationModel.EncoderTap, other);
        var a = plain.Logits.detach().ToArray<float>();
        var b = substituted.Logits.detach().ToArray<float>();
        Assert.That(a.Zip(b).Count(p => p.First != p.Second), Is.GreaterThan(a.Length / 2));
        // The network is left as it was: a plain forward afterwards is the plain forward again.
        Assert.That(model.forward_features(x).Logits.detach().ToArray<float>(), Is.EqualTo(a));
    }

    [Test]
    public void GradientReachesTheReplacementButNotFrozenParameters([ValueSource(nameof(networks))] string name)
    {
        using var model = Build(name);
        using var scope = NewDisposeScope();
        var x = randn(2, 1, 32, 32);
        Tensor encoder;
        using (no_grad()) encoder = model.forward_features(x, SegmentationModel.EncoderTap)[SegmentationModel.EncoderTap];
        foreach (var p in model.parameters()) p.requires_grad_(false);
        var replacement = randn_like(encoder).requires_grad_();
        model.forward_substituted(x, SegmentationModel.EncoderTap, replacement).Logits.square().sum().backward();
        Assert.That(replacement.grad, Is.Not.Null);
        Assert.That(replacement.grad!.abs().sum().item<float>(), Is.GreaterThan(0f));
        Assert.That(model.parameters().All(p => p.grad is null), "a frozen network's parameters get no gradient");
    }

    [Test]
    public void TrainableParametersAfterTheTapLearnAndThoseBeforeDoNot()
    {
        using var model = Build("unet");
        using var scope = NewDisposeScope();
        var x = randn(1, 1, 32, 32);
        var replacement = model.forward_features(x, SegmentationModel.EncoderTap)[SegmentationModel.EncoderTap].detach().clone();
        foreach (var p in model.parameters()) p.grad = null;
        model.forward_substituted(x, SegmentationModel.EncoderTap, replacement).Logits.sum().backward();
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.That(named["outc.conv.weight"].grad, Is.Not.Null, "the decoder continues from the replacement");
        Assert.That(named.Where(p => p.Key.StartsWith("down4.")).All(p => p.Value.grad is null), "the encoder's output was discarded");
    }

    [Test]
    public void BadSubstitutionsAreRejectedClearly()
    {
        using var model = Build("enet");
        using var scope = NewDisposeScope();
        var x = randn(1, 1, 32, 32);
        var shape = model.forward_features(x, SegmentationModel.EncoderTap)[SegmentationModel.EncoderTap].shape;
        var wrong = zeros(1, 3, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => model.forward_substituted(x, SegmentationModel.EncoderTap, wrong))!;
        Assert.That(e.Message, Does.Contain("[1, 3, 4, 4]").And.Contain("[" + string.Join(", ", shape) + "]").And.Contain("encoder"));
        Assert.That(() => model.forward_substituted(x, "nope", wrong), Throws.ArgumentException.With.Message.Contain("no feature tap 'nope'"));
        Assert.That(() => model.forward_substituted(x, SegmentationModel.LogitsTap, wrong), Throws.ArgumentException);
        // A failed call leaves nothing behind.
        Assert.That(model.forward_features(x).Logits.shape, Is.EqualTo(new long[] { 1, 2, 32, 32 }));
    }
}
