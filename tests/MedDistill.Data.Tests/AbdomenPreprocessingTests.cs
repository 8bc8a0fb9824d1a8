using MedDistill.Data.Loading;
using MedDistill.Data.Manifest;
using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Splits;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>The multi-class path: Keep labels, the FLARE and Synapse layouts, the <c>lists</c> split, and caches of both CT phantoms.</summary>
[TestFixture]
public sealed class AbdomenPreprocessingTests
{
    // Smallest grid the generators accept: 16 × 16 × 4, FLARE with 4 cases (3 train, 1 test).
    private static readonly AbdomenPhantomOptions Tiny = new() { Size = 16, Slices = 4, Cases = 4 };
    private string root = null!;
    private BuiltinPhantomResult synapse = null!, flare = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        root = PhantomTestData.NewTempDir("md-abdomen-tests-");
        synapse = AbdomenPhantom.GenerateSynapse(Path.Combine(root, "data"), Tiny);
        flare = AbdomenPhantom.GenerateFlare(Path.Combine(root, "data"), Tiny);
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(root, recursive: true);

    [Test]
    public void ProstateRecipeHashes_AreThoseOfMain()
    {
        // Computed from main before multi-class labels and clip modes were added: existing caches must stay valid.
        Assert.That(PreprocessRecipe.Prostate.Hash(), Is.EqualTo("0d92cef98198e9cb973ed914fcee0feacbd8ffeaba2aa86e59820660235fd11d"));
        Assert.That(PreprocessRecipe.Phantom.Hash(), Is.EqualTo("0175320bc82a1971f3551ea55f13376c1f58d0e5a98fb2937f3fd199cfb20795"));
        var flareRecipe = PreprocessRecipe.Flare;
        var variants = new[] { flareRecipe with { Classes = 13 }, flareRecipe with { Window = [-100, 200] }, flareRecipe with { Clip = IntensityClip.None, Window = null } };
        Assert.That(variants.Select(v => v.Hash()).Append(flareRecipe.Hash()).Distinct().Count(), Is.EqualTo(4), "the new settings are part of the hash");
    }

    [Test]
    public void Recipes_AreRegisteredAndBuiltIn()
    {
        Assert.That(PreprocessRecipe.ByDataset["phantom-abdomen"].ClassCount, Is.EqualTo(9));
        Assert.That(PreprocessRecipe.ByDataset["phantom-flare"].ClassCount, Is.EqualTo(14));
        Assert.That(PreprocessRecipe.ByDataset["phantom-flare"].Window, Is.EqualTo(new[] { -125.0, 275.0 }));
        Assert.That(BuiltinDatasets.All.Select(b => b.Name), Is.SupersetOf(new[] { "phantom-abdomen", "phantom-flare", "phantom-laparoscopy" }));
        foreach (var r in PreprocessRecipe.ByDataset.Values) Assert.DoesNotThrow(r.Validate);
        Assert.Throws<ArgumentException>(() => (PreprocessRecipe.Prostate with { Labels = LabelMapping.Keep }).Validate(), "Keep needs a class count");
        Assert.Throws<ArgumentException>(() => (PreprocessRecipe.Flare with { Window = null }).Validate(), "Window clip needs a window");
    }

    [Test]
    public void KeepLabels_KeepIndices_AndRejectValuesOutsideTheClasses()
    {
        var dir = PhantomTestData.NewTempDir("md-keep-");
        string image = Path.Combine(dir, "img"), good = Path.Combine(dir, "good"), bad = Path.Combine(dir, "bad");
        foreach (var f in new[] { image, good, bad }) File.WriteAllText(f, f);
        var volumes = new Dictionary<string, Volume>
        {
            [image] = new(Enumerable.Range(0, 8).Select(i => (float)i).ToArray(), [2, 2, 2]),
            [good] = new([0, 1, 4, 3, 2, 0, 4, 1], [2, 2, 2]),
            [bad] = new([0, 1, 4, 3, 5, 0, 4, 1], [2, 2, 2]),
        };
        var recipe = PreprocessRecipe.Flare with { Height = 2, Width = 2, Classes = 5 };
        var run = new PreprocessRunOptions { Reader = p => volumes[p], Parallelism = 1 };
        var cache = Path.Combine(dir, "cache");
        Preprocessor.Run(new DatasetSource("t", dir, [new SourceCase("A/c", "A", "c", image, good)]), recipe, cache, options: run);
        var index = CacheIndex.Read(cache);
        Assert.That(CacheArrays.ReadLabel(cache, index.Cases[0]), Is.EqualTo(new byte[] { 0, 1, 4, 3, 2, 0, 4, 1 }));
        Assert.That(index.Cases[0].ForegroundPerSlice, Is.EqualTo(new[] { 3, 3 }));

        var e = Assert.Throws<InvalidDataException>(() =>
            Preprocessor.Run(new DatasetSource("t", dir, [new SourceCase("A/c", "A", "c", image, bad)]), recipe, cache, options: run));
        Assert.That(e!.Message, Does.Contain(bad).And.Contain("label value 5").And.Contain("0..4"));

        // Binarise (the prostate default) still merges every class into 1.
        Preprocessor.Run(new DatasetSource("t", dir, [new SourceCase("A/c", "A", "c", image, bad)]), PreprocessRecipe.Prostate with { Height = 2, Width = 2 }, cache, options: run);
        Assert.That(CacheArrays.ReadLabel(cache, CacheIndex.Read(cache).Cases[0]), Is.EqualTo(new byte[] { 0, 1, 1, 1, 1, 0, 1, 1 }));
    }

