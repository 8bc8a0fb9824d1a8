using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// The fundus layout (CHASE_DB1, STARE, DRIVE) on a tiny phantom (scale 0.05: CHASE_DB1 50×48, the others 32×32 or
/// 35×32): discovery, GKD's lists, and the cache — green channel, binarised labels and the field of view.
/// </summary>
[TestFixture]
public sealed class FundusPreprocessingTests
{
    private static readonly FundusPhantomOptions Tiny = new() { Seed = 5, Scale = 0.05, ChaseImages = 28, StareImages = 3, DriveTraining = 2, DriveTest = 2 };

    /// <summary>CHASE_DB1's size at scale 0.05, so its images are cached without resizing and pixels compare exactly.</summary>
    private static readonly PreprocessRecipe Recipe = PreprocessRecipe.PhantomFundus with { Height = 48, Width = 50 };

    private string root = null!, dataDir = null!, cacheDir = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        root = PhantomTestData.NewTempDir("md-fundus-prep-");
        dataDir = FundusPhantom.Generate(root, Tiny).Directory;
        cacheDir = Path.Combine(root, "cache");
        Preprocessor.Run(DatasetLayouts.Discover(dataDir, FundusPhantom.DatasetName), Recipe, cacheDir);
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(root, recursive: true);

    [Test]
    public void Discover_FindsThreeSites_AndTheStatedSplit()
    {
        var source = DatasetLayouts.Discover(dataDir, FundusPhantom.DatasetName);
        Assert.That(source.Cases.GroupBy(c => c.Site).ToDictionary(g => g.Key, g => g.Count()),
            Is.EquivalentTo(new Dictionary<string, int> { ["CHASE_DB1"] = 28, ["STARE"] = 3, ["DRIVE"] = 4 }));
        Assert.That(source.Cases.Select(c => c.Id), Does.Contain("CHASE_DB1/Image_01L").And.Contain("STARE/im0001").And.Contain("DRIVE/21_training").And.Contain("DRIVE/01_test"));

        var chase = Enumerable.Range(0, 28).Select(i => $"CHASE_DB1/{FundusPhantom.ChaseName(i)}").ToList();
        Assert.That(source.Lists!["train"], Is.EqualTo(chase.Take(20).Concat(["DRIVE/21_training", "DRIVE/22_training"])), "subjects 01–10 and DRIVE training/");
        Assert.That(source.Lists["test"], Is.EqualTo(chase.Skip(20).Concat(["DRIVE/01_test", "DRIVE/02_test", "STARE/im0001", "STARE/im0002", "STARE/im0003"])),
            "subjects 11–14, DRIVE test/ and every STARE image");
        Assert.That(source.Lists["test"][0], Is.EqualTo("CHASE_DB1/Image_11L"));

        Assert.That(source.Cases.Where(c => c.Site == "DRIVE").Select(c => Path.GetFileName(c.FovPath)),
            Is.EqualTo(new[] { "01_test_mask.gif", "02_test_mask.gif", "21_training_mask.gif", "22_training_mask.gif" }));
        Assert.That(source.Cases.Where(c => c.Site != "DRIVE").Select(c => c.FovPath), Is.All.Null, "only DRIVE ships FOV masks");
    }

    [Test]
    public void TheCachedImage_IsTheGreenChannelOverTwoFiftyFive()
    {
        var index = CacheIndex.Read(cacheDir);
        var c = index.Cases.Single(x => x.Id == "CHASE_DB1/Image_03L");
        Assert.That(c.Shape, Is.EqualTo(new[] { 1, 48, 50 }));
        var (rgb, width, height, grey) = RasterImage.ReadRgb(Path.Combine(dataDir, "CHASE_DB1", "Image_03L.jpg"));
        Assert.That((width, height, grey), Is.EqualTo((50, 48, false)));
        var image = CacheArrays.ReadImage(cacheDir, c);
        var green = Enumerable.Range(0, width * height).Select(i => rgb[3 * i + 1] / 255f).ToArray();
        Assert.That(image, Is.EqualTo(green).Within(1e-6));
        Assert.That(image, Is.Not.EqualTo(Enumerable.Range(0, width * height).Select(i => rgb[3 * i] / 255f).ToArray()).Within(1e-6), "not the red channel");
    }

    [Test]
    public void EveryCase_HasBinaryLabels_AndAZeroOneFov()
    {
        var index = CacheIndex.Read(cacheDir);
        Assert.That(index.Cases, Has.Count.EqualTo(35));
        foreach (var c in index.Cases)
        {
            var label = CacheArrays.ReadLabel(cacheDir, c);
            var fov = CacheArrays.ReadFov(cacheDir, c)!;
            Assert.That(c.FovFile, Does.EndWith(Preprocessor.FovSuffix), c.Id);
            Assert.That(c.FovFile, Is.Not.Null, c.Id);
            Assert.That(fov.Distinct().Order(), Is.EqualTo(new byte[] { 0, 1 }), c.Id);
            Assert.That(label.Distinct().Order(), Is.EqualTo(new byte[] { 0, 1 }), c.Id);
            double inside = fov.Count(v => v == 1) / (double)fov.Length;
            Assert.That(inside, Is.InRange(0.5, 0.9), $"{c.Id}: the FOV disc covers most of the image, not its corners");
            int vessels = label.Count(v => v == 1), vesselsInside = Enumerable.Range(0, label.Length).Count(i => label[i] == 1 && fov[i] == 1);
            Assert.That(vesselsInside, Is.GreaterThanOrEqualTo(0.98 * vessels), $"{c.Id}: vessels lie inside the FOV");
        }
        Assert.That(index.Cases.Where(c => c.Site == "DRIVE").Select(c => c.FovSource), Is.All.Not.Null);
        Assert.That(index.Cases.Where(c => c.Site != "DRIVE").Select(c => c.FovSource), Is.All.Null);
    }

