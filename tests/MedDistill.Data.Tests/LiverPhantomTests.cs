using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using MedDistill.Data.Phantom;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// The CHAOS-like (DICOM + PNG) and LiTS-like (NIfTI) liver phantom, and the DICOM reader checked against DICOM bytes
/// assembled here by hand from PS3.5/PS3.10 (independent of our writer): explicit and implicit VR, a nested sequence
/// to skip, rescale, and refusals of corrupt, oversized and compressed files.
/// </summary>
public class LiverPhantomTests : TempDirTest
{
    private static readonly LiverPhantomOptions Small = new() { Seed = 9, Size = 32, Slices = 6, ChaosCases = 2, LitsCases = 2 };

    [Test]
    public void Phantom_HasChaosAndLitsLayouts_DicomSeriesAndMasksMatchTheRendering()
    {
        var result = LiverPhantom.Generate(Dir, Small);
        foreach (var patient in new[] { 1, 2 })
            for (int k = 0; k < 6; k++)
            {
                Assert.That(result.Files, Does.Contain($"CHAOS/Train_Sets/CT/{patient}/DICOM_anon/i{k:D4},0000b.dcm"));
                Assert.That(result.Files, Does.Contain($"CHAOS/Train_Sets/CT/{patient}/Ground/liver_GT_{k:D3}.png"));
            }
        Assert.That(result.Files, Is.SupersetOf(new[] { "LiTS/volume-0.nii", "LiTS/segmentation-0.nii", "LiTS/volume-1.nii", "LiTS/segmentation-1.nii" }));

        var folder = Path.Combine(result.Directory, "CHAOS/Train_Sets/CT/2");
        var series = Dicom.ReadSeries(Path.Combine(folder, "DICOM_anon"));
        var (hu, label) = LiverPhantom.Render(Small, LiverPhantom.ChaosScanner, 11, 2, (0, 1));
        Assert.That(series.Shape, Is.EqualTo(new[] { 6, 32, 32 }));
        Assert.That(series.Spacing, Is.EqualTo(new[] { 200 / 6.0, 380 / 32.0, 380 / 32.0 }).Within(1e-4));
        // Ordered along the normal (inferior → superior), i.e. the rendering's slices reversed.
        for (int k = 0; k < 6; k++)
            Assert.That(series.Slice(k).ToArray(), Is.EqualTo(hu.Slice(5 - k).ToArray()), $"slice {k}");
        var first = VolumeReader.Read(Path.Combine(folder, "DICOM_anon", "i0000,0000b.dcm"));
        Assert.That(first.Data, Is.EqualTo(hu.Slice(0).ToArray()));
        Assert.That(first.StoredType, Is.EqualTo(VoxelType.UInt16));
        for (int k = 0; k < 6; k++)
        {
            var mask = VolumeReader.Read(Path.Combine(folder, "Ground", $"liver_GT_{k:D3}.png"));
            Assert.That(mask.Data, Is.EqualTo(label.Slice(k).ToArray().Select(v => v > 0 ? 255f : 0f).ToArray()), $"mask {k}");
        }
        Assert.That(label.Data.Count(v => v == 1), Is.GreaterThan(100), "the liver is there");
    }

