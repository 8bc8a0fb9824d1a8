using System.Text.Json.Nodes;
using MedDistill.Data.Loading;
using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// M2caiSeg's layout and the colour recipe on a small laparoscopy phantom (96×54, cached at its own size so pixels
/// compare exactly): discovery and the shipped split, RGB kept as three planes, masks decoded to class indices, the
/// 3-channel cache read back through the slice dataset; and a hand-made 2×2 frame whose mask decodes to known classes.
/// </summary>
[TestFixture]
public sealed class M2caiSegPreprocessingTests
{
    private static readonly LaparoscopyPhantomOptions Small = new() { Seed = 5, Width = 96, Height = 54, TrainFrames = 11, TestFrames = 3, TrainValFrames = 2 };
    private static readonly PreprocessRecipe Recipe = PreprocessRecipe.PhantomLaparoscopy with { Height = 54, Width = 96 };

    private string root = null!, dataDir = null!, cacheDir = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        root = PhantomTestData.NewTempDir("md-m2cai-prep-");
        dataDir = LaparoscopyPhantom.Generate(root, Small).Directory;
        cacheDir = Path.Combine(root, "cache");
        Preprocessor.Run(DatasetLayouts.Discover(dataDir, LaparoscopyPhantom.DatasetName), Recipe, cacheDir, options: new PreprocessRunOptions { Parallelism = 1 });
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(root, recursive: true);

    [Test]
    public void Discover_FindsEverySplitsFrames_AndListsTrainAndTestInFrameOrder()
    {
        var source = DatasetLayouts.Discover(dataDir, LaparoscopyPhantom.DatasetName);
        Assert.That(source.Cases.GroupBy(c => c.Site).ToDictionary(g => g.Key, g => g.Count()),
            Is.EquivalentTo(new Dictionary<string, int> { ["train"] = 11, ["test"] = 3, ["trainval"] = 2 }));
        Assert.That(source.Lists!["train"], Is.EqualTo(Enumerable.Range(1, 11).Select(n => $"train/{n}")), "2 before 10");
        Assert.That(source.Lists["test"], Is.EqualTo(new[] { "test/1", "test/2", "test/3" }));
        Assert.That(source.Lists.Values.SelectMany(ids => ids), Has.None.StartsWith("trainval/"), "trainval/ is in neither list");
        var first = source.Cases.Single(c => c.Id == "train/1");
        Assert.That((Path.GetFileName(first.ImagePath), Path.GetFileName(first.LabelPath)), Is.EqualTo(("1.jpg", "1_gt.png")));
    }

    [Test]
    public void TheCachedImage_IsTheFramesRgbAsThreePlanes_OverTwoFiftyFive()
    {
        var c = CacheIndex.Read(cacheDir).Cases.Single(x => x.Id == "test/2");
        Assert.That((c.Shape, c.Channels, c.ImageChannels), Is.EqualTo((new[] { 1, 54, 96 }, (int?)3, 3)));
        Assert.That(c.SourceShape, Is.EqualTo(new[] { 54, 96, 3 }));
        var (rgb, width, height, grey) = RasterImage.ReadRgb(Path.Combine(dataDir, "test", "images", "2.jpg"));
        Assert.That((width, height, grey), Is.EqualTo((96, 54, false)));
        var image = CacheArrays.ReadImage(cacheDir, c);
        int plane = width * height;
        Assert.That(image, Has.Length.EqualTo(3 * plane));
        for (int k = 0; k < 3; k++)
            Assert.That(image.AsSpan(k * plane, plane).ToArray(), Is.EqualTo(Enumerable.Range(0, plane).Select(i => rgb[3 * i + k] / 255f).ToArray()).Within(1e-6), $"plane {k}");
        var expected = ColourPalette.M2caiSeg.ReadMask(Path.Combine(dataDir, "test", "groundtruth", "2_gt.png")).Data.Select(v => (byte)v);
        Assert.That(CacheArrays.ReadLabel(cacheDir, c), Is.EqualTo(expected), "labels are the mask's class indices");
    }

    [Test]
    public void TheSliceDataset_GivesAFramesColourPlanesAsItsThreeChannels_AndRefusesOtherCounts()
    {
        var c = CacheIndex.Read(cacheDir).Cases.Single(x => x.Id == "train/3");
        var dataset = new SliceDataset(cacheDir, [c.Id], new SliceDatasetOptions { Channels = 3 });
        Assert.That((dataset.Count, dataset.ColourChannels), Is.EqualTo((1, 3)));
        var image = new float[3 * 54 * 96];
        var label = new byte[54 * 96];
        dataset.Fill(0, image, label, AugmentationDraw.Identity);
        Assert.That(image, Is.EqualTo(CacheArrays.ReadImage(cacheDir, c)));
        Assert.That(label, Is.EqualTo(CacheArrays.ReadLabel(cacheDir, c)));

        // A flip moves pixels, so the warp path reads the planes too: the flipped red plane is the red plane mirrored.
        dataset.Fill(0, image, label, AugmentationDraw.Identity with { FlipHorizontal = true }, Interpolation.Nearest);
        var red = CacheArrays.ReadImage(cacheDir, c);
        Assert.That(image[5 * 96 + 0], Is.EqualTo(red[5 * 96 + 95]));
        Assert.That(image[2 * 54 * 96 + 7 * 96 + 10], Is.EqualTo(red[2 * 54 * 96 + 7 * 96 + 85]), "blue plane, mirrored");

        var e = Assert.Throws<ArgumentException>(() => new SliceDataset(cacheDir, [c.Id], new SliceDatasetOptions { Channels = 1 }))!;
        Assert.That(e.Message, Does.Contain("3-channel colour images"));
    }

