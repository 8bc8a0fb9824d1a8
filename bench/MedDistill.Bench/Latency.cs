using System.Diagnostics;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Bench;

/// <summary>Inference timing of one network at one batch size.</summary>
/// <param name="MedianMs">Median wall time of one forward pass of the whole batch.</param>
public sealed record LatencyResult(string Model, int Batch, int Iterations, double MedianMs, double MinMs, double MaxMs)
{
    public double MsPerImage => MedianMs / Batch;
}

/// <summary>
/// Inference latency of the zoo's networks: eval mode, no_grad, each forward inside its own dispose scope, warm-up
/// passes first, then the median over single timed passes (CUDA synchronised before the clock stops).
/// </summary>
public static class Latency
{
    public static LatencyResult Run(string model, ModelOptions options, int batch, int size, int iterations, int warmup, Device device)
    {
        manual_seed(0);
        using var net = ModelRegistry.Create(model, options);
        net.to(device);
        net.eval();
        using var input = randn([batch, options.InChannels, size, size], float32, device);
        bool isCuda = device.Type == DeviceType.CUDA;
        int cudaIndex = device.Index < 0 ? 0 : device.Index;

        void Forward()
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            net.call(input);
            if (isCuda) cuda.synchronize(cudaIndex);
        }

        for (int i = 0; i < warmup; i++) Forward();
        var times = new double[iterations];
        var clock = new Stopwatch();
        for (int i = 0; i < iterations; i++)
        {
            clock.Restart();
            Forward();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        int mid = times.Length / 2;
        double median = times.Length % 2 == 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
        return new LatencyResult(model, batch, iterations, median, times[0], times[^1]);
    }
}
