using System.Diagnostics;
using MedDistill.Data.Loading;
using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;

namespace MedDistill.Data.Tests;

/// <summary>
/// Loader throughput on the default phantom (96 × 96, three channels, default augmentation), printed, never asserted.
/// Run with: dotnet test tests/MedDistill.Data.Tests -c Release --filter "FullyQualifiedName~LoaderBenchmark" --logger "console;verbosity=detailed"
/// </summary>
[Explicit("benchmark: prints slices/s; run on demand")]
public class LoaderBenchmarkTests
{
    [Test]
    public void SlicesPerSecond()
    {
        var root = PhantomTestData.NewTempDir("md-loader-bench-");
        try
        {
            var watch = Stopwatch.StartNew();
            var phantom = PhantomGenerator.Generate(Path.Combine(root, "data"));
            var generate = watch.Elapsed.TotalSeconds;
            watch.Restart();
            var cache = Path.Combine(root, "cache");
            Preprocessor.Run(ProstateLayout.Discover(phantom.Directory), PreprocessRecipe.Phantom, cache);
            var preprocess = watch.Elapsed.TotalSeconds;
            TestContext.Out.WriteLine($"phantom (default options): generate {generate:F1} s, preprocess {preprocess:F1} s, {Environment.ProcessorCount} cores");

            var dataset = new SliceDataset(cache, options: new SliceDatasetOptions { Channels = 3 });
            foreach (var c in dataset.Cases) { CacheArrays.ReadImage(cache, c); } // warm the page cache
            foreach (var (workers, augment) in new[] { (0, false), (0, true), (1, true), (2, true), (4, true) })
            {
                var loader = new SliceLoader(dataset, new LoaderOptions
                {
                    BatchSize = 16, Seed = 1, Workers = workers, Prefetch = 8, Augmentation = augment ? new AugmentationOptions() : AugmentationOptions.None,
                });
                foreach (var batch in loader.Epoch(0).Take(2)) // warm-up: loads libtorch and the arrays, JIT
                {
                    using var scope = torch.NewDisposeScope();
                    batch.ToTensors();
                }
                int slices = 0;
                watch.Restart();
                for (int epoch = 1; epoch <= 5; epoch++)
                    foreach (var batch in loader.Epoch(epoch))
                    {
                        using var scope = torch.NewDisposeScope();
                        var (image, label) = batch.ToTensors();
                        slices += batch.Count;
                    }
                double rate = slices / watch.Elapsed.TotalSeconds;
                TestContext.Out.WriteLine($"loader-slices-per-second={rate:F0} workers={workers} augmentation={(augment ? "default" : "none")} batch=16 channels=3 size=96x96 (incl. tensor creation)");
            }
        }
        finally { Directory.Delete(root, true); }
    }
}
