using System.IO.Compression;
using System.Text;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>MetaImage headers and data written by hand from the MetaIO documentation.</summary>
public class MetaImageTests : TempDirTest
{
    private string WriteMhd(string name, string header, byte[]? raw = null, string rawName = "data.raw")
    {
        File.WriteAllText(PathOf(name), header.Replace("\r\n", "\n"));
        if (raw is not null) File.WriteAllBytes(PathOf(rawName), raw);
        return PathOf(name);
    }

    private static string Header(string elementType, string dims = "3 2 2", bool msb = false, string file = "data.raw", string extra = "") =>
        $"""
        ObjectType = Image
        NDims = 3
        BinaryData = True
        BinaryDataByteOrderMSB = {(msb ? "True" : "False")}
        CompressedData = False
        {extra}DimSize = {dims}
        ElementSpacing = 0.5 0.75 3
        ElementType = {elementType}
        ElementDataFile = {file}

        """;

    public static IEnumerable<TestCaseData> AllTypes()
    {
        var types = new (string Met, string Kind, int Size, VoxelType Type)[]
        {
            ("MET_UCHAR", "u", 1, VoxelType.UInt8), ("MET_CHAR", "i", 1, VoxelType.Int8), ("MET_SHORT", "i", 2, VoxelType.Int16),
            ("MET_USHORT", "u", 2, VoxelType.UInt16), ("MET_INT", "i", 4, VoxelType.Int32), ("MET_UINT", "u", 4, VoxelType.UInt32),
            ("MET_LONG", "i", 4, VoxelType.Int32), ("MET_ULONG", "u", 4, VoxelType.UInt32),
            ("MET_LONG_LONG", "i", 8, VoxelType.Int64), ("MET_ULONG_LONG", "u", 8, VoxelType.UInt64),
            ("MET_FLOAT", "f", 4, VoxelType.Float32), ("MET_DOUBLE", "f", 8, VoxelType.Float64),
        };
        foreach (var t in types)
            foreach (var msb in new[] { false, true })
                yield return new TestCaseData(t.Met, t.Kind, t.Size, t.Type, msb).SetArgDisplayNames(t.Met, msb ? "MSB" : "LSB");
    }

