using MedDistill.Torch.Modules;
using MedDistill.Torch.Serialization;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Torch.Tests;

/// <summary>The engine's parts together: a small conv net trained with Adam, each step in a dispose scope.</summary>
public class TrainingTests
{
    private static Sequential SmallNet() => nn.Sequential(
        nn.Conv2d(1, 8, 3, padding: 1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride: 2, padding: 1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.ConvTranspose2d(8, 8, 2, stride: 2), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 2, 3, padding: 1));

    /// <summary>A learnable toy segmentation: the label is 1 where the image is bright.</summary>
    private static (Tensor image, Tensor label) Batch(int n = 2, int size = 16)
    {
        var image = randn([n, 1, size, size]);
        var label = (image > 0.5).to(ScalarType.Int64).squeeze(1);
        return (image, label);
    }

    private static float Step(Sequential net, Optim.Optimizer opt)
    {
        using var scope = NewDisposeScope();
        var (image, label) = Batch();
        opt.zero_grad();
        var loss = F.cross_entropy(net.call(image), label);
        loss.backward();
        opt.step();
        return loss.item<float>();
    }

    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }

    [Test]
    public void TwoThousandStepsKeepResidentMemoryFlat()
    {
        if (!File.Exists("/proc/self/status")) Assert.Ignore("resident memory is read from /proc (Linux only)");
        manual_seed(1);
        using var net = SmallNet();
        using var opt = optim.Adam(net.parameters(), 1e-3);
        for (int i = 0; i < 100; i++) Step(net, opt); // allocator pools and JIT settle first
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = ResidentBytes();
        for (int i = 0; i < 2000; i++) Step(net, opt);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long growth = ResidentBytes() - before;
        TestContext.Out.WriteLine($"resident memory growth over 2000 steps: {growth / 1e6:F1} MB");
        Assert.That(growth, Is.LessThan(50L * 1024 * 1024));
    }

    [Test]
    public void LossFallsOnALearnableTask()
    {
        manual_seed(2);
        using var net = SmallNet();
        using var opt = optim.Adam(net.parameters(), 1e-2);
        var losses = Enumerable.Range(0, 150).Select(_ => Step(net, opt)).ToArray();
        Assert.That(losses.TakeLast(20).Average(), Is.LessThan(0.5 * losses.Take(5).Average()));
    }

    [Test]
    public void SameSeedGivesBitIdenticalWeights()
    {
        float[] Train()
        {
            manual_seed(3);
            using var net = SmallNet();
            using var opt = optim.Adam(net.parameters(), 1e-3);
            for (int i = 0; i < 20; i++) Step(net, opt);
            using var scope = NewDisposeScope();
            return net.parameters().SelectMany(p => p.detach().flatten().ToArray<float>()).ToArray();
        }
        Assert.That(Train(), Is.EqualTo(Train()));
    }

    [Test]
    public void CheckpointResumeMatchesAnUninterruptedRun()
    {
        string dir = Path.Combine(Path.GetTempPath(), "meddistill-resume-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            manual_seed(4);
            using var net = SmallNet();
            using var opt = optim.Adam(net.parameters(), 1e-3);
            for (int i = 0; i < 5; i++) Step(net, opt);
            net.save(Path.Combine(dir, "model.safetensors"));
            using (var scope = NewDisposeScope())
                Safetensors.Save(Path.Combine(dir, "optim.safetensors"), opt.state_dict());

            manual_seed(99);
            for (int i = 0; i < 5; i++) Step(net, opt);

            using var resumed = SmallNet();
            using var resumedOpt = optim.Adam(resumed.parameters(), 1e-3);
            resumed.load(Path.Combine(dir, "model.safetensors"));
            using (var scope = NewDisposeScope())
                resumedOpt.load_state_dict(Safetensors.Load(Path.Combine(dir, "optim.safetensors")));
            manual_seed(99);
            for (int i = 0; i < 5; i++) Step(resumed, resumedOpt);

            using var check = NewDisposeScope();
            var expected = net.state_dict();
            var actual = resumed.state_dict();
            Assert.That(actual.Keys, Is.EqualTo(expected.Keys));
            foreach (var (name, value) in expected)
                Assert.That(actual[name].equal(value), Is.True, $"{name} differs after resume");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
