using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// The liver layout (CHAOS DICOM + PNG masks, LiTS NIfTI) on a tiny phantom (32 × 32, 4 slices, 6 CHAOS patients so that
/// patient 10 sorts after 8, 2 LiTS volumes): discovery, lists, slice order and the windowed, binarised cache.
/// </summary>
[TestFixture]
public sealed class LiverPreprocessingTests
{
    private static readonly LiverPhantomOptions Tiny = new() { Seed = 4, Size = 32, Slices = 4, ChaosCases = 6, LitsCases = 2 };
    private static readonly PreprocessRecipe Recipe = PreprocessRecipe.PhantomLiver with { Height = 32, Width = 32 };

    private string root = null!, dataDir = null!, cacheDir = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        root = PhantomTestData.NewTempDir("md-liver-prep-");
        dataDir = LiverPhantom.Generate(root, Tiny).Directory;
        cacheDir = Path.Combine(root, "cache");
        Preprocessor.Run(DatasetLayouts.Discover(dataDir, LiverPhantom.DatasetName), Recipe, cacheDir);
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(root, recursive: true);

    [Test]
    public void Discover_FindsChaosAndLits_InNumericOrder_WithTheStatedSplit()
    {
        var source = DatasetLayouts.Discover(dataDir, LiverPhantom.DatasetName);
        Assert.That(source.Cases.Select(c => c.Id), Is.EqualTo(new[] { "CHAOS/1", "CHAOS/2", "CHAOS/5", "CHAOS/6", "CHAOS/8", "CHAOS/10", "LiTS/volume-0", "LiTS/volume-1" }));
        Assert.That(source.Cases.Select(c => c.Site).Distinct(), Is.EqualTo(new[] { "CHAOS", "LiTS" }));
        // round(0.8 × 6) = 5 CHAOS patients train.
        Assert.That(source.Lists!["train"], Is.EqualTo(new[] { "CHAOS/1", "CHAOS/2", "CHAOS/5", "CHAOS/6", "CHAOS/8" }));
        Assert.That(source.Lists["test"], Is.EqualTo(new[] { "CHAOS/10", "LiTS/volume-0", "LiTS/volume-1" }));
        var chaos = source.Cases[0];
        Assert.That(chaos.SliceFiles!.Select(Path.GetFileName), Is.EqualTo(Enumerable.Range(0, 4).Select(LiverPhantom.ChaosSliceName)));
        Assert.That(chaos.LabelSliceFiles!.Select(Path.GetFileName), Is.EqualTo(Enumerable.Range(0, 4).Select(LiverPhantom.ChaosMaskName)));
    }

    [Test]
    public void ChaosSlices_AreCachedInFileOrder_WithTheirMasks_WindowedToZeroOne()
    {
        var c = CacheIndex.Read(cacheDir).Cases.Single(x => x.Id == "CHAOS/5");
        Assert.That(c.Shape, Is.EqualTo(new[] { 4, 32, 32 }));
        Assert.That(c.Spacing[0], Is.EqualTo(200 / 4.0).Within(1e-3), "slice spacing from the DICOM positions");
        var image = CacheArrays.ReadImage(cacheDir, c);
        var label = CacheArrays.ReadLabel(cacheDir, c);
        var folder = Path.Combine(dataDir, LiverPhantom.ChaosFolder(5));
        for (int k = 0; k < 4; k++)
        {
            var hu = VolumeReader.Read(Path.Combine(folder, "DICOM_anon", LiverPhantom.ChaosSliceName(k))).Data;
            var mask = VolumeReader.Read(Path.Combine(folder, "Ground", LiverPhantom.ChaosMaskName(k))).Data;
            Assert.That(image.AsSpan(k * 1024, 1024).ToArray(), Is.EqualTo(hu.Select(v => (Math.Clamp(v, -100f, 400f) + 100f) / 500f).ToArray()).Within(1e-5), $"slice {k}");
            Assert.That(label.AsSpan(k * 1024, 1024).ToArray(), Is.EqualTo(mask.Select(v => v > 0 ? (byte)1 : (byte)0).ToArray()), $"mask {k}");
        }
        Assert.That(label.Count(v => v == 1), Is.GreaterThan(50), "the liver is there");
    }

