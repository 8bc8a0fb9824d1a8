using System.Security.Cryptography;
using System.Text;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

public class PreprocessingTests
{
    private string root = "";

    [SetUp]
    public void CreateRoot() => root = PhantomTestData.NewTempDir("md-prep-");

    [TearDown]
    public void DeleteRoot() => Directory.Delete(root, true);

    [Test]
    public void Percentile_InterpolatesLinearlyBetweenOrderStatistics()
    {
        float[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        // numpy.percentile(range(1, 11), q) for q = 25, 50, 0, 100, 99.5.
        Assert.That(VolumeStatistics.Percentile(sorted, 25), Is.EqualTo(3.25).Within(1e-12));
        Assert.That(VolumeStatistics.Percentile(sorted, 50), Is.EqualTo(5.5).Within(1e-12));
        Assert.That(VolumeStatistics.Percentile(sorted, 0), Is.EqualTo(1));
        Assert.That(VolumeStatistics.Percentile(sorted, 100), Is.EqualTo(10));
        Assert.That(VolumeStatistics.Percentile(sorted, 99.5), Is.EqualTo(9.955).Within(1e-12));
    }

    [Test]
    public void Bilinear_UpsamplesOnPixelCentres()
    {
        // F.interpolate([[0, 1], [2, 3]], size=4, mode="bilinear", align_corners=False), worked by hand:
        // source coordinates -0.25 (clamped to 0), 0.25, 0.75, 1.25 (neighbour clamped) per axis.
        var output = new float[16];
        SliceResampler.Resize([0, 1, 2, 3], 2, 2, output, 4, 4, Interpolation.Bilinear);
        Assert.That(output, Is.EqualTo(new[] { 0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3 }));
        var down = new float[2];
        SliceResampler.Resize([0, 1, 2, 3], 1, 4, down, 1, 2, Interpolation.Bilinear);
        Assert.That(down, Is.EqualTo(new[] { 0.5f, 2.5f }), "shrinking samples at 0.5 and 2.5");
    }

    [Test]
    public void Nearest_PicksThePixelWhoseCentreIsNearest()
    {
        var up = new float[4];
        SliceResampler.Resize([7, 9], 1, 2, up, 1, 4, Interpolation.Nearest);
        Assert.That(up, Is.EqualTo(new[] { 7f, 7, 9, 9 }));
        var down = new float[2];
        SliceResampler.Resize([1, 2, 3], 1, 3, down, 1, 2, Interpolation.Nearest);
        Assert.That(down, Is.EqualTo(new[] { 1f, 3 }), "output centres 0.75 and 2.25 fall in source pixels 0 and 2");
    }

    [Test]
    public void Normalisation_ClipsToPercentilesThenZScores()
    {
        var values = Enumerable.Range(0, 1000).Select(i => (float)i).ToArray();
        var applied = VolumeStatistics.ClipAndNormalise(values, 0.5, 99.5, IntensityNormalisation.ZScore);
        // Percentiles of 0..999: 0.005·999 = 4.995 and 0.995·999 = 994.005; the clipped ramp is symmetric, so its mean is 499.5.
        Assert.That(applied.ClipLow, Is.EqualTo(4.995).Within(1e-9));
        Assert.That(applied.ClipHigh, Is.EqualTo(994.005).Within(1e-9));
        Assert.That(applied.Mean, Is.EqualTo(499.5).Within(1e-4), "float clip values");
        Assert.That(values.Average(), Is.EqualTo(0).Within(1e-5));
        Assert.That(Math.Sqrt(values.Select(v => (double)v * v).Average()), Is.EqualTo(1).Within(1e-5));
        Assert.That(values[0], Is.EqualTo(values[4]), "values below the lower percentile are clipped to it");
        Assert.That(values[999], Is.EqualTo(-values[0]).Within(1e-5), "symmetric clip");
        Assert.That(values[501] - values[500], Is.EqualTo(1 / applied.Std).Within(1e-5), "unit steps scale by 1/std");
    }

    [Test]
    public void RecipeHash_IsTheSha256OfTheCanonicalJson_AndCoversEverySetting()
    {
        var recipe = PreprocessRecipe.Prostate;
        const string json = """{"Dataset":"prostate","Height":384,"Width":384,"ImageInterpolation":"Bilinear","LabelInterpolation":"Nearest","ClipLowerPercentile":0.5,"ClipUpperPercentile":99.5,"Normalisation":"ZScore","Labels":"Binarise"}""";
        Assert.That(recipe.ToCanonicalJson(), Is.EqualTo(json));
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("meddistill-preprocess/1\n" + json)));
        Assert.That(recipe.Hash(), Is.EqualTo(expected));
        Assert.That(new PreprocessRecipe().Hash(), Is.EqualTo(expected), "equal recipes, equal hashes");
        var variants = new[]
        {
            recipe with { Dataset = "x" }, recipe with { Height = 256 }, recipe with { Width = 256 }, recipe with { ImageInterpolation = Interpolation.Nearest },
            recipe with { LabelInterpolation = Interpolation.Bilinear }, recipe with { ClipLowerPercentile = 1 }, recipe with { ClipUpperPercentile = 99 },
            recipe with { Normalisation = IntensityNormalisation.MinMax }, recipe with { Labels = LabelMapping.Keep },
        };
        Assert.That(variants.Select(v => v.Hash()).Append(expected).Distinct().Count(), Is.EqualTo(variants.Length + 1));
    }

    [Test]
    public void Discover_MatchesSegmentationInAnyCase_AndNamesAFileWithoutPartner()
    {
        var data = Path.Combine(root, "data");
        WriteCase(data, "SITEA", "Case00", "Case00_segmentation.nii.gz", 1);
        WriteCase(data, "SITEA", "Case01", "Case01_Segmentation.nii", 2);
        WriteCase(data, "SITEB", "Case00", "CASE00_SEGMENTATION.nii.gz", 3);
        var source = ProstateLayout.Discover(data);
        Assert.That(source.Cases.Select(c => c.Id), Is.EqualTo(new[] { "SITEA/Case00", "SITEA/Case01", "SITEB/Case00" }));
        Assert.That(source.Cases[1].LabelPath, Does.EndWith("Case01_Segmentation.nii"));
        Assert.That(source.Cases.Select(c => c.Site), Is.EqualTo(new[] { "SITEA", "SITEA", "SITEB" }));

        File.Delete(source.Cases[2].LabelPath);
        var e = Assert.Throws<InvalidDataException>(() => ProstateLayout.Discover(data));
        Assert.That(e!.Message, Does.Contain("Case00.nii.gz").And.Contain("no label"));
    }

    [Test]
    public void Run_WritesNormalisedArraysBinaryLabelsAndProvenance()
    {
        var data = Path.Combine(root, "data");
        WriteCase(data, "SITEA", "Case00", "Case00_Segmentation.nii.gz", 1);
        WriteCase(data, "SITEB", "Case03", "Case03_segmentation.nii.gz", 2);
        var source = ProstateLayout.Discover(data);
        var recipe = PreprocessRecipe.Phantom with { Height = 12, Width = 12 };
        var cache = Path.Combine(root, "cache");
        var report = Preprocessor.Run(source, recipe, cache);
        Assert.That((report.Built, report.Reused, report.IndexWritten), Is.EqualTo((2, 0, true)));

        var index = CacheIndex.Read(cache);
        Assert.That(index.RecipeHash, Is.EqualTo(recipe.Hash()));
        Assert.That(index.Recipe, Is.EqualTo(recipe));
        Assert.That(index.Cases.Select(c => c.Id), Is.EqualTo(new[] { "SITEA/Case00", "SITEB/Case03" }));
        foreach (var (c, sc) in index.Cases.Zip(source.Cases))
        {
            Assert.That(c.Site, Is.EqualTo(sc.Site));
            Assert.That(c.Image.Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(sc.ImagePath)))));
            Assert.That(c.Label.Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(sc.LabelPath)))));
            Assert.That(c.Image.Path, Is.EqualTo(sc.ImagePath));
            Assert.That(c.SourceShape, Is.EqualTo(new[] { 3, 6, 8 }));
            Assert.That(c.SourceSpacing, Is.EqualTo(new[] { 3.0, 0.5, 0.25 }));
            Assert.That(c.Shape, Is.EqualTo(new[] { 3, 12, 12 }));
            // In-plane spacing scales with the resize: 6 rows of 0.5 mm become 12 of 0.25 mm; 8 columns of 0.25 mm, 12 of 1/6 mm.
            Assert.That(c.Spacing[0], Is.EqualTo(3.0));
            Assert.That(c.Spacing[1], Is.EqualTo(0.25).Within(1e-12));
            Assert.That(c.Spacing[2], Is.EqualTo(0.25 * 8 / 12).Within(1e-12));

            var image = CacheArrays.ReadImage(cache, c);
            double mean = image.Average(), std = Math.Sqrt(image.Select(v => (v - mean) * (v - mean)).Average());
            Assert.That(mean, Is.EqualTo(0).Within(1e-5));
            Assert.That(std, Is.EqualTo(1).Within(1e-4));
            Assert.That(image.Max(), Is.EqualTo((c.Normalisation.ClipHigh - c.Normalisation.Mean) / c.Normalisation.Std).Within(1e-4));
            Assert.That(image.Min(), Is.EqualTo((c.Normalisation.ClipLow - c.Normalisation.Mean) / c.Normalisation.Std).Within(1e-4));

            // Labels: source class 2 binarised to 1; nearest resizing doubles rows (6 → 12) and maps columns 8 → 12.
            var label = CacheArrays.ReadLabel(cache, c);
            var src = Nifti.Read(sc.LabelPath).Data;
            for (int z = 0; z < 3; z++)
                for (int y = 0; y < 12; y++)
                    for (int x = 0; x < 12; x++)
                    {
                        int sy = y / 2, sx = (int)Math.Floor((x + 0.5) * 8 / 12);
                        Assert.That(label[(z * 12 + y) * 12 + x], Is.EqualTo(src[(z * 6 + sy) * 8 + sx] > 0 ? 1 : 0));
                    }
            Assert.That(c.ForegroundPerSlice, Is.EqualTo(Enumerable.Range(0, 3).Select(z => label.Skip(z * 144).Take(144).Count(v => v > 0))));
        }
    }

    [Test]
    public void Rerun_WithSameRecipeAndSources_TouchesNothing()
    {
        var (source, cache) = PhantomCopy();
        var recipe = PreprocessRecipe.Phantom with { Height = 32, Width = 32 };
        var first = Preprocessor.Run(source, recipe, cache);
        Assert.That(first.Built, Is.EqualTo(source.Cases.Count));
        var before = Snapshot(cache);
        Thread.Sleep(20);
        var again = Preprocessor.Run(ProstateLayout.Discover(source.Root), recipe, cache);
        Assert.That((again.Built, again.Reused, again.Removed, again.IndexWritten), Is.EqualTo((0, source.Cases.Count, 0, false)));
        Assert.That(Snapshot(cache), Is.EqualTo(before), "no file rewritten, added or removed");
    }

    [Test]
    public void ChangedRecipe_RebuildsEveryCase_AndDropsTheOldArrays()
    {
        var (source, cache) = PhantomCopy();
        Preprocessor.Run(source, PreprocessRecipe.Phantom with { Height = 32, Width = 32 }, cache);
        var oldFiles = ArrayFiles(cache);
        var changed = Preprocessor.Run(source, PreprocessRecipe.Phantom with { Height = 32, Width = 32, ClipUpperPercentile = 99 }, cache);
        Assert.That(changed.Built, Is.EqualTo(source.Cases.Count));
        var newFiles = ArrayFiles(cache);
        Assert.That(newFiles, Has.Count.EqualTo(2 * source.Cases.Count));
        Assert.That(newFiles.Intersect(oldFiles), Is.Empty, "arrays of the old recipe are deleted");
        Assert.That(CacheIndex.Read(cache).Recipe.ClipUpperPercentile, Is.EqualTo(99));
    }

    [Test]
    public void ChangedSource_RebuildsThatCaseOnly_TouchedButEqualSourceRebuildsNothing()
    {
        var (source, cache) = PhantomCopy();
        var recipe = PreprocessRecipe.Phantom with { Height = 32, Width = 32 };
        Preprocessor.Run(source, recipe, cache);
        var before = Snapshot(cache);
        var indexBefore = CacheIndex.Read(cache);

        // Same bytes, new modification time: hashed, found equal, arrays kept; only the index records the new time.
        var touched = source.Cases[1];
        File.SetLastWriteTimeUtc(touched.ImagePath, DateTime.UtcNow.AddMinutes(-5));
        var same = Preprocessor.Run(source, recipe, cache);
        Assert.That((same.Built, same.IndexWritten), Is.EqualTo((0, true)));
        var after = Snapshot(cache);
        Assert.That(after.Where(p => !p.Key.EndsWith("index.json")), Is.EqualTo(before.Where(p => !p.Key.EndsWith("index.json"))));

        // New content: that case alone is rebuilt.
        var edited = source.Cases[4];
        var volume = Nifti.Read(edited.ImagePath);
        for (int i = 0; i < volume.Data.Length; i += 7) volume.Data[i] += 100;
        Nifti.Write(edited.ImagePath, volume, volume.StoredType);
        var rebuilt = Preprocessor.Run(source, recipe, cache);
        Assert.That((rebuilt.Built, rebuilt.Reused), Is.EqualTo((1, source.Cases.Count - 1)));
        var indexAfter = CacheIndex.Read(cache);
        for (int i = 0; i < source.Cases.Count; i++)
        {
            bool isEdited = i == 4;
            Assert.That(indexAfter.Cases[i].ImageFile == indexBefore.Cases[i].ImageFile, Is.EqualTo(!isEdited), source.Cases[i].Id);
        }
        Assert.That(ArrayFiles(cache), Has.Count.EqualTo(2 * source.Cases.Count));
        Assert.That(indexAfter.Cases[4].Image.Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(edited.ImagePath)))));
    }

    [Test]
    public void RemovedCase_IsDroppedFromTheCache()
    {
        var (source, cache) = PhantomCopy();
        var recipe = PreprocessRecipe.Phantom with { Height = 32, Width = 32 };
        Preprocessor.Run(source, recipe, cache);
        File.Delete(source.Cases[0].ImagePath);
        File.Delete(source.Cases[0].LabelPath);
        var report = Preprocessor.Run(ProstateLayout.Discover(source.Root), recipe, cache);
        Assert.That((report.Built, report.Removed), Is.EqualTo((0, 1)));
        Assert.That(CacheIndex.Read(cache).Cases.Select(c => c.Id), Does.Not.Contain(source.Cases[0].Id));
        Assert.That(ArrayFiles(cache), Has.Count.EqualTo(2 * (source.Cases.Count - 1)));
    }

    [Test]
    public void MismatchedImageAndLabel_FailsNamingBothFiles()
    {
        var data = Path.Combine(root, "data");
        WriteCase(data, "S", "Case00", "Case00_Segmentation.nii.gz", 1);
        var label = Path.Combine(data, "S", "Case00_Segmentation.nii.gz");
        Nifti.Write(label, new Volume(new float[2 * 6 * 8], [2, 6, 8]), VoxelType.UInt8);
        var e = Assert.Throws<InvalidDataException>(() => Preprocessor.Run(ProstateLayout.Discover(data), PreprocessRecipe.Phantom, Path.Combine(root, "cache")));
        Assert.That(e!.Message, Does.Contain("Case00_Segmentation.nii.gz").And.Contain("Case00.nii.gz"));
        Assert.That(File.Exists(Path.Combine(root, "cache", CacheIndex.FileName)), Is.False, "nothing half-written");
    }

    /// <summary>A 3×6×8 case: an intensity ramp and a label with classes 0 and 2.</summary>
    private static void WriteCase(string data, string site, string name, string labelName, int seed)
    {
        var image = Enumerable.Range(0, 3 * 6 * 8).Select(i => (float)((i * 37 + seed * 11) % 97)).ToArray();
        var label = Enumerable.Range(0, 3 * 6 * 8).Select(i => (i % 8 >= 2 && i % 8 < 5 && i / 8 % 6 >= 1 && i / 8 % 6 < 4) ? 2f : 0f).ToArray();
        double[] spacing = [3.0, 0.5, 0.25];
        Nifti.Write(Path.Combine(data, site, name + ".nii.gz"), new Volume(image, [3, 6, 8], spacing), VoxelType.Int16);
        Nifti.Write(Path.Combine(data, site, labelName), new Volume(label, [3, 6, 8], spacing), VoxelType.UInt8);
    }

    private (DatasetSource Source, string Cache) PhantomCopy()
    {
        var data = Path.Combine(root, "phantom-prostate");
        PhantomTestData.CopyDirectory(PhantomTestData.Phantom.Directory, data);
        return (ProstateLayout.Discover(data), Path.Combine(root, "cache"));
    }

    private static Dictionary<string, (long, DateTime)> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order()
            .ToDictionary(f => f, f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)));

    private static List<string> ArrayFiles(string cache) =>
        Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(CacheIndex.FileName)).Order().ToList();
}
