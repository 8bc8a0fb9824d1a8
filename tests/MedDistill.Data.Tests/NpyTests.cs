using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>.npy/.npz files written by hand from NumPy's format description (NEP 1), plus two NumPy-made fixtures.</summary>
public class NpyTests : TempDirTest
{
    /// <summary>Magic, version, header length, the dict padded with spaces to a multiple of 64 and ended by '\n'.</summary>
    private static byte[] NpyBytes(string descr, string shape, byte[] data, bool fortran = false, int major = 1)
    {
        var dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        int prefix = major == 1 ? 10 : 12;
        int total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        var header = dict.PadRight(total - prefix - 1) + "\n";
        var bytes = new List<byte>();
        bytes.AddRange(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 });
        var lengthBytes = new byte[major == 1 ? 2 : 4];
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(lengthBytes, (ushort)header.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(lengthBytes, (uint)Encoding.UTF8.GetByteCount(header));
        bytes.AddRange(lengthBytes);
        bytes.AddRange((major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(header));
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    private string WriteNpy(string name, byte[] bytes)
    {
        File.WriteAllBytes(PathOf(name), bytes);
        return PathOf(name);
    }

    [TestCase("<u1", "u", 1, false, VoxelType.UInt8)]
    [TestCase("|u1", "u", 1, false, VoxelType.UInt8)]
    [TestCase("|i1", "i", 1, false, VoxelType.Int8)]
    [TestCase("<i2", "i", 2, false, VoxelType.Int16)]
    [TestCase(">i2", "i", 2, true, VoxelType.Int16)]
    [TestCase("<u2", "u", 2, false, VoxelType.UInt16)]
    [TestCase("<i4", "i", 4, false, VoxelType.Int32)]
    [TestCase(">u4", "u", 4, true, VoxelType.UInt32)]
    [TestCase("<i8", "i", 8, false, VoxelType.Int64)]
    [TestCase(">u8", "u", 8, true, VoxelType.UInt64)]
    [TestCase("<f4", "f", 4, false, VoxelType.Float32)]
    [TestCase(">f4", "f", 4, true, VoxelType.Float32)]
    [TestCase("<f8", "f", 8, false, VoxelType.Float64)]
    [TestCase(">f8", "f", 8, true, VoxelType.Float64)]
    public void EveryDtype(string descr, string kind, int size, bool big, VoxelType type)
    {
        var values = Element.Sample(kind, size);
        var path = WriteNpy("a.npy", NpyBytes(descr, "(2, 3)", Element.EncodeAll(kind, size, big, values)));
        var v = Npy.Read(path);
        Assert.That(v.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(v.StoredType, Is.EqualTo(type));
        Assert.That(v.Data, Is.EqualTo(values.Select(x => (float)x).ToArray()));
        Assert.That(v.Spacing, Is.EqualTo(new[] { 1.0, 1.0 }));
    }

    [Test]
    public void Bool_ReadsAsZeroAndOne()
    {
        var path = WriteNpy("b.npy", NpyBytes("|b1", "(4,)", new byte[] { 0, 1, 1, 0 }));
        var v = Npy.Read(path);
        Assert.That(v.Shape, Is.EqualTo(new[] { 4 }));
        Assert.That(v.Data, Is.EqualTo(new float[] { 0, 1, 1, 0 }));
        Assert.That(v.StoredType, Is.EqualTo(VoxelType.UInt8));
    }

    [Test]
    public void FortranOrder_IsTransposedToCOrder()
    {
        // Shape (2, 3, 4); in Fortran order the first index varies fastest: file element k holds a[i, j, l]
        // with k = i + 2 j + 6 l. Value of a[i, j, l] = 100 i + 10 j + l.
        var fortranValues = new List<double>();
        for (int l = 0; l < 4; l++)
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 2; i++) fortranValues.Add(100 * i + 10 * j + l);
        var path = WriteNpy("f.npy", NpyBytes("<i2", "(2, 3, 4)", Element.EncodeAll("i", 2, false, fortranValues), fortran: true));
        var v = Npy.Read(path);
        Assert.That(v.Shape, Is.EqualTo(new[] { 2, 3, 4 }));
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int l = 0; l < 4; l++)
                    Assert.That(v.Data[(i * 3 + j) * 4 + l], Is.EqualTo(100 * i + 10 * j + l));
    }

    [TestCase(2)]
    [TestCase(3)]
    public void Versions2And3_HaveAFourByteHeaderLength(int major)
    {
        var path = WriteNpy("v.npy", NpyBytes("<f4", "(3,)", Element.EncodeAll("f", 4, false, new[] { 1.0, 2, 3 }), major: major));
        Assert.That(Npy.Read(path).Data, Is.EqualTo(new float[] { 1, 2, 3 }));
    }

    private string WriteNpz(string name, CompressionLevel level, params (string Key, byte[] Npy)[] members)
    {
        var path = PathOf(name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (key, npy) in members)
        {
            using var s = zip.CreateEntry(key + ".npy", level).Open();
            s.Write(npy);
        }
        return path;
    }

    [TestCase(CompressionLevel.NoCompression)]
    [TestCase(CompressionLevel.Optimal)]
    public void Npz_ReadsANamedMember_StoredOrDeflated(CompressionLevel level)
    {
        var image = NpyBytes("<f4", "(2, 2)", Element.EncodeAll("f", 4, false, new[] { 0.5, 0.25, 0, 1 }));
        var label = NpyBytes("<f4", "(2, 2)", Element.EncodeAll("f", 4, false, new[] { 0.0, 1, 1, 8 }));
        var path = WriteNpz("case0005_slice012.npz", level, ("image", image), ("label", label));
        Assert.That(Npy.ReadNpz(path, "image").Data, Is.EqualTo(new[] { 0.5f, 0.25f, 0f, 1f }));
        Assert.That(VolumeReader.Read(path, "label").Data, Is.EqualTo(new float[] { 0, 1, 1, 8 }));
        Assert.That(Npy.Keys(path), Is.EquivalentTo(new[] { "image", "label" }));
    }

    [Test]
    public void Npz_WithoutKey_NeedsASingleMember_AndNamesTheChoices()
    {
        var one = NpyBytes("<f4", "(1,)", new byte[4]);
        var path = WriteNpz("two.npz", CompressionLevel.Optimal, ("image", one), ("label", one));
        Assert.That(() => Npy.ReadNpz(path, null), Throws.TypeOf<DataFormatException>().With.Message.Contain("image, label"));
        Assert.That(() => Npy.ReadNpz(path, "mask"), Throws.TypeOf<DataFormatException>().With.Message.Contain("no array \"mask\""));
        var single = WriteNpz("one.npz", CompressionLevel.Optimal, ("arr_0", one));
        Assert.That(Npy.ReadNpz(single, null).VoxelCount, Is.EqualTo(1));
    }

    [Test]
    public void NumpyMadeFixtures_ReadAsNumpyWroteThem()
    {
        // Fixtures/make_fixtures.py: f = (100 z + 10 y + x) / 8 and g = (z + y + x) % 3 at z = 0; h = 100 z + 10 y + x - 300.
        var image = VolumeReader.Read(Fixture("numpy_slice.npz"), "image");
        var label = VolumeReader.Read(Fixture("numpy_slice.npz"), "label");
        Assert.That(image.Shape, Is.EqualTo(new[] { 4, 5 }));
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 5; x++)
            {
                Assert.That(image.Data[y * 5 + x], Is.EqualTo((10 * y + x) / 8f));
                Assert.That(label.Data[y * 5 + x], Is.EqualTo((y + x) % 3));
            }
        var fortran = VolumeReader.Read(Fixture("numpy_fortran.npy"));
        Assert.That(fortran.Shape, Is.EqualTo(new[] { 2, 3, 4 }));
        Assert.That(fortran.StoredType, Is.EqualTo(VoxelType.Int32));
        for (int z = 0; z < 2; z++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++)
                    Assert.That(fortran.Data[(z * 3 + y) * 4 + x], Is.EqualTo(100 * z + 10 * y + x - 300));
    }

