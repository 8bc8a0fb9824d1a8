using System.Security.Cryptography;
using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

public class PhantomTests
{
    private static readonly PhantomOptions Small = new() { Seed = 11, CasesPerSite = 2, MinSlices = 4, MaxSlices = 5, MatrixScale = 0.4 };

    [Test]
    public void SameSeed_GivesIdenticalFiles_DifferentSeed_DifferentImages()
    {
        var a = PhantomTestData.NewTempDir("md-ph-a-");
        var b = PhantomTestData.NewTempDir("md-ph-b-");
        var c = PhantomTestData.NewTempDir("md-ph-c-");
        try
        {
            var ra = PhantomGenerator.Generate(a, Small);
            var rb = PhantomGenerator.Generate(b, Small);
            var rc = PhantomGenerator.Generate(c, Small with { Seed = 12 });
            Assert.That(rb.OptionsHash, Is.EqualTo(ra.OptionsHash));
            Assert.That(rc.OptionsHash, Is.Not.EqualTo(ra.OptionsHash));
            Assert.That(ra.Cases, Has.Count.EqualTo(12));
            for (int i = 0; i < ra.Cases.Count; i++)
            {
                Assert.That(Sha(rb.Cases[i].ImagePath), Is.EqualTo(Sha(ra.Cases[i].ImagePath)), ra.Cases[i].ImagePath);
                Assert.That(Sha(rb.Cases[i].LabelPath), Is.EqualTo(Sha(ra.Cases[i].LabelPath)), ra.Cases[i].LabelPath);
                Assert.That(Nifti.Read(rc.Cases[i].ImagePath).Data, Is.Not.EqualTo(Nifti.Read(ra.Cases[i].ImagePath).Data), rc.Cases[i].ImagePath);
            }
        }
        finally
        {
            foreach (var d in new[] { a, b, c }) Directory.Delete(d, true);
        }
    }

    [Test]
    public void Files_HaveTheRealLayout_AndReadBackWithEachSitesGeometry()
    {
        var phantom = PhantomTestData.Phantom;
        var opts = PhantomTestData.TinyOptions;
        Assert.That(Path.GetFileName(phantom.Directory), Is.EqualTo("phantom-prostate"));
        Assert.That(Directory.GetDirectories(phantom.Directory).Select(Path.GetFileName).Order(),
            Is.EqualTo(new[] { "BIDMC", "BMC", "HK", "I2CVB", "RUNMC", "UCL" }));
        foreach (var site in opts.Sites)
        {
            var files = Directory.GetFiles(Path.Combine(phantom.Directory, site.Name)).Select(Path.GetFileName).Order().ToArray();
            var expected = Enumerable.Range(0, opts.CasesPerSite!.Value).SelectMany(i => new[] { $"Case{i:D2}.nii.gz", $"Case{i:D2}_Segmentation.nii.gz" }).Order();
            Assert.That(files, Is.EqualTo(expected), site.Name);
            for (int i = 0; i < opts.CasesPerSite!.Value; i++)
            {
                var image = Nifti.Read(Path.Combine(phantom.Directory, site.Name, $"Case{i:D2}.nii.gz"));
                var label = Nifti.Read(Path.Combine(phantom.Directory, site.Name, $"Case{i:D2}_Segmentation.nii.gz"));
                // Half-size matrix, same field of view: spacing doubles.
                int n = (int)Math.Round(site.Matrix * 0.5);
                Assert.That(image.Shape[1..], Is.EqualTo(new[] { n, n }), site.Name);
                Assert.That(image.Shape[0], Is.InRange(8, 10));
                Assert.That(label.Shape, Is.EqualTo(image.Shape));
                Assert.That(image.Spacing[0], Is.EqualTo(site.SliceThicknessMm).Within(1e-5));
                Assert.That(image.Spacing[1], Is.EqualTo(site.PixelSpacingMm * site.Matrix / n).Within(1e-5));
                Assert.That(image.Spacing[2], Is.EqualTo(image.Spacing[1]));
                Assert.That(image.StoredType, Is.EqualTo(site.StoredAs));
                Assert.That(label.StoredType, Is.EqualTo(VoxelType.UInt8));
                Assert.That(label.Data.Distinct().Order(), Is.EqualTo(new[] { 0f, 1f }), "labels binary and non-empty");
                Assert.That(image.Data.All(float.IsFinite));
            }
        }
    }