    [Test]
    public void FlareDiscovery_FindsNiftiPairsInOneSite_WithTheListFiles()
    {
        var source = DatasetLayouts.Discover(flare.Directory, "phantom-flare");
        Assert.That(source.Cases.Select(c => c.Id), Is.EqualTo(Enumerable.Range(1, 4).Select(AbdomenPhantom.FlareCase)));
        Assert.That(source.Cases.Select(c => c.Site).Distinct(), Is.EqualTo(new[] { FlareLayout.Site }));
        Assert.That(Path.GetFileName(source.Cases[0].ImagePath), Is.EqualTo("FLARE22_Tr_0001_0000.nii.gz"));
        Assert.That(Path.GetFileName(source.Cases[0].LabelPath), Is.EqualTo("FLARE22_Tr_0001.nii.gz"));
        Assert.That(source.Lists!["train"], Is.EqualTo(new[] { "FLARE22_Tr_0001", "FLARE22_Tr_0002", "FLARE22_Tr_0003" }));
        Assert.That(source.Lists["test"], Is.EqualTo(new[] { "FLARE22_Tr_0004" }));
    }

    [Test]
    public void FlareWithoutListFiles_TrainsOnTheFirstEightyPercentInCaseOrder()
    {
        // The real FLARE22 training archive ships no split: a copy of the phantom without its list files stands in.
        var copy = Path.Combine(root, "flare-no-lists");
        foreach (var dir in new[] { "imagesTr", "labelsTr" })
        {
            Directory.CreateDirectory(Path.Combine(copy, dir));
            foreach (var f in Directory.GetFiles(Path.Combine(flare.Directory, dir))) File.Copy(f, Path.Combine(copy, dir, Path.GetFileName(f)));
        }
        var source = DatasetLayouts.Discover(copy, "flare22");
        Assert.That(source.Lists!["train"], Is.EqualTo(new[] { "FLARE22_Tr_0001", "FLARE22_Tr_0002", "FLARE22_Tr_0003" }), "round(0.8 × 4) = 3");
        Assert.That(source.Lists["test"], Is.EqualTo(new[] { "FLARE22_Tr_0004" }));
        var fifty = Enumerable.Range(1, 50).Select(i => $"FLARE22_Tr_{i:D4}").ToList();
        var split = FlareLayout.DefaultLists(fifty);
        Assert.That((split["train"].Count, split["test"][0]), Is.EqualTo((40, "FLARE22_Tr_0041")), "40/10 for the real 50 cases");
        Assert.That(PreprocessRecipe.ByDataset["flare22"].Hash(), Is.EqualTo(PreprocessRecipe.Flare.Hash()));
        Assert.That(PreprocessRecipe.ByDataset["synapse"].ClassCount, Is.EqualTo(9));
    }

    [Test]
    public void SynapseDiscovery_GroupsTrainingSlicesIntoCases_AndReadsTestVolumes()
    {
        var source = DatasetLayouts.Discover(synapse.Directory, "phantom-abdomen");
        Assert.That(source.Cases, Has.Count.EqualTo(30));
        var train = source.Cases.Where(c => c.SliceFiles is not null).ToList();
        Assert.That(train.Select(c => c.Id), Is.EquivalentTo(Splitter.SynapseTrainCases));
        foreach (var c in train)
            Assert.That(c.SliceFiles!.Select(Path.GetFileName), Is.EqualTo(Enumerable.Range(0, 4).Select(s => $"{c.Id}_slice{s:D3}.npz")));
        Assert.That(source.Cases.Where(c => c.SliceFiles is null).Select(c => Path.GetFileName(c.ImagePath)),
            Is.EquivalentTo(Splitter.SynapseTestCases.Select(id => id + ".npy.h5")));
        Assert.That(source.Lists!["train"], Is.EquivalentTo(Splitter.SynapseTrainCases), "slice names in train.txt map to their cases");
        Assert.That(source.Lists["test"], Is.EqualTo(AbdomenPhantom.SynapseTestCases.Select(c => $"case{c:D4}")), "test_vol.txt order");
    }