    [Test]
    public void AColourCacheIndex_RecordsChannels_AndRebuildsNothingOnARerun()
    {
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(cacheDir, CacheIndex.FileName)))!;
        Assert.That(index["cases"]!.AsArray().Select(c => c!["channels"]!.GetValue<int>()), Is.All.EqualTo(3));
        Assert.That(index["recipe"]!["keepColour"]?.GetValue<bool>() ?? index["recipe"]!["KeepColour"]!.GetValue<bool>(), Is.True);
        var again = Preprocessor.Run(DatasetLayouts.Discover(dataDir, LaparoscopyPhantom.DatasetName), Recipe, cacheDir);
        Assert.That((again.Built, again.IndexWritten), Is.EqualTo((0, false)));
    }

    [Test]
    public void AHandMadeTwoByTwoMask_DecodesToKnownClasses()
    {
        var dir = PhantomTestData.NewTempDir("md-m2cai-2x2-");
        try
        {
            var p = ColourPalette.M2caiSeg;
            byte[] classes = [10, 1, 18, 0]; // liver, grasper / black, unknown
            var mask = classes.SelectMany(k => new[] { p[k].R, p[k].G, p[k].B }).ToArray();
            byte[] frame = [200, 40, 30, 20, 200, 40, 0, 0, 0, 90, 90, 250];
            foreach (var (split, maskName) in new[] { ("train", "7_gt.png"), ("test", "8.png") })
            {
                var stem = Path.GetFileNameWithoutExtension(maskName).Replace("_gt", "");
                RasterImage.WriteFile(Path.Combine(dir, split, "images", stem + ".png"), RasterImage.EncodePng(frame, 2, 2));
                RasterImage.WriteFile(Path.Combine(dir, split, "groundtruth", maskName), RasterImage.EncodePng(mask, 2, 2));
            }
            var source = DatasetLayouts.Discover(dir, "m2caiseg");
            Assert.That(source.Lists!["train"], Is.EqualTo(new[] { "train/7" }));
            Assert.That(source.Lists["test"], Is.EqualTo(new[] { "test/8" }), "a mask named N.png pairs too");
            var cache = Path.Combine(dir, "cache");
            Preprocessor.Run(source, PreprocessRecipe.M2caiSeg with { Height = 2, Width = 2 }, cache);
            foreach (var c in CacheIndex.Read(cache).Cases)
            {
                Assert.That(CacheArrays.ReadLabel(cache, c), Is.EqualTo(classes), c.Id);
                Assert.That(CacheArrays.ReadImage(cache, c), Is.EqualTo(new[] { 200, 20, 0, 90, 40, 200, 0, 90, 30, 40, 0, 250 }.Select(v => v / 255f)).Within(1e-6),
                    "R plane, G plane, B plane");
                Assert.That(c.ForegroundPerSlice, Is.EqualTo(new[] { 3 }), "class 0 (unknown) is the background");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void AMaskWithoutItsFrame_OrAFrameWithoutItsMask_IsNamed()
    {
        var dir = PhantomTestData.NewTempDir("md-m2cai-bad-");
        try
        {
            var png = RasterImage.EncodePng(new byte[12], 2, 2);
            RasterImage.WriteFile(Path.Combine(dir, "train", "images", "1.jpg"), RasterImage.EncodeJpeg(new byte[12], 2, 2));
            RasterImage.WriteFile(Path.Combine(dir, "train", "groundtruth", "1_gt.png"), png);
            RasterImage.WriteFile(Path.Combine(dir, "train", "groundtruth", "2_gt.png"), png);
            var e = Assert.Throws<InvalidDataException>(() => M2caiSegLayout.Discover(dir))!;
            Assert.That(e.Message, Does.Contain("2_gt.png").And.Contain("mask without a frame"));
            File.Delete(Path.Combine(dir, "train", "groundtruth", "2_gt.png"));
            RasterImage.WriteFile(Path.Combine(dir, "test", "images", "4.jpg"), RasterImage.EncodeJpeg(new byte[12], 2, 2));
            e = Assert.Throws<InvalidDataException>(() => M2caiSegLayout.Discover(dir))!;
            Assert.That(e.Message, Does.Contain("4.jpg").And.Contain("no mask"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void TheColourRecipes_AreRegistered_AndTheirSettingsAreChecked()
    {
        Assert.That(PreprocessRecipe.ByDataset["m2caiseg"], Is.SameAs(PreprocessRecipe.M2caiSeg));
        Assert.That(PreprocessRecipe.ByDataset["phantom-laparoscopy"], Is.SameAs(PreprocessRecipe.PhantomLaparoscopy));
        Assert.That((PreprocessRecipe.PhantomLaparoscopy.Height, PreprocessRecipe.M2caiSeg.Height, PreprocessRecipe.M2caiSeg.ClassCount), Is.EqualTo((64, 256, 19)));
        Assert.DoesNotThrow(PreprocessRecipe.M2caiSeg.Validate);
        Assert.That(PreprocessRecipe.Synapse.ToCanonicalJson(), Does.Not.Contain("KeepColour").And.Not.Contain("Palette"), "unset settings stay out of the hash");
        Assert.That(() => (PreprocessRecipe.M2caiSeg with { Channel = ImageChannel.Green }).Validate(), Throws.ArgumentException.With.Message.Contains("KeepColour"));
        Assert.That(() => (PreprocessRecipe.M2caiSeg with { Classes = 9 }).Validate(), Throws.ArgumentException.With.Message.Contains("Classes = 19"));
        Assert.That(() => (PreprocessRecipe.M2caiSeg with { Palette = "cityscapes" }).Validate(), Throws.ArgumentException.With.Message.Contains("cityscapes"));
    }
}