    [Test]
    public void Generate_IsIdempotent_AndRegeneratesWhenOptionsChangeOrAFileIsMissing()
    {
        var root = PhantomTestData.NewTempDir("md-ph-idem-");
        try
        {
            var first = PhantomGenerator.Generate(root, Small);
            Assert.That(first.Generated, Is.True);
            var files = Directory.GetFiles(first.Directory, "*", SearchOption.AllDirectories);
            var times = files.ToDictionary(f => f, File.GetLastWriteTimeUtc);
            Thread.Sleep(20);
            var second = PhantomGenerator.Generate(root, Small);
            Assert.That(second.Generated, Is.False);
            Assert.That(files.Select(File.GetLastWriteTimeUtc), Is.EqualTo(files.Select(f => times[f])), "no file rewritten");

            File.Delete(first.Cases[3].LabelPath);
            Assert.That(PhantomGenerator.Generate(root, Small).Generated, Is.True, "a missing file regenerates");
            Assert.That(File.Exists(first.Cases[3].LabelPath));

            var third = PhantomGenerator.Generate(root, Small with { CasesPerSite = 3 });
            Assert.That(third.Generated, Is.True);
            Assert.That(Directory.GetFiles(Path.Combine(third.Directory, "HK")), Has.Length.EqualTo(6));
            Assert.That(Directory.GetDirectories(root).Select(Path.GetFileName), Is.EqualTo(new[] { "phantom-prostate" }), "no temporary folder left");
        }
        finally { Directory.Delete(root, true); }
    }

    [Test]
    public void OptionsHash_CoversEverySetting()
    {
        var baseline = new PhantomOptions();
        Assert.That(new PhantomOptions().Hash(), Is.EqualTo(baseline.Hash()));
        var variants = new[]
        {
            baseline with { Seed = 1 }, baseline with { CasesPerSite = 6 }, baseline with { MinSlices = 17 }, baseline with { MaxSlices = 21 },
            baseline with { MatrixScale = 0.5 }, baseline with { Sites = [.. baseline.Sites.Take(5), baseline.Sites[5] with { NoiseSigma = 0.06 }] },
            baseline with { Sites = [.. baseline.Sites.Take(5), baseline.Sites[5] with { Cases = 7 }] },
        };
        Assert.That(variants.Select(v => v.Hash()).Append(baseline.Hash()).Distinct().Count(), Is.EqualTo(variants.Length + 1));
    }