    [Test]
    public void Labels_AreZeroOne_LitsTumourCountsAsLiver_AndNoFovIsCached()
    {
        var index = CacheIndex.Read(cacheDir);
        Assert.That(index.Cases, Has.Count.EqualTo(8));
        foreach (var c in index.Cases)
        {
            Assert.That(CacheArrays.ReadLabel(cacheDir, c).Distinct().Order(), Is.EqualTo(new byte[] { 0, 1 }), c.Id);
            Assert.That(c.FovFile, Is.Null);
            Assert.That(CacheArrays.ReadFov(cacheDir, c), Is.Null);
            var image = CacheArrays.ReadImage(cacheDir, c);
            Assert.That(image.Min() >= 0 && image.Max() <= 1, c.Id);
        }
        var lits = index.Cases.Single(x => x.Id == "LiTS/volume-1");
        var segmentation = VolumeReader.Read(Path.Combine(dataDir, "LiTS", "segmentation-1.nii")).Data;
        Assert.That(segmentation, Does.Contain(2f), "the phantom has a tumour");
        Assert.That(CacheArrays.ReadLabel(cacheDir, lits), Is.EqualTo(segmentation.Select(v => v > 0 ? (byte)1 : (byte)0).ToArray()));
        Assert.That(File.ReadAllText(Path.Combine(cacheDir, CacheIndex.FileName)), Does.Not.Contain("fov"), "no FOV keys in a FOV-less index");
    }

    [Test]
    public void APatientWithMoreSlicesThanMasks_IsNamed()
    {
        var dir = PhantomTestData.NewTempDir("md-liver-layout-");
        try
        {
            var patient = Path.Combine(dir, "CHAOS", "Train_Sets", "CT", "3");
            Directory.CreateDirectory(Path.Combine(patient, "DICOM_anon"));
            Directory.CreateDirectory(Path.Combine(patient, "Ground"));
            foreach (var k in new[] { 0, 1 }) File.WriteAllBytes(Path.Combine(patient, "DICOM_anon", LiverPhantom.ChaosSliceName(k)), []);
            File.WriteAllBytes(Path.Combine(patient, "Ground", LiverPhantom.ChaosMaskName(0)), []);
            var e = Assert.Throws<InvalidDataException>(() => DatasetLayouts.Discover(dir, "liver"))!;
            Assert.That(e.Message, Does.StartWith(patient).And.Contain("2 DICOM_anon/*.dcm slices but 1 Ground/*.png masks"));

            Directory.CreateDirectory(Path.Combine(dir, "LiTS"));
            File.WriteAllBytes(Path.Combine(dir, "LiTS", "segmentation-7.nii"), []);
            File.WriteAllBytes(Path.Combine(patient, "Ground", LiverPhantom.ChaosMaskName(1)), []);
            e = Assert.Throws<InvalidDataException>(() => LiverLayout.Discover(dir))!;
            Assert.That(e.Message, Does.Contain("segmentation-7.nii").And.Contain("without an image"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void ExistingRecipeHashes_AreThoseOfMain_AndTheLiverRecipesAreRegistered()
    {
        // Computed from main before Channel/Fov/FovThreshold existed: null settings must leave every hash as it was.
        Assert.That(PreprocessRecipe.Synapse.Hash(), Is.EqualTo("af6ea7d04aeb2e20fcf5630c1aa702e911b1a9c99badc6a1c2aea46ea9ee2b93"));
        Assert.That(PreprocessRecipe.Flare.Hash(), Is.EqualTo("74405d81c9e2f5c5b5e2866a4576e007804dc6fa86dab7ab040cd4ba7fb0ba9a"));
        Assert.That(PreprocessRecipe.PhantomAbdomen.Hash(), Is.EqualTo("dca162bfed185854bcad3c27049277af69fffd662e9a69333ad0e388430c8d88"));
        Assert.That(PreprocessRecipe.PhantomFlare.Hash(), Is.EqualTo("2820caff330f9303d3a4cd5d5abb2ab3d055865476f9485feb137e95d60fb5c2"));
        Assert.That(PreprocessRecipe.Prostate.Hash(), Is.EqualTo("0d92cef98198e9cb973ed914fcee0feacbd8ffeaba2aa86e59820660235fd11d"));
        Assert.That(PreprocessRecipe.ByDataset["liver"].Window, Is.EqualTo(new double[] { -100, 400 }));
        Assert.That(PreprocessRecipe.ByDataset["phantom-liver"], Is.SameAs(PreprocessRecipe.PhantomLiver));
        foreach (var name in new[] { "liver", "phantom-liver", "retinal-vessels", "phantom-fundus" })
            Assert.DoesNotThrow(() => PreprocessRecipe.ByDataset[name].Validate(), name);
    }
}