    [Test]
    public void DrivesFov_IsItsMaskFile_ResizedNearest()
    {
        var c = CacheIndex.Read(cacheDir).Cases.Single(x => x.Id == "DRIVE/22_training");
        var mask = VolumeReader.Read(Path.Combine(dataDir, "DRIVE", "training", "mask", "22_training_mask.gif"));
        int h = mask.Shape[0], w = mask.Shape[1];
        var expected = new byte[48 * 50];
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 50; x++)
            {
                // Nearest on pixel centres: output (y, x) takes source (floor((y + ½)·h/48), floor((x + ½)·w/50)).
                int sy = (int)Math.Floor((y + 0.5) * h / 48), sx = (int)Math.Floor((x + 0.5) * w / 50);
                expected[y * 50 + x] = mask.Data[sy * w + sx] > 0 ? (byte)1 : (byte)0;
            }
        Assert.That(CacheArrays.ReadFov(cacheDir, c), Is.EqualTo(expected));
    }

    [Test]
    public void AMissingFovArray_IsRebuilt_AndStaleFovArraysAreDeleted()
    {
        var copy = PhantomTestData.NewTempDir("md-fundus-cache-");
        try
        {
            PhantomTestData.CopyDirectory(cacheDir, copy);
            var source = DatasetLayouts.Discover(dataDir, FundusPhantom.DatasetName);
            var unchanged = Preprocessor.Run(source, Recipe, copy);
            Assert.That((unchanged.Built, unchanged.IndexWritten), Is.EqualTo((0, false)));

            var victim = CacheIndex.Read(copy).Cases.Single(x => x.Id == "STARE/im0002");
            File.Delete(Path.Combine(copy, victim.FovFile!));
            Assert.That(Preprocessor.Run(source, Recipe, copy).Built, Is.EqualTo(1), "only the case whose FOV array is gone");
            Assert.That(File.Exists(Path.Combine(copy, victim.FovFile!)));

            // Another recipe names new arrays: the old FOV arrays must go with the old images and labels.
            var smaller = Recipe with { Height = 24, Width = 24 };
            Preprocessor.Run(source, smaller, copy);
            var index = CacheIndex.Read(copy);
            var fovFiles = Directory.GetFiles(copy, "*" + Preprocessor.FovSuffix, SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(copy, f).Replace('\\', '/'));
            Assert.That(fovFiles, Is.EquivalentTo(index.Cases.Select(c => c.FovFile)));
            Assert.That(CacheArrays.ReadFov(copy, index.Cases[0])!.Length, Is.EqualTo(24 * 24));
        }
        finally { Directory.Delete(copy, recursive: true); }
    }

    [Test]
    public void AnImageWithoutLabel_OrALabelWithoutImage_IsNamed()
    {
        var dir = PhantomTestData.NewTempDir("md-fundus-layout-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "CHASE_DB1"));
            File.WriteAllBytes(Path.Combine(dir, "CHASE_DB1", "Image_01L.jpg"), []);
            var e = Assert.Throws<InvalidDataException>(() => FundusLayout.Discover(dir))!;
            Assert.That(e.Message, Does.Contain("Image_01L.jpg").And.Contain("no label"));

            File.WriteAllBytes(Path.Combine(dir, "CHASE_DB1", "Image_01L_1stHO.png"), []);
            var manual = Path.Combine(dir, "DRIVE", "test", "1st_manual");
            Directory.CreateDirectory(manual);
            File.WriteAllBytes(Path.Combine(manual, "05_manual1.gif"), []);
            e = Assert.Throws<InvalidDataException>(() => DatasetLayouts.Discover(dir, "retinal-vessels"))!;
            Assert.That(e.Message, Does.Contain("05_manual1.gif").And.Contain("without an image"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void TheNewSettings_ArePartOfTheHash_AndValidated()
    {
        var plain = PreprocessRecipe.PhantomFundus with { Channel = null, Fov = null, FovThreshold = null };
        Assert.That(plain.ToCanonicalJson(), Does.Not.Contain("Channel").And.Not.Contain("Fov"), "null settings are omitted");
        var variants = new[] { plain, PreprocessRecipe.PhantomFundus, PreprocessRecipe.PhantomFundus with { Channel = ImageChannel.Red }, PreprocessRecipe.PhantomFundus with { FovThreshold = 0.2 } };
        Assert.That(variants.Select(v => v.Hash()).Distinct().Count(), Is.EqualTo(4));
        Assert.Throws<ArgumentException>(() => (PreprocessRecipe.PhantomFundus with { FovThreshold = null }).Validate());
        Assert.Throws<ArgumentException>(() => (PreprocessRecipe.PhantomFundus with { FovThreshold = 1.5 }).Validate());
        Assert.That(PreprocessRecipe.ByDataset["retinal-vessels"], Is.SameAs(PreprocessRecipe.RetinalVessels));
        Assert.That((PreprocessRecipe.RetinalVessels.Height, PreprocessRecipe.PhantomFundus.Height), Is.EqualTo((256, 96)));
    }
}
