namespace MedDistill.Torch.Tests;

public class CoreTests
{
    [Test]
    public void RoundTripsValuesThroughNativeMemory()
    {
        using var t = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.That(t.shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(t.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(t.ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
    }

    [Test]
    public void ArithmeticBroadcastsLikePyTorch()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        var b = tensor(new float[] { 10, 20 }, 1, 2);
        Assert.That(((a + b) * 2 - 1).ToArray<float>(), Is.EqualTo(new float[] { 21, 43, 25, 47 }));
        Assert.That((1 - a).ToArray<float>(), Is.EqualTo(new float[] { 0, -1, -2, -3 }));
        Assert.That((a > 2).ToArray<bool>(), Is.EqualTo(new[] { false, false, true, true }));
    }

    [Test]
    public void IntegralScalarKeepsIntegralDtype()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new long[] { 1, 2 });
        Assert.That((a + 1).dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That((a + 1.5).dtype, Is.EqualTo(ScalarType.Float32));
    }

    [Test]
    public void ShapeMismatchBecomesTypedExceptionWithLibtorchMessage()
    {
        using var scope = NewDisposeScope();
        var a = zeros(2, 3);
        var b = zeros(4, 5);
        var ex = Assert.Throws<TorchException>(() => _ = a + b);
        Assert.That(ex!.Message, Does.Contain("must match the size"));
    }

    [Test]
    public void DisposeScopeFreesEverythingButWhatMovesOut()
    {
        Tensor kept, dropped;
        using (var scope = NewDisposeScope())
        {
            dropped = ones(3);
            kept = (dropped * 2).MoveToOuterDisposeScope();
            Assert.That(scope.Count, Is.EqualTo(1));
        }
        Assert.That(dropped.IsInvalid, Is.True);
        Assert.That(kept.IsInvalid, Is.False);
        Assert.That(kept.ToArray<float>(), Is.EqualTo(new float[] { 2, 2, 2 }));
        kept.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = kept.shape);
    }

    [Test]
    public void BackwardComputesGradient()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new double[] { 1, 2, 3 }, requires_grad: true);
        var y = x * x;
        y.sum().backward();
        Assert.That(x.grad!.ToArray<double>(), Is.EqualTo(new double[] { 2, 4, 6 }));
    }
}

public class CreationTests
{
    [Test]
    public void FactoriesHonourRequiresGrad()
    {
        using var scope = NewDisposeScope();
        Assert.That(zeros([2], requires_grad: true).requires_grad, Is.True);
        Assert.That(randn([2], requires_grad: true).requires_grad, Is.True);
        Assert.That(full([2], 3.0, requires_grad: true).requires_grad, Is.True);
        Assert.That(arange(0.0, 3.0, 1.0, requires_grad: true).requires_grad, Is.True);
        Assert.That(ones([2]).requires_grad, Is.False);
    }

    [Test]
    public void SameSeedSameNumbers()
    {
        using var scope = NewDisposeScope();
        manual_seed(42);
        var a = randn([64]).ToArray<float>();
        manual_seed(42);
        var b = randn([64]).ToArray<float>();
        Assert.That(b, Is.EqualTo(a));
        Assert.That(randn([64]).ToArray<float>(), Is.Not.EqualTo(a));
    }
}
