using System.Text.Json.Nodes;
using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;

namespace MedDistill.Data.Tests;

/// <summary>The cache index keeps the data set's list files (for the <c>lists</c> split) without touching what is hashed.</summary>
[TestFixture]
public sealed class CacheListsTests
{
    [Test]
    public void ListsAreStored_AnIndexWithoutThemStillLoads_AndARerunFillsThemIn()
    {
        var root = PhantomTestData.NewTempDir("md-cache-lists-");
        try
        {
            var phantom = AbdomenPhantom.GenerateSynapse(root, new AbdomenPhantomOptions { Size = 16, Slices = 4 });
            var source = DatasetLayouts.Discover(phantom.Directory, AbdomenPhantom.SynapseName);
            var recipe = PreprocessRecipe.PhantomAbdomen with { Height = 16, Width = 16 };
            var cacheDir = Path.Combine(root, "cache");
            Preprocessor.Run(source, recipe, cacheDir, options: new PreprocessRunOptions { Parallelism = 1 });

            var index = CacheIndex.Read(cacheDir);
            Assert.That(index.Lists, Is.Not.Null);
            Assert.That(index.Lists!["train"], Has.Count.EqualTo(18));
            Assert.That(index.Lists["test"], Is.EqualTo(AbdomenPhantom.SynapseTestCases.Select(c => $"case{c:D4}")), "test_vol.txt, in its order");

            // An index written before lists existed: no "lists" key. It loads (lists null) and a rerun adds them without rebuilding.
            var path = Path.Combine(cacheDir, CacheIndex.FileName);
            var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            json.Remove("lists");
            File.WriteAllText(path, json.ToJsonString());
            Assert.That(CacheIndex.Read(cacheDir).Lists, Is.Null);
            var rerun = Preprocessor.Run(source, recipe, cacheDir, options: new PreprocessRunOptions { Parallelism = 1 });
            Assert.That((rerun.Built, rerun.IndexWritten), Is.EqualTo((0, true)));
            Assert.That(CacheIndex.SameLists(CacheIndex.Read(cacheDir).Lists, index.Lists));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Test]
    public void AProstateIndexHasNoListsKey()
    {
        // Prostate layouts ship no lists: the index must stay byte-for-byte what it was before lists were added.
        Assert.That(File.ReadAllText(Path.Combine(PhantomTestData.CacheDir, CacheIndex.FileName)), Does.Not.Contain("\"lists\""));
        Assert.That(CacheIndex.Read(PhantomTestData.CacheDir).Lists, Is.Null);
    }
}
