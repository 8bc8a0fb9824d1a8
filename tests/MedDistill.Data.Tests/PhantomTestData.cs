using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;

namespace MedDistill.Data.Tests;

/// <summary>
/// One tiny phantom and its preprocessing cache, made once for the whole test assembly (tests that modify data copy it first).
/// </summary>
[SetUpFixture]
public sealed class PhantomTestData
{
    /// <summary>Quarter-size images, 4 cases per site, 8–10 slices: about a second to generate.</summary>
    public static PhantomOptions TinyOptions { get; } = new() { Seed = 7, CasesPerSite = 4, MinSlices = 8, MaxSlices = 10, MatrixScale = 0.5 };

    /// <summary>Every tiny phantom site has a matrix of at most 48; the cache resizes all to 48.</summary>
    public static PreprocessRecipe TinyRecipe { get; } = PreprocessRecipe.Phantom with { Height = 48, Width = 48 };

    private static readonly Lazy<(string Root, PhantomResult Phantom, string Cache)> data = new(() =>
    {
        var root = Directory.CreateTempSubdirectory("md-phantom-tests-").FullName;
        var phantom = PhantomGenerator.Generate(Path.Combine(root, "data"), TinyOptions);
        var cache = Path.Combine(root, "cache");
        Preprocessor.Run(ProstateLayout.Discover(phantom.Directory), TinyRecipe, cache);
        return (root, phantom, cache);
    });

    public static PhantomResult Phantom => data.Value.Phantom;
    public static string CacheDir => data.Value.Cache;

    /// <summary>A fresh temporary folder, deleted when the test assembly finishes.</summary>
    public static string NewTempDir(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;

    [OneTimeTearDown]
    public void DeleteData()
    {
        if (data.IsValueCreated) Directory.Delete(data.Value.Root, recursive: true);
    }

    public static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}
