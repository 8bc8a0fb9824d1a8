using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Torch.Tests;

/// <summary>
/// The CUDA path: the same computations on the GPU and the CPU must agree. Skipped, with the reason, when the
/// shim was built against a CPU-only libtorch or no GPU is visible (set LIBTORCH to a CUDA libtorch to run them).
/// </summary>
[Category("CUDA")]
public class CudaTests
{
    private DisposeScope scope = null!;

    [SetUp]
    public void RequireCuda()
    {
        if (!cuda.is_available())
            Assert.Ignore($"CUDA is not available to this libtorch ({__version__}): built without CUDA or no GPU visible; " +
                          "set LIBTORCH to a CUDA libtorch and run on a GPU machine to exercise these tests");
        scope = NewDisposeScope();
        manual_seed(3);
    }

    [TearDown]
    public void CloseScope() => scope?.Dispose();

    [Test]
    public void RoundTripsToTheGpuAndBack()
    {
        var x = tensor(new float[] { 1, 2, 3 });
        var g = x.cuda();
        Assert.That(g.device.Type, Is.EqualTo(DeviceType.CUDA));
        Assert.That(g.is_cuda, Is.True);
        Assert.That((g * 2).cpu().ToArray<float>(), Is.EqualTo(new float[] { 2, 4, 6 }));
        Assert.That(cuda.device_count(), Is.GreaterThan(0));
    }

    [Test]
    public void ConvolutionAndItsGradientMatchTheCpu()
    {
        var x = randn([2, 3, 16, 16], ScalarType.Float64);
        var w = randn([4, 3, 3, 3], ScalarType.Float64);
        var xc = x.detach().requires_grad_();
        var xg = x.cuda().detach().requires_grad_();
        F.conv2d(xc, w, padding: [1, 1]).sum().backward();
        F.conv2d(xg, w.cuda(), padding: [1, 1]).sum().backward();
        var cpuGrad = xc.grad!.ToArray<double>();
        var gpuGrad = xg.grad!.cpu().ToArray<double>();
        Assert.That(gpuGrad, Is.EqualTo(cpuGrad).Within(1e-9));
    }

    [Test]
    public void DeviceMismatchIsATypedError()
    {
        var a = ones(3).cuda();
        var b = ones(3);
        Assert.Throws<TorchException>(() => F.conv2d(randn(1, 1, 4, 4).cuda(), randn(1, 1, 3, 3)));
        Assert.That(() => _ = a.matmul(b), Throws.InstanceOf<TorchException>());
    }

    [Test]
    public void SeededRandomNumbersRepeatOnTheGpu()
    {
        manual_seed(11);
        var first = randn([1000], device: new Device(DeviceType.CUDA, 0)).cpu().ToArray<float>();
        manual_seed(11);
        var second = randn([1000], device: new Device(DeviceType.CUDA, 0)).cpu().ToArray<float>();
        Assert.That(second, Is.EqualTo(first));
    }
}