    [Test]
    public void ListsSplit_UsesExactlyTheListedIds_WithValidationFromTraining()
    {
        var source = DatasetLayouts.Discover(synapse.Directory, "phantom-abdomen");
        var refs = source.Cases.Select(c => new CaseRef(c.Id, c.Site)).ToList();
        var plain = Splitter.FromLists(refs, source.Lists!, source.Name);
        Assert.That(plain[DataSplit.Train], Is.EqualTo(source.Lists!["train"]));
        Assert.That(plain[DataSplit.Test], Is.EqualTo(source.Lists["test"]));
        Assert.That(plain[DataSplit.Validation], Is.Empty);

        var split = Splitter.FromLists(refs, source.Lists, source.Name, validationFraction: 0.2, seed: 3);
        Assert.That(split[DataSplit.Validation], Has.Count.EqualTo(4), "round(0.2 × 18)");
        Assert.That(split[DataSplit.Train].Concat(split[DataSplit.Validation]), Is.EquivalentTo(source.Lists["train"]));
        Assert.That(split[DataSplit.Test], Is.EqualTo(source.Lists["test"]));
        Assert.That(Splitter.FromLists(refs, source.Lists, source.Name, 0.2, 3).ToJson(), Is.EqualTo(split.ToJson()), "seeded");

        var lacking = refs.Where(r => r.Id != "case0005");
        var e = Assert.Throws<ArgumentException>(() => Splitter.FromLists(lacking, source.Lists, source.Name));
        Assert.That(e!.Message, Does.Contain("case0005"));
    }

    [TestCase("phantom-abdomen", 9)]
    [TestCase("phantom-flare", 14)]
    public void PhantomCache_LoadsMultiClassBatches(string name, int classes)
    {
        var dir = name == "phantom-abdomen" ? synapse.Directory : flare.Directory;
        var recipe = PreprocessRecipe.ByDataset[name] with { Height = 16, Width = 16 };
        var cache = Path.Combine(root, "cache", name);
        var source = DatasetLayouts.Discover(dir, name);
        var report = Preprocessor.Run(source, recipe, cache);
        Assert.That(report.Built, Is.EqualTo(source.Cases.Count));
        Assert.That(Preprocessor.Run(source, recipe, cache).IndexWritten, Is.False, "a rerun finds the cache up to date");

        var split = Splitter.FromLists(source.Cases.Select(c => new CaseRef(c.Id, c.Site)), source.Lists!, name);
        var dataset = new SliceDataset(cache, split[DataSplit.Train]);
        var batches = new SliceLoader(dataset, new LoaderOptions { BatchSize = 4, Seed = 1 }).Epoch(0).ToList();
        Assert.That(batches.Sum(b => b.Count), Is.EqualTo(split[DataSplit.Train].Count * 4), "every slice of every training case");
        var first = batches[0];
        Assert.That((first.Count, first.Channels, first.Height, first.Width), Is.EqualTo((4, 1, 16, 16)));
        var labels = batches.SelectMany(b => b.Label).Distinct().ToList();
        Assert.That(labels.Max(), Is.LessThan(classes));
        Assert.That(labels, Has.Count.GreaterThan(3), "several organs, not a binary mask");
        var images = batches.SelectMany(b => b.Image).ToList();
        Assert.That(images.Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(images.Max(), Is.LessThanOrEqualTo(1f), "both CT sets end up on TransUNet's [0, 1] scale");
    }

    [Test]
    public void SynapseCache_KeepsTheSourceIntensities()
    {
        // Synapse is already in [0, 1]: with no resize, the cached image must be the source's values, not re-clipped or rescaled.
        var source = DatasetLayouts.Discover(synapse.Directory, "phantom-abdomen");
        var cache = Path.Combine(root, "cache-identity");
        Preprocessor.Run(source, PreprocessRecipe.PhantomAbdomen with { Height = 16, Width = 16 }, cache);
        var index = CacheIndex.Read(cache);
        var test = index.Cases.First(c => c.Id == "case0008");
        var h5 = Path.Combine(synapse.Directory, "test_vol_h5", "case0008.npy.h5");
        Assert.That(CacheArrays.ReadImage(cache, test), Is.EqualTo(VolumeReader.Read(h5, "image").Data));
        Assert.That(CacheArrays.ReadLabel(cache, test).Select(b => (float)b), Is.EqualTo(VolumeReader.Read(h5, "label").Data));
        var train = index.Cases.First(c => c.Id == "case0005");
        Assert.That(train.Shape, Is.EqualTo(new[] { 4, 16, 16 }));
        var slice2 = VolumeReader.Read(Path.Combine(synapse.Directory, "train_npz", "case0005_slice002.npz"), "image").Data;
        Assert.That(CacheArrays.ReadImage(cache, train).AsSpan(2 * 256, 256).ToArray(), Is.EqualTo(slice2), "slices stacked in order");
    }
}