    // ---- corrupt files ------------------------------------------------------------------------------------------

    [Test]
    public void TruncatedData_IsReportedBeforeAllocating()
    {
        var path = WriteNpy("t.npy", NpyBytes("<f4", "(10, 10)", new byte[396]));
        Assert.That(() => Npy.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("needs 400 data bytes, the file has 396"));
    }

    [Test]
    public void TruncatedNpzMember_IsReported()
    {
        var npy = NpyBytes("<f4", "(10, 10)", new byte[396]);
        var path = WriteNpz("t.npz", CompressionLevel.Optimal, ("image", npy));
        Assert.That(() => Npy.ReadNpz(path, "image"), Throws.TypeOf<DataFormatException>().With.Message.Contain("t.npz[image]"));
    }

    [Test]
    public void WrongMagic_IsRefused()
    {
        var bytes = NpyBytes("<f4", "(1,)", new byte[4]);
        bytes[1] = (byte)'X';
        var path = WriteNpy("m.npy", bytes);
        Assert.That(() => Npy.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("magic"));
    }

    [TestCase("<c8", "unsupported dtype '<c8'")]
    [TestCase("<f2", "unsupported dtype '<f2'")]
    [TestCase("<U4", "unsupported dtype '<U4'")]
    public void UnsupportedDtype_IsNamed(string descr, string message)
    {
        var path = WriteNpy("d.npy", NpyBytes(descr, "(1,)", new byte[16]));
        Assert.That(() => Npy.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain(message));
    }

    [Test]
    public void StructuredDtype_IsRefused()
    {
        var header = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }".PadRight(117) + "\n";
        var bytes = new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 118, 0 }.Concat(Encoding.ASCII.GetBytes(header)).Concat(new byte[4]).ToArray();
        var path = WriteNpy("s.npy", bytes);
        Assert.That(() => Npy.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("structured"));
    }

    [Test]
    public void ShapeClaimingBillionsOfVoxels_FailsFastWithoutAllocating()
    {
        var path = WriteNpy("huge.npy", NpyBytes("<f4", "(100000, 100000, 100000)", new byte[16]));
        long allocated = AllocatedWhileFailing<DataFormatException>(() => Npy.Read(path), out var e);
        Assert.That(e.Message, Does.Contain("limit"));
        Assert.That(allocated, Is.LessThan(1 << 20));
    }

    [Test]
    public void ScalarArray_IsRefused()
    {
        var path = WriteNpy("scalar.npy", NpyBytes("<f4", "()", new byte[4]));
        Assert.That(() => Npy.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("0-axis"));
    }
}