    [Test]
    public void DefaultCaseCounts_AreTheRealDataSets_AndEachSiteWritesItsOwn()
    {
        var defaults = new PhantomOptions();
        Assert.That(defaults.Sites.Select(s => (s.Name, defaults.CasesOf(s))),
            Is.EqualTo(new[] { ("RUNMC", 30), ("BMC", 30), ("I2CVB", 19), ("UCL", 13), ("BIDMC", 12), ("HK", 12) }));
        Assert.That((defaults with { CasesPerSite = 4 }).CasesOf(defaults.Sites[2]), Is.EqualTo(4));

        // Per-site counts reach the files: two sites with 1 and 3 cases.
        var root = Path.Combine(Path.GetTempPath(), "md-phantom-cases-" + Guid.NewGuid().ToString("N"));
        try
        {
            var opts = new PhantomOptions
            {
                Seed = 3, MinSlices = 3, MaxSlices = 3, MatrixScale = 0.2,
                Sites = [PhantomSite.Defaults[0] with { Cases = 1 }, PhantomSite.Defaults[3] with { Cases = 3 }],
            };
            var result = PhantomGenerator.Generate(root, opts);
            Assert.That(result.Cases.Select(c => $"{c.Site}/{c.Case}"), Is.EqualTo(new[] { "RUNMC/Case00", "UCL/Case00", "UCL/Case01", "UCL/Case02" }));
            Assert.That(result.Cases.All(c => File.Exists(c.ImagePath) && File.Exists(c.LabelPath)));
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, true); }
    }

    [Test]
    public void BadOptions_AreRejectedWithTheSettingNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => PhantomGenerator.Generate(Path.GetTempPath(), new PhantomOptions { MinSlices = 10, MaxSlices = 5 }));
        Assert.That(e!.Message, Does.Contain("MinSlices"));
        e = Assert.Throws<ArgumentException>(() => new PhantomOptions { Sites = [PhantomSite.Defaults[0] with { ContrastInversion = 2 }] }.Validate());
        Assert.That(e!.Message, Does.Contain("RUNMC").And.Contain("ContrastInversion"));
    }

    [Test]
    public void Sites_DifferMeasurablyInRangeAndContrast()
    {
        var phantom = PhantomTestData.Phantom;
        (double P99, double GlandVsSurround) Stats(string site)
        {
            var p99 = new List<double>();
            var contrast = new List<double>();
            foreach (var c in phantom.Cases.Where(c => c.Site == site))
            {
                var image = Nifti.Read(c.ImagePath);
                var label = Nifti.Read(c.LabelPath).Data;
                p99.Add(image.Data.Order().ElementAt((int)(0.99 * (image.Data.Length - 1))));
                // Gland median against the median of a 3-voxel ring around it in the same slice (periprostatic tissue),
                // relative to their sum: negative when the gland is darker than its surroundings, as on T2.
                int n = image.Shape[1], plane = n * n;
                var gland = new List<float>();
                var ring = new List<float>();
                for (int i = 0; i < image.Data.Length; i++)
                {
                    if (label[i] > 0) { gland.Add(image.Data[i]); continue; }
                    int z = i / plane, y = i % plane / n, x = i % n;
                    bool near = false;
                    for (int dy = -3; dy <= 3 && !near; dy++)
                        for (int dx = -3; dx <= 3 && !near; dx++)
                        {
                            int yy = y + dy, xx = x + dx;
                            near = (uint)yy < (uint)n && (uint)xx < (uint)n && label[z * plane + yy * n + xx] > 0;
                        }
                    if (near) ring.Add(image.Data[i]);
                }
                double g = gland.Order().ElementAt(gland.Count / 2), r = ring.Order().ElementAt(ring.Count / 2);
                contrast.Add((g - r) / (Math.Abs(g) + Math.Abs(r)));
            }
            return (p99.Average(), contrast.Average());
        }
        var stats = PhantomTestData.TinyOptions.Sites.ToDictionary(s => s.Name, s => Stats(s.Name));
        TestContext.Out.WriteLine(string.Join("; ", stats.Select(p => $"{p.Key}: p99 {p.Value.P99:F0}, gland vs surround {p.Value.GlandVsSurround:F2}")));
        // Stored ranges differ several-fold between scanners.
        Assert.That(stats["RUNMC"].P99 / stats["I2CVB"].P99, Is.GreaterThan(2));
        Assert.That(stats["BIDMC"].P99 / stats["RUNMC"].P99, Is.GreaterThan(1.5));
        // T2-like sites show the gland darker than its surroundings; I2CVB's inverted curve shows it brighter.
        foreach (var site in stats.Keys.Where(s => s != "I2CVB"))
            Assert.That(stats[site].GlandVsSurround, Is.LessThan(-0.03), site);
        Assert.That(stats["I2CVB"].GlandVsSurround, Is.GreaterThan(0.03));
    }

    [Test]
    public void FiveSiteIntensityClassifier_LosesDiceOnTheShiftedSixthSite()
    {
        // Proxy for "a model trained on five sites loses Dice on the sixth" until the training engine exists: a lookup-table
        // classifier on the preprocessed (clipped, z-scored) slices, fitted on three cases of each of five sites; Dice on
        // their fourth cases versus on every case of the left-out site.
        var index = CacheIndex.Read(PhantomTestData.CacheDir);
        var results = new Dictionary<string, (double InDomain, double Target)>();
        foreach (var target in new[] { "I2CVB", "BIDMC" })
        {
            var trainSites = index.Cases.Select(c => c.Site).Distinct().Where(s => s != target).ToList();
            var fit = index.Cases.Where(c => trainSites.Contains(c.Site) && c.Name != "Case03").ToList();
            var heldIn = index.Cases.Where(c => trainSites.Contains(c.Site) && c.Name == "Case03").ToList();
            var heldOut = index.Cases.Where(c => c.Site == target).ToList();
            var model = VoxelClassifier.Fit(fit.Select(c => Load(index, c)).ToList());
            double inDomain = heldIn.Average(c => model.Dice(Load(index, c)));
            double targetDice = heldOut.Average(c => model.Dice(Load(index, c)));
            results[target] = (inDomain, targetDice);
            TestContext.Out.WriteLine($"train on {string.Join(",", trainSites)}: Dice held-out cases of those sites {inDomain:F3}, {target} {targetDice:F3}");
        }
        // Measured with this seed: in-domain 0.67 vs I2CVB 0.32; in-domain 0.62 vs BIDMC 0.55.
        Assert.That(results["I2CVB"].InDomain, Is.GreaterThan(0.5), "the classifier must work in-domain for the comparison to mean anything");
        Assert.That(results["I2CVB"].InDomain - results["I2CVB"].Target, Is.GreaterThan(0.2), "I2CVB's inverted contrast and wider field of view defeat the five-site model");
        Assert.That(results["BIDMC"].InDomain - results["BIDMC"].Target, Is.GreaterThan(0.03), "BIDMC's coil bias and noise cost Dice");
    }

    private static (float[] Image, byte[] Label, int Slices, int H, int W) Load(CacheIndex index, CachedCase c) =>
        (CacheArrays.ReadImage(PhantomTestData.CacheDir, c), CacheArrays.ReadLabel(PhantomTestData.CacheDir, c), c.Slices, c.Height, c.Width);

    private static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>
    /// A lookup-table classifier: P(gland | intensity, 5×5 and 11×11 local means, distance from the slice centre), each
    /// binned (12, 12, 12, 10 bins), counted on the fit
    /// data (Laplace-smoothed), thresholded where the fit data's pooled Dice is best. It learns "a central blob of this
    /// appearance", i.e. the intensity statistics of the training sites, which is what a domain shift breaks.
    /// </summary>
    private sealed class VoxelClassifier
    {
        private const int Cells = 12 * 12 * 12 * 10;
        private readonly double[] probability = new double[Cells];
        private double threshold = 0.5;

        public static VoxelClassifier Fit(List<(float[] Image, byte[] Label, int Slices, int H, int W)> cases)
        {
            var gland = new double[Cells];
            var total = new double[Cells];
            var cells = new List<int>();
            var labels = new List<byte>();
            foreach (var c in cases)
            {
                var f = CellsOf(c);
                for (int i = 0; i < f.Length; i++)
                {
                    total[f[i]]++;
                    if (c.Label[i] > 0) gland[f[i]]++;
                }
                cells.AddRange(f);
                labels.AddRange(c.Label);
            }
            var model = new VoxelClassifier();
            double prior = gland.Sum() / total.Sum();
            for (int k = 0; k < Cells; k++) model.probability[k] = (gland[k] + prior) / (total[k] + 1);
            double best = -1;
            for (double t = 0.05; t < 0.95; t += 0.05)
            {
                double d = Dice(cells.Select(k => model.probability[k] > t).ToArray(), labels);
                if (d > best) (best, model.threshold) = (d, t);
            }
            return model;
        }

        public double Dice((float[] Image, byte[] Label, int Slices, int H, int W) c) =>
            Dice(CellsOf(c).Select(k => probability[k] > threshold).ToArray(), c.Label);

        private static double Dice(bool[] prediction, IReadOnlyList<byte> label)
        {
            long both = 0, p = 0, l = 0;
            for (int i = 0; i < prediction.Length; i++)
            {
                if (prediction[i]) p++;
                if (label[i] > 0) l++;
                if (prediction[i] && label[i] > 0) both++;
            }
            return p + l == 0 ? 1 : 2.0 * both / (p + l);
        }

        private static int[] CellsOf((float[] Image, byte[] Label, int Slices, int H, int W) c)
        {
            var result = new int[c.Image.Length];
            double cy = (c.H - 1) / 2.0, cx = (c.W - 1) / 2.0;
            for (int z = 0; z < c.Slices; z++)
                for (int y = 0; y < c.H; y++)
                    for (int x = 0; x < c.W; x++)
                    {
                        double m5 = BoxMean(c, z, y, x, 2), m11 = BoxMean(c, z, y, x, 5);
                        double r = Math.Sqrt((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (c.W / 2.0);
                        int bv = Bin(c.Image[(z * c.H + y) * c.W + x], 12), b5 = Bin(m5, 12), b11 = Bin(m11, 12);
                        int br = Math.Min(9, (int)(r * 10 / 1.42));
                        result[(z * c.H + y) * c.W + x] = ((bv * 12 + b5) * 12 + b11) * 10 + br;
                    }
            return result;
        }

        private static double BoxMean((float[] Image, byte[] Label, int Slices, int H, int W) c, int z, int y, int x, int r)
        {
            double sum = 0;
            int n = 0;
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++)
                {
                    int yy = y + dy, xx = x + dx;
                    if ((uint)yy < (uint)c.H && (uint)xx < (uint)c.W) { sum += c.Image[(z * c.H + yy) * c.W + xx]; n++; }
                }
            return sum / n;
        }

        // z-scored intensities binned over [-3, 3].
        private static int Bin(double v, int bins) => Math.Clamp((int)Math.Floor((v + 3) / 6 * bins), 0, bins - 1);
    }
}
