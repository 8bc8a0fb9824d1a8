namespace MedDistill.Torch.Tests;

public class AutocastTests
{
    [Test]
    public void CpuAutocastRunsConvolutionsInBfloat16AndRestoresStateOnExit()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 8, 8);
        var w = randn(4, 3, 3, 3);
        Assert.That(get_autocast_state(DeviceType.CPU).Enabled, Is.False);
        Tensor inside, outside;
        using (autocast(DeviceType.CPU))
        {
            Assert.That(get_autocast_state(DeviceType.CPU), Is.EqualTo((true, ScalarType.BFloat16)));
            inside = nn.functional.conv2d(x, w);
            // Ops outside autocast's lower-precision list keep float32.
            Assert.That(x.exp().dtype, Is.EqualTo(ScalarType.Float32));
        }
        outside = nn.functional.conv2d(x, w);
        Assert.Multiple(() =>
        {
            Assert.That(inside.dtype, Is.EqualTo(ScalarType.BFloat16));
            Assert.That(outside.dtype, Is.EqualTo(ScalarType.Float32));
            Assert.That(get_autocast_state(DeviceType.CPU).Enabled, Is.False);
            // bfloat16 keeps about 3 significant digits.
            Assert.That(inside.to(ScalarType.Float32).sub(outside).abs().max().item<float>(),
                Is.LessThan(0.05f * outside.abs().max().item<float>()));
        });
    }

    [Test]
    public void NestedRegionsRestoreTheOuterState()
    {
        using (autocast(DeviceType.CPU))
        {
            using (autocast(DeviceType.CPU, enabled: false))
                Assert.That(get_autocast_state(DeviceType.CPU).Enabled, Is.False);
            Assert.That(get_autocast_state(DeviceType.CPU).Enabled, Is.True);
        }
        Assert.That(get_autocast_state(DeviceType.CPU).Enabled, Is.False);
    }

    [Test]
    public void GradientsFlowBackToFloat32ParametersThroughAnAutocastForward()
    {
        using var scope = NewDisposeScope();
        var w = randn(4, 3, 3, 3).requires_grad_(true);
        Tensor loss;
        using (autocast(DeviceType.CPU))
            loss = nn.functional.conv2d(randn(1, 3, 6, 6), w).to(ScalarType.Float32).square().mean();
        loss.backward();
        Assert.That(w.grad, Is.Not.Null);
        Assert.That(w.grad!.dtype, Is.EqualTo(ScalarType.Float32));
    }

    [Test]
    public void OnlyLowerPrecisionFloatTypesAreAccepted() =>
        Assert.Throws<ArgumentException>(() => autocast(DeviceType.CPU, ScalarType.Float64));
}