    [Test]
    public void Lits_HasLiverAndTumourLabels_Int16Hu()
    {
        var result = LiverPhantom.Generate(Dir, Small);
        var seg = VolumeReader.Read(Path.Combine(result.Directory, "LiTS/segmentation-0.nii"));
        var vol = VolumeReader.Read(Path.Combine(result.Directory, "LiTS/volume-0.nii"));
        Assert.That(seg.Shape, Is.EqualTo(new[] { 6, 32, 32 }));
        Assert.That(vol.StoredType, Is.EqualTo(VoxelType.Int16));
        Assert.That(seg.Data.Distinct().Order(), Is.EqualTo(new float[] { 0, 1, 2 }));
        // Tumours are darker than the liver around them (a finer grid, so they span enough voxels to average the noise).
        var (hu, label) = LiverPhantom.Render(Small with { Size = 64, Slices = 16 }, LiverPhantom.LitsScanner, 12, 0, (3, 3));
        double Mean(float l) => Enumerable.Range(0, label.Data.Length).Where(i => label.Data[i] == l).Average(i => hu.Data[i]);
        Assert.That(Mean(2), Is.LessThan(Mean(1) - 15), $"tumour {Mean(2):F1} HU, liver {Mean(1):F1} HU");
        var info = VolumeInspector.Inspect(Path.Combine(result.Directory, "LiTS/segmentation-0.nii"));
        Assert.That(info["labels"]!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "0", "1", "2" }));
    }

    [Test]
    public void SourceAndTarget_DifferInLiverIntensityAndNoise()
    {
        var opts = Small with { Size = 48, Slices = 8 };
        var (chaos, cl) = LiverPhantom.Render(opts, LiverPhantom.ChaosScanner, 11, 1, (0, 0));
        var (lits, ll) = LiverPhantom.Render(opts, LiverPhantom.LitsScanner, 12, 1, (0, 0));
        static (double Mean, double Sd) Stats(Volume v, Volume l)
        {
            var x = Enumerable.Range(0, v.Data.Length).Where(i => l.Data[i] == 1).Select(i => (double)v.Data[i]).ToArray();
            double m = x.Average();
            return (m, Math.Sqrt(x.Average(a => (a - m) * (a - m))));
        }
        var (cm, cs) = Stats(chaos, cl);
        var (lm, ls) = Stats(lits, ll);
        Assert.That(Math.Abs(cm - lm), Is.GreaterThan(5), $"liver mean HU {cm:F1} vs {lm:F1}");
        Assert.That(ls, Is.GreaterThan(cs + 5), $"spread {cs:F1} vs {ls:F1} HU");
    }

    [Test]
    public void SameSeed_SameBytes()
    {
        var options = Small with { ChaosCases = 1, LitsCases = 1 };
        var a = LiverPhantom.Generate(Path.Combine(Dir, "a"), options);
        var b = LiverPhantom.Generate(Path.Combine(Dir, "b"), options);
        Assert.That(b.Files, Is.EqualTo(a.Files));
        foreach (var f in a.Files)
            Assert.That(SHA256.HashData(File.ReadAllBytes(Path.Combine(b.Directory, f))), Is.EqualTo(SHA256.HashData(File.ReadAllBytes(Path.Combine(a.Directory, f)))), f);
    }

    // ---- DICOM bytes built by hand (PS3.10 §7: preamble, "DICM", group 2 explicit VR LE; PS3.5 §7.1 element layouts) ----

    private static byte[] Explicit(ushort group, ushort element, string vr, byte[] value)
    {
        bool longForm = vr is "OB" or "OW" or "SQ" or "UN" or "UT";
        var head = new byte[longForm ? 12 : 8];
        BinaryPrimitives.WriteUInt16LittleEndian(head, group);
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(2), element);
        head[4] = (byte)vr[0]; head[5] = (byte)vr[1];
        if (longForm) BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(8), (uint)value.Length);
        else BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(6), (ushort)value.Length);
        return [.. head, .. value];
    }

    private static byte[] Implicit(ushort group, ushort element, byte[] value, uint? length = null)
    {
        var head = new byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(head, group);
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(2), element);
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(4), length ?? (uint)value.Length);
        return [.. head, .. value];
    }

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s.Length % 2 == 0 ? s : s + " ");
    private static byte[] Us(ushort v) => BitConverter.GetBytes(v);

    private static byte[] File10(string syntax, byte[] dataset)
    {
        var uid = Encoding.ASCII.GetBytes(syntax.Length % 2 == 0 ? syntax : syntax + "\0");
        return [.. new byte[128], .. "DICM"u8.ToArray(), .. Explicit(2, 0x10, "UI", uid), .. dataset];
    }

    /// <summary>2 rows × 3 columns, signed 16-bit −3..2, slope 2, intercept −10, spacing 0.5 × 0.75 mm.</summary>
    private static byte[] Pixels() => Enumerable.Range(-3, 6).SelectMany(v => BitConverter.GetBytes((short)v)).ToArray();

    [Test]
    public void HandBuiltExplicitVr_ReadsValuesSpacingAndInspects()
    {
        var dataset = new[]
        {
            Explicit(0x28, 0x02, "US", Us(1)), Explicit(0x28, 0x04, "CS", Ascii("MONOCHROME2")), Explicit(0x28, 0x10, "US", Us(2)),
            Explicit(0x28, 0x11, "US", Us(3)), Explicit(0x28, 0x30, "DS", Ascii("0.5\\0.75")), Explicit(0x28, 0x100, "US", Us(16)),
            Explicit(0x28, 0x103, "US", Us(1)), Explicit(0x28, 0x1052, "DS", Ascii("-10")), Explicit(0x28, 0x1053, "DS", Ascii("2")),
            Explicit(0x7FE0, 0x10, "OW", Pixels()),
        }.SelectMany(b => b).ToArray();
        var path = PathOf("slice.dcm");
        File.WriteAllBytes(path, File10("1.2.840.10008.1.2.1", dataset));
        Assert.That(VolumeReader.Detect(path), Is.EqualTo(VolumeFormat.Dicom));
        var v = VolumeReader.Read(path);
        Assert.That(v.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(v.Spacing, Is.EqualTo(new[] { 0.5, 0.75 }));
        Assert.That(v.Data, Is.EqualTo(new float[] { -16, -14, -12, -10, -8, -6 }));
        Assert.That(v.StoredType, Is.EqualTo(VoxelType.Int16));
        var info = VolumeInspector.Inspect(path);
        Assert.That(info["format"]!.GetValue<string>(), Is.EqualTo("dicom"));
        Assert.That(info["min"]!.GetValue<float>(), Is.EqualTo(-16f));
    }

    [Test]
    public void HandBuiltImplicitVr_WithNestedUndefinedLengthSequence_IsSkipped()
    {
        // (0008,1140) sequence of undefined length holding one undefined-length item with one element, then delimiters.
        var sequence = Implicit(0x08, 0x1140, [], 0xFFFFFFFF)
            .Concat(Implicit(0xFFFE, 0xE000, [], 0xFFFFFFFF)).Concat(Implicit(0x08, 0x1150, Ascii("1.2.3.4")))
            .Concat(Implicit(0xFFFE, 0xE00D, [])).Concat(Implicit(0xFFFE, 0xE0DD, [])).ToArray();
        var dataset = new[]
        {
            sequence, Implicit(0x28, 0x10, Us(2)), Implicit(0x28, 0x11, Us(3)), Implicit(0x28, 0x100, Us(16)), Implicit(0x28, 0x103, Us(1)),
            Implicit(0x7FE0, 0x10, Pixels()),
        }.SelectMany(b => b).ToArray();
        var path = PathOf("implicit.dcm");
        File.WriteAllBytes(path, File10("1.2.840.10008.1.2", dataset));
        Assert.That(VolumeReader.Read(path).Data, Is.EqualTo(new float[] { -3, -2, -1, 0, 1, 2 }));
    }

    [Test]
    public void Truncated_Oversized_Compressed_AreRefusedNamingTheFile()
    {
        var good = Dicom.WriteCtSlice(new float[64 * 64], 64, 64, new Dicom.CtSlice("p", "k", 1, [1, 1], 1, [0, 0, 0]));
        var cut = PathOf("cut.dcm");
        File.WriteAllBytes(cut, good[..(good.Length / 2)]);
        Assert.That(Assert.Throws<DataFormatException>(() => VolumeReader.Read(cut))!.Message, Does.StartWith(cut).And.Contain("truncated"));

        // Rows = Columns = 65535 with 12 bytes of pixel data, under a 1 Mi-voxel limit: refused before the array exists.
        var huge = PathOf("huge.dcm");
        File.WriteAllBytes(huge, File10("1.2.840.10008.1.2.1", new[]
        {
            Explicit(0x28, 0x10, "US", Us(65535)), Explicit(0x28, 0x11, "US", Us(65535)), Explicit(0x28, 0x100, "US", Us(16)), Explicit(0x7FE0, 0x10, "OW", Pixels()),
        }.SelectMany(b => b).ToArray()));
        long allocated = AllocatedWhileFailing<DataFormatException>(() => Dicom.Read(huge, new ReadLimits { MaxVoxels = 1 << 20 }), out var e);
        Assert.That(e.Message, Does.StartWith(huge).And.Contain("limit"));
        Assert.That(allocated, Is.LessThan(1 << 20));

        var jpeg = PathOf("jpeg.dcm");
        File.WriteAllBytes(jpeg, File10("1.2.840.10008.1.2.4.50", []));
        Assert.That(Assert.Throws<DataFormatException>(() => VolumeReader.Read(jpeg))!.Message, Does.StartWith(jpeg).And.Contain("1.2.840.10008.1.2.4.50"));
    }
}
