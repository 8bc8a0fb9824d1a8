namespace MedDistill.Models.Tests;

/// <summary>
/// Without gradients, a network's submodules free their intermediates as they return (nn.Module.free_intermediates_without_grad),
/// but the feature taps forward_features hands out are intermediates of the network's own forward: they must stay valid in
/// the caller's scope, with the same values as with gradients on.
/// </summary>
public class NoGradTapTests
{
    [Test]
    public void TapsOutliveTheForwardWithoutGrad([Values("espnet", "enet", "erfnet", "unetpp", "deeplabv3plus", "unet", "resnet18-unet", "mobilenetv2-unet")] string name)
    {
        manual_seed(5);
        using var model = ModelRegistry.Create(name, new ModelOptions(1, 2, 0.125));
        model.eval();
        using var scope = NewDisposeScope();
        var x = randn(1, 1, 32, 32);
        var taps = model.TapNames.ToArray();
        FeatureMaps withoutGrad;
        using (no_grad()) withoutGrad = model.forward_features(x, taps);
        var withGrad = model.forward_features(x, taps);
        foreach (var tap in taps)
        {
            Assert.That(withoutGrad[tap].IsInvalid, Is.False, $"{name}: tap {tap} was freed");
            Assert.That(withoutGrad[tap].ToArray<float>(), Is.EqualTo(withGrad[tap].detach().ToArray<float>()), $"{name}: tap {tap}");
        }
        Assert.That(withoutGrad.Logits.ToArray<float>(), Is.EqualTo(withGrad.Logits.detach().ToArray<float>()));
    }
}
