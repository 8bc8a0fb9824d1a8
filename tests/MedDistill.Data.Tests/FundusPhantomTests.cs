using System.Security.Cryptography;
using System.Text;
using MedDistill.Data.Phantom;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// The three-domain retinal phantom (CHASE_DB1, STARE, DRIVE layouts) and the PPM/GIF/TIFF readers and writers it needs:
/// file names, formats and sizes, the FOV, the vessel fraction, domain differences, determinism and corrupt files.
/// </summary>
public class FundusPhantomTests : TempDirTest
{
    private static readonly FundusPhantomOptions Small = new() { Seed = 3, Scale = 0.125, ChaseImages = 4, StareImages = 3, DriveTraining = 2, DriveTest = 2 };

    [Test]
    public void Phantom_HasEachDatasetsLayoutNamesAndSizes()
    {
        var result = FundusPhantom.Generate(Dir, Small);
        Assert.That(result.Files, Is.SupersetOf(new[]
        {
            "CHASE_DB1/Image_01L.jpg", "CHASE_DB1/Image_01L_1stHO.png", "CHASE_DB1/Image_02R.jpg", "CHASE_DB1/Image_02R_1stHO.png",
            "STARE/stare-images/im0001.ppm.gz", "STARE/labels-ah/im0001.ah.ppm.gz", "STARE/stare-images/im0003.ppm.gz",
            "DRIVE/training/images/21_training.tif", "DRIVE/training/1st_manual/21_manual1.gif", "DRIVE/training/mask/21_training_mask.gif",
            "DRIVE/training/images/22_training.tif", "DRIVE/test/images/01_test.tif", "DRIVE/test/1st_manual/02_manual1.gif", "DRIVE/test/mask/02_test_mask.gif",
        }));
        Assert.That(result.Files.Count(f => f != "phantom.json"), Is.EqualTo(4 * 2 + 3 * 2 + 4 * 3));
        var d = result.Directory;
        // 1/8 of 999×960, 700×605 and 565×584 (width × height); shapes are (rows, columns[, 3]).
        Check(Path.Combine(d, "CHASE_DB1/Image_01L.jpg"), VolumeFormat.Jpeg, [120, 125, 3]);
        Check(Path.Combine(d, "CHASE_DB1/Image_01L_1stHO.png"), VolumeFormat.Png, [120, 125]);
        Check(Path.Combine(d, "STARE/stare-images/im0001.ppm.gz"), VolumeFormat.Pnm, [76, 88, 3]);
        Check(Path.Combine(d, "STARE/labels-ah/im0001.ah.ppm.gz"), VolumeFormat.Pnm, [76, 88]);
        Check(Path.Combine(d, "DRIVE/training/images/21_training.tif"), VolumeFormat.Tiff, [73, 71, 3]);
        Check(Path.Combine(d, "DRIVE/training/1st_manual/21_manual1.gif"), VolumeFormat.Gif, [73, 71]);
        Check(Path.Combine(d, "DRIVE/test/mask/01_test_mask.gif"), VolumeFormat.Gif, [73, 71]);
        foreach (var label in new[] { "CHASE_DB1/Image_01L_1stHO.png", "STARE/labels-ah/im0001.ah.ppm.gz", "DRIVE/training/1st_manual/21_manual1.gif", "DRIVE/training/mask/21_training_mask.gif" })
            Assert.That(VolumeReader.Read(Path.Combine(d, label)).Data.Distinct().Order(), Is.EqualTo(new float[] { 0, 255 }), label);
    }

    private static void Check(string path, VolumeFormat format, int[] shape)
    {
        Assert.That(VolumeReader.Detect(path), Is.EqualTo(format), path);
        Assert.That(VolumeReader.Read(path).Shape, Is.EqualTo(shape), path);
        var info = VolumeInspector.Inspect(path);
        Assert.That(info["shape"]!.AsArray().Select(n => n!.GetValue<int>()), Is.EqualTo(shape), path);
        Assert.That(info["dtype"]!.GetValue<string>(), Is.EqualTo("uint8"));
    }

