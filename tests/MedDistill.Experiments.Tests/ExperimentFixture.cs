using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// A tiny six-site phantom (2 cases per site, 6–8 slices, 32×32 cache) shared by the assembly's tests, and fresh run
/// stores. Runs on it take a second or two on the CPU.
/// </summary>
[SetUpFixture]
public sealed class ExperimentFixture
{
    public static PhantomOptions TinyPhantom { get; } = new() { Seed = 11, CasesPerSite = 2, MinSlices = 6, MaxSlices = 8, MatrixScale = 0.35 };
    public static PreprocessRecipe TinyRecipe { get; } = PreprocessRecipe.Phantom with { Height = 32, Width = 32 };

    private static readonly Lazy<string> dataDir = new(() =>
    {
        var root = Directory.CreateTempSubdirectory("md-exp-data-").FullName;
        var phantom = PhantomGenerator.Generate(root, TinyPhantom);
        Preprocessor.Run(ProstateLayout.Discover(phantom.Directory), TinyRecipe, Path.Combine(root, "cache", TinyRecipe.Dataset));
        return root;
    });

    private static readonly List<string> temporary = [];

    /// <summary>The data directory: the phantom and its cache under cache/phantom-prostate.</summary>
    public static string DataDir => dataDir.Value;

    public static RunStore NewStore()
    {
        var dir = Directory.CreateTempSubdirectory("md-exp-runs-").FullName;
        lock (temporary) temporary.Add(dir);
        return new RunStore(dir);
    }

    /// <summary>A few-step spec on the tiny phantom: quarter-width network, batch 4, 2 epochs, validation on.</summary>
    public static RunSpec Tiny(string model = "enet", double width = 0.25) => new()
    {
        Model = new ModelSpec { Name = model, Width = width },
        Data = new DataSpec { Dataset = TinyRecipe.Dataset, Split = new SplitSpec { Target = "S2", ValidationFraction = 0.2 } },
        Schedule = new ScheduleSpec { Epochs = 2, BatchSize = 16, CyclicStepSize = 4 },
        Seed = 5,
    };

    [OneTimeTearDown]
    public void Cleanup()
    {
        if (dataDir.IsValueCreated) Directory.Delete(dataDir.Value, recursive: true);
        foreach (var dir in temporary) if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}
