using System.Security.Cryptography;
using MedDistill.Data.Phantom;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// The Synapse-like (<c>phantom-abdomen</c>) and FLARE22-like (<c>phantom-flare</c>) CT phantoms: generated small, then
/// read back only through the readers real data goes through (npz, HDF5, NIfTI), never through the generator's memory.
/// </summary>
public class AbdomenPhantomTests
{
    private static readonly AbdomenPhantomOptions Small = new() { Seed = 3, Size = 48, Slices = 16, Cases = 5 };
    private string root = "";
    private BuiltinPhantomResult synapse = null!, flare = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        root = Directory.CreateTempSubdirectory("md-abdomen-").FullName;
        synapse = AbdomenPhantom.GenerateSynapse(root, Small);
        flare = AbdomenPhantom.GenerateFlare(root, Small);
    }

    [OneTimeTearDown]
    public void Clean() => Directory.Delete(root, recursive: true);

    private static readonly int[] TrainIds = [5, 6, 7, 9, 10, 21, 23, 24, 26, 27, 28, 30, 31, 33, 34, 37, 39, 40];
    private static readonly int[] TestIds = [8, 22, 38, 36, 32, 2, 29, 3, 1, 4, 25, 35];

    [Test]
    public void Synapse_HasTransUNetsLayoutAndCaseIds()
    {
        Assert.That(Path.GetFileName(synapse.Directory), Is.EqualTo("phantom-abdomen"));
        var npz = Directory.GetFiles(Path.Combine(synapse.Directory, "train_npz")).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var expected = TrainIds.SelectMany(c => Enumerable.Range(0, 16).Select(s => $"case{c:D4}_slice{s:D3}.npz")).Order(StringComparer.Ordinal);
        Assert.That(npz, Is.EqualTo(expected));
        var h5 = Directory.GetFiles(Path.Combine(synapse.Directory, "test_vol_h5")).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.That(h5, Is.EqualTo(TestIds.Select(c => $"case{c:D4}.npy.h5").Order(StringComparer.Ordinal)));
        Assert.That(File.ReadAllLines(Path.Combine(synapse.Directory, "lists_Synapse", "test_vol.txt")), Is.EqualTo(TestIds.Select(c => $"case{c:D4}")));
        Assert.That(File.ReadAllLines(Path.Combine(synapse.Directory, "lists_Synapse", "train.txt")), Has.Length.EqualTo(18 * 16));
        Assert.That(TrainIds.Intersect(TestIds), Is.Empty);
    }

    [Test]
    public void Synapse_NpzSlice_HoldsFloat32ImageInUnitRangeAndWholeLabels()
    {
        var file = Path.Combine(synapse.Directory, "train_npz", "case0005_slice008.npz");
        Assert.That(Npy.Keys(file), Is.EqualTo(new[] { "image", "label" }));
        var image = VolumeReader.Read(file, "image");
        var label = VolumeReader.Read(file, "label");
        Assert.That(image.Shape, Is.EqualTo(new[] { 48, 48 }));
        Assert.That(label.Shape, Is.EqualTo(new[] { 48, 48 }));
        Assert.That(image.StoredType, Is.EqualTo(VoxelType.Float32));
        Assert.That(image.Data.Min(), Is.EqualTo(0f), "air is below −125 HU: clipped to 0");
        Assert.That(image.Data.Max(), Is.LessThanOrEqualTo(1f));
        Assert.That(label.Data.All(v => v == MathF.Floor(v) && v is >= 0 and <= 8), Is.True);
    }

    [Test]
    public void Synapse_TestVolume_HoldsImageAndLabelDatasetsOfShapeDHW()
    {
        var file = Path.Combine(synapse.Directory, "test_vol_h5", "case0001.npy.h5");
        Assert.That(Hdf5.DatasetNames(file), Is.EqualTo(new[] { "image", "label" }));
        var image = Hdf5.Read(file, "image");
        var label = Hdf5.Read(file, "label");
        Assert.That(image.Shape, Is.EqualTo(new[] { 16, 48, 48 }));
        Assert.That(label.Shape, Is.EqualTo(image.Shape));
        Assert.That(image.StoredType, Is.EqualTo(VoxelType.Float32));
        Assert.That(image.Data.Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(image.Data.Max(), Is.LessThanOrEqualTo(1f));
    }

    [Test]
    public void Synapse_EveryOrganAppears_LiverLargest_GallbladderAndPancreasAmongTheSmallest()
    {
        var counts = new long[9];
        foreach (var file in Directory.GetFiles(Path.Combine(synapse.Directory, "test_vol_h5")))
            foreach (var v in Hdf5.Read(file, "label").Data) counts[(int)v]++;
        for (int c = 1; c <= 8; c++) Assert.That(counts[c], Is.GreaterThan(0), $"class {c}");
        // 1 aorta, 2 gallbladder, 3 left kidney, 4 right kidney, 5 liver, 6 pancreas, 7 spleen, 8 stomach
        Assert.That(counts[5], Is.EqualTo(counts.Skip(1).Max()), "liver is the largest organ");
        foreach (int small in new[] { 2, 6 })
            foreach (int big in new[] { 3, 4, 5, 7, 8 })
                Assert.That(counts[small], Is.LessThan(counts[big]), $"class {small} vs {big}");
        Assert.That(counts[0], Is.GreaterThan(counts.Skip(1).Sum()), "background dominates: the class imbalance is real");
    }

    [Test]
    public void Synapse_LabelOrder_PutsEachOrganOnItsSide_AndContrastMatchesPortalVenousCt()
    {
        var image = Hdf5.Read(Path.Combine(synapse.Directory, "test_vol_h5", "case0002.npy.h5"), "image");
        var label = Hdf5.Read(Path.Combine(synapse.Directory, "test_vol_h5", "case0002.npy.h5"), "label");
        // Columns run to the patient's left (radiological view): liver and right kidney left of centre, spleen and left kidney right.
        double Column(int c) => Enumerable.Range(0, label.Data.Length).Where(i => label.Data[i] == c).Average(i => i % 48);
        Assert.That(Column(5), Is.LessThan(23.5), "liver");
        Assert.That(Column(4), Is.LessThan(23.5), "right kidney");
        Assert.That(Column(7), Is.GreaterThan(23.5), "spleen");
        Assert.That(Column(3), Is.GreaterThan(23.5), "left kidney");
        // Scaled HU: (HU + 125) / 400. Liver ≈ 105 HU → ≈ 0.57; the aorta brighter, the gallbladder darker.
        double Mean(int c) => Enumerable.Range(0, label.Data.Length).Where(i => label.Data[i] == c).Average(i => image.Data[i]);
        Assert.That(Mean(5), Is.InRange(0.45, 0.68));
        Assert.That(Mean(1), Is.GreaterThan(Mean(5)));
        Assert.That(Mean(2), Is.LessThan(Mean(5)));
    }

    [Test]
    public void Flare_HasItsLayout_80PercentSplit_AndHounsfieldImages()
    {
        Assert.That(Directory.GetFiles(Path.Combine(flare.Directory, "imagesTr")).Select(Path.GetFileName).Order(),
            Is.EqualTo(Enumerable.Range(1, 5).Select(i => $"FLARE22_Tr_{i:D4}_0000.nii.gz")));
        Assert.That(Directory.GetFiles(Path.Combine(flare.Directory, "labelsTr")).Select(Path.GetFileName).Order(),
            Is.EqualTo(Enumerable.Range(1, 5).Select(i => $"FLARE22_Tr_{i:D4}.nii.gz")));
        Assert.That(File.ReadAllLines(Path.Combine(flare.Directory, "train.txt")), Has.Length.EqualTo(4));
        Assert.That(File.ReadAllLines(Path.Combine(flare.Directory, "test.txt")), Is.EqualTo(new[] { "FLARE22_Tr_0005" }));
        Assert.That(AbdomenPhantom.TrainCount(50), Is.EqualTo(40));
        var image = Nifti.Read(Path.Combine(flare.Directory, "imagesTr", "FLARE22_Tr_0001_0000.nii.gz"));
        Assert.That(image.StoredType, Is.EqualTo(VoxelType.Int16));
        Assert.That(image.Shape, Is.EqualTo(new[] { 16, 48, 48 }));
        Assert.That(image.Spacing[1], Is.EqualTo(380.0 / 48).Within(1e-4));
        Assert.That(image.Data.Min(), Is.LessThan(-900), "air outside the body");
        Assert.That(image.Data.Max(), Is.GreaterThan(300), "bone");
    }

    [Test]
    public void Flare_All13OrgansAppear_InFlareOrder_WithPlausibleSizesAndContrast()
    {
        var counts = new long[14];
        double liverSum = 0, aortaSum = 0;
        long liverN = 0, aortaN = 0;
        foreach (var file in Directory.GetFiles(Path.Combine(flare.Directory, "labelsTr")))
        {
            var label = Nifti.Read(file);
            var image = Nifti.Read(file.Replace("labelsTr", "imagesTr").Replace(".nii.gz", "_0000.nii.gz"));
            Assert.That(label.StoredType, Is.EqualTo(VoxelType.UInt8));
            for (int i = 0; i < label.Data.Length; i++)
            {
                int c = (int)label.Data[i];
                counts[c]++;
                if (c == 1) { liverSum += image.Data[i]; liverN++; }
                if (c == 5) { aortaSum += image.Data[i]; aortaN++; }
            }
        }
        for (int c = 1; c <= 13; c++) Assert.That(counts[c], Is.GreaterThan(0), $"organ {c}");
        Assert.That(counts[1], Is.EqualTo(counts.Skip(1).Max()), "1 liver is the largest");
        // 7/8 adrenals and 9 gallbladder are smaller than 2/13 kidneys, 3 spleen, 11 stomach.
        foreach (int small in new[] { 7, 8, 9 })
            foreach (int big in new[] { 1, 2, 3, 11, 13 })
                Assert.That(counts[small], Is.LessThan(counts[big]), $"organ {small} vs {big}");
        Assert.That(aortaSum / aortaN, Is.GreaterThan(liverSum / liverN + 100), "late-arterial phase: the aorta far brighter than the liver");
    }

    [Test]
    public void SameSeed_SameBytes_DifferentSeed_DifferentVolumes_RerunWritesNothing()
    {
        var tiny = new AbdomenPhantomOptions { Seed = 9, Size = 24, Slices = 6, Cases = 2 };
        var a = Directory.CreateTempSubdirectory("md-abd-a-").FullName;
        var b = Directory.CreateTempSubdirectory("md-abd-b-").FullName;
        try
        {
            var ra = AbdomenPhantom.GenerateSynapse(a, tiny);
            var rb = AbdomenPhantom.GenerateSynapse(b, tiny);
            var fa = AbdomenPhantom.GenerateFlare(a, tiny);
            var fb = AbdomenPhantom.GenerateFlare(b, tiny);
            Assert.That(rb.Files, Is.EqualTo(ra.Files));
            foreach (var f in ra.Files.Concat(new[] { "phantom.json" }))
                Assert.That(Sha(Path.Combine(rb.Directory, f)), Is.EqualTo(Sha(Path.Combine(ra.Directory, f))), f);
            foreach (var f in fa.Files)
                Assert.That(Sha(Path.Combine(fb.Directory, f)), Is.EqualTo(Sha(Path.Combine(fa.Directory, f))), f);
            Assert.That(AbdomenPhantom.GenerateSynapse(a, tiny).Generated, Is.False);

            var rc = AbdomenPhantom.GenerateSynapse(b, tiny with { Seed = 10 });
            Assert.That(rc.Generated, Is.True);
            var h5 = Path.Combine("test_vol_h5", "case0001.npy.h5");
            Assert.That(Hdf5.Read(Path.Combine(b, "phantom-abdomen", h5), "image").Data,
                Is.Not.EqualTo(Hdf5.Read(Path.Combine(a, "phantom-abdomen", h5), "image").Data));
        }
        finally
        {
            Directory.Delete(a, true);
            Directory.Delete(b, true);
        }
    }

    [Test]
    public void Options_AreValidatedBeforeAnythingIsWritten()
    {
        var dir = Directory.CreateTempSubdirectory("md-abd-v-").FullName;
        try
        {
            Assert.That(() => AbdomenPhantom.GenerateSynapse(dir, new AbdomenPhantomOptions { Size = 8 }), Throws.ArgumentException.With.Message.Contains("Size 8"));
            Assert.That(() => AbdomenPhantom.GenerateFlare(dir, new AbdomenPhantomOptions { Cases = 1 }), Throws.ArgumentException.With.Message.Contains("Cases 1"));
            Assert.That(Directory.EnumerateFileSystemEntries(dir), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
