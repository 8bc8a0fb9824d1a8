using System.Diagnostics;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Bench;

/// <summary>
/// The C# twin of bench/engine_step.py: same network, batch, loss and optimiser, timed the same way
/// (warm-up, then the median over single steps), so the two medians are comparable.
/// </summary>
public static class EngineStep
{
    public static (double medianMs, double[] firstLosses) Run(int steps, int warmup, int threads, string deviceSpec, long seed)
    {
        manual_seed(seed);
        if (threads > 0) set_num_threads(threads);
        var dev = device(deviceSpec);
        bool isCuda = dev.Type == DeviceType.CUDA;

        using var net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding: 1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride: 2, padding: 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding: 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 2, stride: 2), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 2, 3, padding: 1));
        net.to(dev);
        net.train();

        // Fixed inputs for every step, as in the Python script; they live outside the per-step scopes.
        using var x = randn([8, 1, 128, 128], float32, dev);
        using var y = randint(0, 2, [8, 128, 128], int64, dev);
        using var optimizer = optim.Adam(net.parameters(), lr: 1e-3);

        Tensor Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(net.call(x), y);
            loss.backward();
            optimizer.step();
            return loss.detach().MoveToOuterDisposeScope();
        }

        // The warm-up losses show that both sides compute the same thing: same seed, same initial draws.
        var firstLosses = new double[warmup];
        for (int i = 0; i < warmup; i++)
            using (var loss = Step()) firstLosses[i] = loss.item<double>();
        if (isCuda) cuda.synchronize(dev.Index < 0 ? 0 : dev.Index);

        var times = new double[steps];
        var clock = new Stopwatch();
        for (int i = 0; i < steps; i++)
        {
            clock.Restart();
            Step().Dispose();
            // Without a sync a CUDA step only measures kernel launches.
            if (isCuda) cuda.synchronize(dev.Index < 0 ? 0 : dev.Index);
            times[i] = clock.Elapsed.TotalMilliseconds;
        }

        Console.Error.WriteLine($"libtorch={__version__} threads={get_num_threads()} device={deviceSpec} steps={steps}");
        return (Stats.Median(times), firstLosses);
    }
}