    [TestCaseSource(nameof(AllTypes))]
    public void EveryElementType_InEitherByteOrder(string met, string kind, int size, VoxelType type, bool msb)
    {
        var values = Element.Sample(kind, size);
        var path = WriteMhd("img.mhd", Header(met, "3 2 1", msb), Element.EncodeAll(kind, size, msb, values));
        var v = MetaImage.Read(path);
        Assert.That(v.Shape, Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(v.StoredType, Is.EqualTo(type));
        Assert.That(v.Data, Is.EqualTo(values.Select(x => (float)x).ToArray()));
    }

    [Test]
    public void SpacingAndShape_AreReversedIntoCOrder_AndTheAffineIsRas()
    {
        var raw = Element.EncodeAll("i", 2, false, Enumerable.Range(0, 12).Select(i => (double)i));
        var path = WriteMhd("case.mhd", Header("MET_SHORT", extra: "Offset = 1 2 3\nTransformMatrix = 1 0 0 0 1 0 0 0 1\n"), raw);
        var v = MetaImage.Read(path);
        Assert.That(v.Shape, Is.EqualTo(new[] { 2, 2, 3 }));
        Assert.That(v.Spacing, Is.EqualTo(new[] { 3.0, 0.75, 0.5 }));
        Assert.That(v.Data[1 * 6 + 1 * 3 + 2], Is.EqualTo(11f), "(z=1, y=1, x=2) is the last element");
        // LPS (ITK) → RAS: x and y rows negated.
        Assert.That(v.Affine, Is.EqualTo(new double[,] { { -0.5, 0, 0, -1 }, { 0, -0.75, 0, -2 }, { 0, 0, 3, 3 }, { 0, 0, 0, 1 } }));
    }

    [Test]
    public void TransformMatrix_ListsAxisDirections()
    {
        // First three values: the direction of the x axis (0,1,0); then y's (-1,0,0); then z's (0,0,1).
        // LPS affine columns: x → (0, 0.5, 0), y → (-0.75, 0, 0), z → (0, 0, 3); origin (1, 2, 3); RAS negates rows 0, 1.
        var path = WriteMhd("rot.mhd", Header("MET_UCHAR", extra: "Offset = 1 2 3\nTransformMatrix = 0 1 0 -1 0 0 0 0 1\n"), new byte[12]);
        var v = MetaImage.Read(path);
        Assert.That(v.Affine, Is.EqualTo(new double[,] { { 0, 0.75, 0, -1 }, { -0.5, 0, 0, -2 }, { 0, 0, 3, 3 }, { 0, 0, 0, 1 } }));
    }

    [Test]
    public void Mha_WithLocalData()
    {
        var header = Encoding.ASCII.GetBytes(Header("MET_FLOAT", "2 2 1", file: "LOCAL").TrimEnd() + "\n");
        var data = Element.EncodeAll("f", 4, false, new[] { 1.5, -2, 0.25, 8 });
        File.WriteAllBytes(PathOf("img.mha"), header.Concat(data).ToArray());
        var v = VolumeReader.Read(PathOf("img.mha"));
        Assert.That(v.Shape, Is.EqualTo(new[] { 1, 2, 2 }));
        Assert.That(v.Data, Is.EqualTo(new[] { 1.5f, -2f, 0.25f, 8f }));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void CompressedZraw_WithOrWithoutCompressedDataSize(bool giveSize)
    {
        var values = Enumerable.Range(0, 12).Select(i => (double)(i * 1000 - 5000)).ToArray();
        var packed = new MemoryStream();
        using (var z = new ZLibStream(packed, CompressionLevel.Optimal, leaveOpen: true)) z.Write(Element.EncodeAll("i", 4, true, values));
        var header = Header("MET_INT", msb: true, file: "data.zraw").Replace("CompressedData = False", "CompressedData = True"
            + (giveSize ? $"\nCompressedDataSize = {packed.Length}" : ""));
        var path = WriteMhd("z.mhd", header, packed.ToArray(), "data.zraw");
        Assert.That(MetaImage.Read(path).Data, Is.EqualTo(values.Select(x => (float)x).ToArray()));
    }

    [Test]
    public void HeaderSizeMinusOne_TakesTheDataFromTheEnd()
    {
        var raw = new byte[] { 0xAA, 0xBB, 0xCC, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
        var path = WriteMhd("end.mhd", Header("MET_UCHAR", extra: "HeaderSize = -1\n"), raw);
        Assert.That(MetaImage.Read(path).Data, Is.EqualTo(Enumerable.Range(1, 12).Select(i => (float)i).ToArray()));
    }

    [Test]
    public void HeaderSize_SkipsBytes()
    {
        var raw = new byte[] { 0xAA, 0xBB, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
        var path = WriteMhd("skip.mhd", Header("MET_UCHAR", extra: "HeaderSize = 2\n"), raw);
        Assert.That(MetaImage.Read(path).Data, Is.EqualTo(Enumerable.Range(1, 12).Select(i => (float)i).ToArray()));
    }

    [Test]
    public void TwoDimensional()
    {
        var header = "NDims = 2\nDimSize = 2 3\nElementSpacing = 0.4 0.6\nElementType = MET_UCHAR\nElementDataFile = data.raw\n";
        var v = MetaImage.Read(WriteMhd("2d.mhd", header, new byte[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(v.Shape, Is.EqualTo(new[] { 3, 2 }));
        Assert.That(v.Spacing, Is.EqualTo(new[] { 0.6, 0.4 }));
    }

    // ---- corrupt files ------------------------------------------------------------------------------------------

    [Test]
    public void RawTooShort_IsReportedBeforeAllocating()
    {
        var path = WriteMhd("short.mhd", Header("MET_SHORT"), new byte[20]); // 12 voxels need 24
        Assert.That(() => MetaImage.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("24").And.Message.Contain("20"));
    }

    [Test]
    public void TruncatedCompressedData_IsReported()
    {
        var packed = new MemoryStream();
        using (var z = new ZLibStream(packed, CompressionLevel.Optimal, leaveOpen: true)) z.Write(new byte[10]);
        var header = Header("MET_SHORT", file: "data.zraw").Replace("CompressedData = False", "CompressedData = True");
        var path = WriteMhd("tz.mhd", header, packed.ToArray(), "data.zraw");
        Assert.That(() => MetaImage.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("truncated"));
    }

    [Test]
    public void MissingDataFile_IsNamed()
    {
        var path = WriteMhd("nodata.mhd", Header("MET_SHORT", file: "gone.raw"));
        Assert.That(() => MetaImage.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("gone.raw"));
    }

    [Test]
    public void UnknownElementType_IsNamed()
    {
        var path = WriteMhd("t.mhd", Header("MET_FLOAT_MATRIX"), new byte[100]);
        Assert.That(() => MetaImage.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("MET_FLOAT_MATRIX"));
    }

    [Test]
    public void DimSizeDisagreeingWithNDims_IsRefused()
    {
        var path = WriteMhd("d.mhd", Header("MET_UCHAR", dims: "3 2"), new byte[100]);
        Assert.That(() => MetaImage.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("DimSize has 2 values, expected 3"));
    }

    [Test]
    public void NotAHeader_IsRefused()
    {
        File.WriteAllBytes(PathOf("bin.mhd"), new byte[] { 0x00, 0x01, 0x02, 0x03 });
        Assert.That(() => MetaImage.Read(PathOf("bin.mhd")), Throws.TypeOf<DataFormatException>().With.Message.Contain("not a MetaImage"));
    }

    [Test]
    public void HeaderClaimingBillionsOfVoxels_FailsFastWithoutAllocating()
    {
        var path = WriteMhd("huge.mhd", Header("MET_FLOAT", dims: "100000 100000 100000"), new byte[100]);
        long allocated = AllocatedWhileFailing<DataFormatException>(() => MetaImage.Read(path), out var e);
        Assert.That(e.Message, Does.Contain("limit"));
        Assert.That(allocated, Is.LessThan(1 << 20));
    }

    [Test]
    public void CompressedDataClaimingTooMuch_FailsBeforeAllocating()
    {
        var packed = new MemoryStream();
        using (var z = new ZLibStream(packed, CompressionLevel.Optimal, leaveOpen: true)) z.Write(new byte[10]);
        var header = Header("MET_FLOAT", dims: "500 500 400", file: "data.zraw").Replace("CompressedData = False", "CompressedData = True");
        var path = WriteMhd("liar.mhd", header, packed.ToArray(), "data.zraw");
        long allocated = AllocatedWhileFailing<DataFormatException>(() => MetaImage.Read(path), out var e);
        Assert.That(e.Message, Does.Contain("1032"));
        Assert.That(allocated, Is.LessThan(1 << 20));
    }
}