    [Test]
    public void DriveFovMask_IsTheCircle_VesselsLieInside_OutsideIsDark()
    {
        var result = FundusPhantom.Generate(Dir, Small);
        var mask = VolumeReader.Read(Path.Combine(result.Directory, "DRIVE/training/mask/21_training_mask.gif"));
        var label = VolumeReader.Read(Path.Combine(result.Directory, "DRIVE/training/1st_manual/21_manual1.gif"));
        var image = VolumeReader.Read(Path.Combine(result.Directory, "DRIVE/training/images/21_training.tif"));
        int h = mask.Shape[0], w = mask.Shape[1];
        double inside = mask.Data.Count(v => v == 255) / (double)(w * h);
        // A circle of radius 0.455 h in a 71×73 image covers π·0.455²·h/w ≈ 67 % of it; corners are outside.
        Assert.That(inside, Is.InRange(0.6, 0.75));
        Assert.That(mask.Data[0], Is.EqualTo(0f));
        Assert.That(mask.Data[(h / 2) * w + w / 2], Is.EqualTo(255f));
        for (int i = 0; i < mask.Data.Length; i++)
        {
            if (label.Data[i] == 255) Assert.That(mask.Data[i], Is.EqualTo(255f), $"vessel pixel {i} outside the FOV");
            if (mask.Data[i] == 0) Assert.That(image.Data[3 * i] + image.Data[3 * i + 1] + image.Data[3 * i + 2], Is.LessThan(30), $"pixel {i} outside the FOV");
        }
    }

    [TestCase(0.125)]
    [TestCase(0.25)]
    public void VesselFraction_OfFovPixels_IsPlausible(double scale)
    {
        var options = Small with { Scale = scale };
        foreach (var look in new[] { FundusPhantom.ChaseLook, FundusPhantom.StareLook, FundusPhantom.DriveLook })
            for (int i = 0; i < 3; i++)
            {
                var image = FundusPhantom.Render(options, look, i);
                double fraction = image.Label.Count(v => v == 1) / (double)image.Fov.Count(v => v == 1);
                TestContext.Out.WriteLine($"{look.Domain} {i} scale {scale}: {fraction:P1}");
                // Annotated vessel fractions of DRIVE, STARE and CHASE_DB1 lie around 8–14 % of the field of view.
                Assert.That(fraction, Is.InRange(0.07, 0.16), $"{look.Domain} image {i}");
            }
    }

    [Test]
    public void Domains_DifferInMeanColourAndVesselContrast()
    {
        var options = Small with { Scale = 0.25 };
        var stats = new[] { FundusPhantom.ChaseLook, FundusPhantom.StareLook, FundusPhantom.DriveLook }.Select(look =>
        {
            double red = 0, green = 0, contrast = 0;
            for (int i = 0; i < 3; i++)
            {
                var im = FundusPhantom.Render(options, look, i);
                double r = 0, g = 0, gv = 0, gb = 0; int n = 0, nv = 0, nb = 0;
                for (int p = 0; p < im.Fov.Length; p++)
                {
                    if (im.Fov[p] == 0) continue;
                    r += im.Rgb[3 * p]; g += im.Rgb[3 * p + 1]; n++;
                    if (im.Label[p] == 1) { gv += im.Rgb[3 * p + 1]; nv++; } else { gb += im.Rgb[3 * p + 1]; nb++; }
                }
                red += r / n / 3; green += g / n / 3;
                contrast += (gb / nb - gv / nv) / (gb / nb) / 3; // Michelson-like contrast of vessels in the green channel
            }
            TestContext.Out.WriteLine($"{look.Domain}: mean R {red:F1} G {green:F1}, green vessel contrast {contrast:P1}");
            return (look.Domain, Red: red, Green: green, Contrast: contrast);
        }).ToDictionary(s => s.Domain);
        var chase = stats[FundusPhantom.Chase];
        var stare = stats[FundusPhantom.Stare];
        var drive = stats[FundusPhantom.Drive];
        Assert.That(chase.Green, Is.LessThan(drive.Green - 10), "CHASE_DB1 is darker than DRIVE");
        Assert.That(stare.Red, Is.GreaterThan(drive.Red + 10), "STARE is brighter than DRIVE");
        Assert.That(chase.Red / chase.Green, Is.GreaterThan(stare.Red / stare.Green + 0.3), "CHASE_DB1 is redder");
        Assert.That(stare.Contrast, Is.LessThan(Math.Min(chase.Contrast, drive.Contrast) - 0.03), "STARE's blur lowers vessel contrast");
        foreach (var s in stats.Values) Assert.That(s.Contrast, Is.GreaterThan(0.05), $"{s.Domain}: vessels visible");
    }

    [Test]
    public void SameSeed_SameBytes_OtherSeed_OtherTrees_SecondCallWritesNothing()
    {
        var options = Small with { ChaseImages = 1, StareImages = 1, DriveTraining = 1, DriveTest = 1 };
        var a = FundusPhantom.Generate(Path.Combine(Dir, "a"), options);
        var b = FundusPhantom.Generate(Path.Combine(Dir, "b"), options);
        foreach (var f in a.Files)
            Assert.That(SHA256.HashData(File.ReadAllBytes(Path.Combine(b.Directory, f))), Is.EqualTo(SHA256.HashData(File.ReadAllBytes(Path.Combine(a.Directory, f)))), f);
        Assert.That(FundusPhantom.Generate(Path.Combine(Dir, "a"), options).Generated, Is.False);
        var other = FundusPhantom.Render(options with { Seed = 4 }, FundusPhantom.DriveLook, 0).Label;
        Assert.That(other, Is.Not.EqualTo(FundusPhantom.Render(options, FundusPhantom.DriveLook, 0).Label));
    }

    [TestCase("x.ppm", false)]
    [TestCase("x.ppm.gz", false)]
    [TestCase("x.pgm", true)]
    [TestCase("x.gif", false)]
    [TestCase("x.gif", true)]
    [TestCase("x.tif", false)]
    [TestCase("x.tif", true)]
    public void Writers_RoundTripThroughTheReaders(string name, bool grey)
    {
        int w = 7, h = 5, c = grey ? 1 : 3;
        // Few distinct colours so GIF's 256-entry palette holds them exactly.
        var pixels = Enumerable.Range(0, w * h * c).Select(i => (byte)(i * 37 % 5 * 50)).ToArray();
        var bytes = name switch
        {
            "x.gif" => RetinaImage.EncodeGif(pixels, w, h, grey),
            "x.tif" => RetinaImage.EncodeTiff(pixels, w, h, grey),
            "x.ppm.gz" => RetinaImage.Gzip(RetinaImage.EncodePnm(pixels, w, h, grey)),
            _ => RetinaImage.EncodePnm(pixels, w, h, grey),
        };
        File.WriteAllBytes(PathOf(name), bytes);
        var volume = VolumeReader.Read(PathOf(name));
        Assert.That(volume.Shape, Is.EqualTo(grey ? new[] { h, w } : new[] { h, w, 3 }));
        Assert.That(volume.Data, Is.EqualTo(pixels.Select(p => (float)p).ToArray()));
    }

    [Test]
    public void HandBuiltPpm_IsIndependentTruth()
    {
        // P6, a comment, 2×1 pixels: (10, 20, 30) and (200, 100, 0) — Netpbm's documented layout, built here by hand.
        var bytes = Encoding.ASCII.GetBytes("P6\n# made by hand\n2 1\n255\n").Concat(new byte[] { 10, 20, 30, 200, 100, 0 }).ToArray();
        File.WriteAllBytes(PathOf("hand.ppm"), bytes);
        var v = VolumeReader.Read(PathOf("hand.ppm"));
        Assert.That(v.Shape, Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(v.Data, Is.EqualTo(new float[] { 10, 20, 30, 200, 100, 0 }));
        Assert.That(VolumeInspector.Inspect(PathOf("hand.ppm"))["format"]!.GetValue<string>(), Is.EqualTo("ppm"));
        // A P6 file keeps three channels even when every pixel is grey: the header, not the content, decides.
        File.WriteAllBytes(PathOf("grey.ppm"), Encoding.ASCII.GetBytes("P6 1 1 255\n").Concat(new byte[] { 7, 7, 7 }).ToArray());
        Assert.That(VolumeReader.Read(PathOf("grey.ppm")).Shape, Is.EqualTo(new[] { 1, 1, 3 }));
    }

    [TestCase("bad.tif")]
    [TestCase("bad.gif")]
    [TestCase("bad.ppm")]
    [TestCase("bad.ppm.gz")]
    public void CorruptFile_ErrorNamesTheFile(string name)
    {
        var good = name switch
        {
            "bad.tif" => RetinaImage.EncodeTiff(new byte[3 * 40 * 30], 40, 30),
            "bad.gif" => RetinaImage.EncodeGif(Enumerable.Range(0, 40 * 30).Select(i => (byte)(i % 7 * 30)).ToArray(), 40, 30, grey: true),
            "bad.ppm.gz" => RetinaImage.Gzip(RetinaImage.EncodePnm(new byte[3 * 40 * 30], 40, 30)),
            _ => RetinaImage.EncodePnm(new byte[3 * 40 * 30], 40, 30),
        };
        File.WriteAllBytes(PathOf(name), good[..(good.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => VolumeReader.Read(PathOf(name)))!;
        Assert.That(e.Message, Does.Contain(PathOf(name)));
    }

    [Test]
    public void HugeClaimedSize_IsRefusedBeforeAllocating()
    {
        File.WriteAllBytes(PathOf("huge.ppm"), Encoding.ASCII.GetBytes("P6\n60000 60000\n255\n").Concat(new byte[16]).ToArray());
        var e = Assert.Throws<DataFormatException>(() => RetinaImage.ReadPnm(PathOf("huge.ppm"), new ReadLimits { MaxVoxels = 1 << 20 }))!;
        Assert.That(e.Message, Does.Contain("huge.ppm").And.Contain("limit"));
    }
}
