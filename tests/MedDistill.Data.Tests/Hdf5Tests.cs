using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// The HDF5 reader against (a) files assembled byte by byte from the specification (<see cref="Hdf5SpecWriter"/>) and
/// (b) files h5py wrote (Fixtures/make_fixtures.py), whose values are recomputed here from the script's formulas.
/// </summary>
public class Hdf5Tests : TempDirTest
{
    private static double H(int z, int y, int x) => 100 * z + 10 * y + x - 300;
    private static double F(int z, int y, int x) => (100 * z + 10 * y + x) / 8.0;
    private static double G(int z, int y, int x) => (z + y + x) % 3;

    private string Write(string name, Hdf5SpecWriter writer)
    {
        File.WriteAllBytes(PathOf(name), writer.Build());
        return PathOf(name);
    }

    private static void AssertGrid(Volume v, int[] shape, Func<int, int, int, double> expected)
    {
        Assert.That(v.Shape, Is.EqualTo(shape));
        for (int z = 0; z < shape[0]; z++)
            for (int y = 0; y < shape[1]; y++)
                for (int x = 0; x < shape[2]; x++)
                    Assert.That(v.Data[(z * shape[1] + y) * shape[2] + x], Is.EqualTo((float)expected(z, y, x)), $"at ({z}, {y}, {x})");
    }

    // ---- (a) files built from the specification -----------------------------------------------------------------

    public static IEnumerable<TestCaseData> AllTypes()
    {
        foreach (var (kind, size, type) in new[]
                 {
                     ("u", 1, VoxelType.UInt8), ("i", 1, VoxelType.Int8), ("u", 2, VoxelType.UInt16), ("i", 2, VoxelType.Int16),
                     ("u", 4, VoxelType.UInt32), ("i", 4, VoxelType.Int32), ("u", 8, VoxelType.UInt64), ("i", 8, VoxelType.Int64),
                     ("f", 4, VoxelType.Float32), ("f", 8, VoxelType.Float64),
                 })
            foreach (var big in new[] { false, true })
                yield return new TestCaseData(kind, size, type, big).SetArgDisplayNames($"{type}", big ? "big-endian" : "little-endian");
    }

    [TestCaseSource(nameof(AllTypes))]
    public void Contiguous_EveryNumericType_InEitherByteOrder(string kind, int size, VoxelType type, bool big)
    {
        var values = Element.Sample(kind, size);
        var datatype = kind == "f" ? Hdf5SpecWriter.FloatingPoint(size, big) : Hdf5SpecWriter.FixedPoint(size, kind == "i", big);
        var path = Write("t.h5", new Hdf5SpecWriter()
            .Add(new Hdf5SpecWriter.Dataset("image", new ulong[] { 2, 3 }, datatype, size) { Contiguous = Element.EncodeAll(kind, size, big, values) }));

        var v = Hdf5.Read(path, "image");

        Assert.That(v.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(v.StoredType, Is.EqualTo(type));
        Assert.That(v.Data, Is.EqualTo(values.Select(x => (float)x).ToArray()));
    }

    /// <summary>The chunk at <paramref name="offset"/>, full-size, zero beyond the dataset's edge (as HDF5 stores it).</summary>
    private static byte[] Chunk(int[] dims, int[] chunk, int[] offset, Func<int, int, int, double> value, string kind, int size, bool big)
    {
        var values = new List<double>();
        for (int cz = 0; cz < chunk[0]; cz++)
            for (int cy = 0; cy < chunk[1]; cy++)
                for (int cx = 0; cx < chunk[2]; cx++)
                {
                    int z = offset[0] + cz, y = offset[1] + cy, x = offset[2] + cx;
                    values.Add(z < dims[0] && y < dims[1] && x < dims[2] ? value(z, y, x) : 0);
                }
        return Element.EncodeAll(kind, size, big, values);
    }

    private static List<(ulong[], byte[])> AllChunks(int[] dims, int[] chunk, Func<int, int, int, double> value, string kind, int size, bool big, int[]? skip = null)
    {
        var list = new List<(ulong[], byte[])>();
        for (int z = 0; z < dims[0]; z += chunk[0])
            for (int y = 0; y < dims[1]; y += chunk[1])
                for (int x = 0; x < dims[2]; x += chunk[2])
                {
                    if (skip is not null && skip.SequenceEqual(new[] { z, y, x })) continue;
                    list.Add((new ulong[] { (ulong)z, (ulong)y, (ulong)x }, Chunk(dims, chunk, new[] { z, y, x }, value, kind, size, big)));
                }
        return list;
    }

    [TestCase(false, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void Chunked_WithEdgeChunks_AndDeflateOrShuffle(bool shuffle, bool deflate)
    {
        int[] dims = { 5, 6, 7 }, chunk = { 2, 4, 3 };
        var path = Write("c.h5", new Hdf5SpecWriter().Add(
            new Hdf5SpecWriter.Dataset("image", new ulong[] { 5, 6, 7 }, Hdf5SpecWriter.FixedPoint(2, true, true), 2)
            {
                ChunkDims = chunk,
                Chunks = AllChunks(dims, chunk, H, "i", 2, big: true),
                Shuffle = shuffle,
                Deflate = deflate,
            }));
        AssertGrid(Hdf5.Read(path, "image"), dims, H);
    }

    [Test]
    public void Chunked_MissingChunk_ReadsAsZero()
    {
        int[] dims = { 4, 4, 4 }, chunk = { 2, 2, 2 };
        var path = Write("m.h5", new Hdf5SpecWriter().Add(
            new Hdf5SpecWriter.Dataset("image", new ulong[] { 4, 4, 4 }, Hdf5SpecWriter.FloatingPoint(8, false), 8)
            {
                ChunkDims = chunk,
                Chunks = AllChunks(dims, chunk, F, "f", 8, big: false, skip: new[] { 2, 0, 2 }),
                Deflate = true,
            }));
        AssertGrid(Hdf5.Read(path, "image"), dims, (z, y, x) => z >= 2 && y < 2 && x >= 2 ? 0 : F(z, y, x));
    }

    [Test]
    public void MessagesInAContinuationBlock_AreFollowed()
    {
        var path = Write("k.h5", new Hdf5SpecWriter().Add(
            new Hdf5SpecWriter.Dataset("label", new ulong[] { 1, 2, 2 }, Hdf5SpecWriter.FixedPoint(1, false, false), 1)
            {
                Contiguous = new byte[] { 0, 1, 2, 3 },
                LayoutInContinuation = true,
            }));
        Assert.That(Hdf5.Read(path, "label").Data, Is.EqualTo(new float[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void SeveralDatasets_ReadByName_AndWithoutANameTheErrorListsThem()
    {
        var u8 = Hdf5SpecWriter.FixedPoint(1, false, false);
        var path = Write("two.h5", new Hdf5SpecWriter()
            .Add(new Hdf5SpecWriter.Dataset("label", new ulong[] { 2 }, u8, 1) { Contiguous = new byte[] { 7, 8 } })
            .Add(new Hdf5SpecWriter.Dataset("image", new ulong[] { 3 }, u8, 1) { Contiguous = new byte[] { 1, 2, 3 } }));
        Assert.That(Hdf5.Read(path, "image").Data, Is.EqualTo(new float[] { 1, 2, 3 }));
        Assert.That(Hdf5.Read(path, "label").Data, Is.EqualTo(new float[] { 7, 8 }));
        Assert.That(Hdf5.DatasetNames(path), Is.EqualTo(new[] { "image", "label" }));
        Assert.That(() => Hdf5.Read(path), Throws.TypeOf<DataFormatException>().With.Message.Contain("image, label"));
        Assert.That(() => Hdf5.Read(path, "mask"), Throws.TypeOf<DataFormatException>().With.Message.Contain("no \"mask\"").And.Message.Contain("image, label"));
    }

    [Test]
    public void SingleDataset_ReadsWithoutAName()
    {
        var path = Write("one.h5", new Hdf5SpecWriter()
            .Add(new Hdf5SpecWriter.Dataset("volume", new ulong[] { 2 }, Hdf5SpecWriter.FixedPoint(1, false, false), 1) { Contiguous = new byte[] { 4, 5 } }));
        Assert.That(VolumeReader.Read(path).Data, Is.EqualTo(new float[] { 4, 5 }));
    }

    [Test]
    public void UnwrittenContiguousData_ReadsAsZero()
    {
        var path = Write("u.h5", new Hdf5SpecWriter()
            .Add(new Hdf5SpecWriter.Dataset("image", new ulong[] { 2, 2 }, Hdf5SpecWriter.FloatingPoint(4, false), 4) { ContiguousSizeOverride = 16 }));
        Assert.That(Hdf5.Read(path, "image").Data, Is.EqualTo(new float[4]));
    }

    // ---- (b) files written by h5py ------------------------------------------------------------------------------

    [Test]
    public void H5py_Default_SymbolTableGroups_ContiguousData()
    {
        var image = VolumeReader.Read(Fixture("h5py_default.h5"), "image");
        AssertGrid(image, new[] { 3, 4, 5 }, F);
        Assert.That(image.StoredType, Is.EqualTo(VoxelType.Float32));
        var label = VolumeReader.Read(Fixture("h5py_default.h5"), "label");
        AssertGrid(label, new[] { 3, 4, 5 }, G);
        Assert.That(label.StoredType, Is.EqualTo(VoxelType.UInt8));
    }

    [Test]
    public void H5py_Chunked_ShuffleGzipFletcher_BigEndian_Bool_NestedGroup()
    {
        var path = Fixture("h5py_chunked_gzip.h5");
        var image = Hdf5.Read(path, "image");
        AssertGrid(image, new[] { 5, 6, 7 }, H);
        Assert.That(image.StoredType, Is.EqualTo(VoxelType.Int16));
        AssertGrid(Hdf5.Read(path, "label"), new[] { 5, 6, 7 }, (z, y, x) => (x + y) % 2 == 0 ? 1 : 0);
        AssertGrid(Hdf5.Read(path, "group/volume"), new[] { 2, 3, 4 }, F);
    }

    [Test]
    public void H5py_LibverLatest_V2ObjectHeaders_LinkMessages_LayoutV4()
    {
        var path = Fixture("h5py_latest.h5");
        AssertGrid(Hdf5.Read(path, "image"), new[] { 2, 3, 4 }, F);
        AssertGrid(Hdf5.Read(path, "label"), new[] { 2, 3, 4 }, G);
        AssertGrid(Hdf5.Read(path, "single"), new[] { 2, 3, 4 }, F);   // layout v4, single-chunk index, deflated
        AssertGrid(Hdf5.Read(path, "implicit"), new[] { 2, 3, 4 }, F); // layout v4, implicit index, edge chunks
        // A fixed-array chunk index, which our own reader refused by name; PureHDF reads it.
        AssertGrid(Hdf5.Read(path, "chunked"), new[] { 4, 4, 4 }, G);
    }

    // ---- corrupt files ------------------------------------------------------------------------------------------

    [Test]
    public void NotHdf5_IsRefused()
    {
        File.WriteAllBytes(PathOf("x.h5"), new byte[600]);
        Assert.That(() => Hdf5.Read(PathOf("x.h5"), "image"), Throws.TypeOf<DataFormatException>().With.Message.Contain("not an HDF5 file"));
    }

    // h5py reports (get_chunk_info) the image's 18 chunks at bytes 4536–5166 of this 11296-byte file; its metadata
    // comes before them, the other datasets after. Cutting at 1000 loses metadata, at 4600 the second chunk.
    [TestCase(1000)]
    [TestCase(4600)]
    public void TruncatedFile_IsReported(int keep)
    {
        var bytes = File.ReadAllBytes(Fixture("h5py_chunked_gzip.h5"));
        File.WriteAllBytes(PathOf("cut.h5"), bytes[..keep]);
        Assert.That(() => Hdf5.Read(PathOf("cut.h5"), "image"), Throws.TypeOf<DataFormatException>().With.Message.Contain("cut.h5"));
    }

    [Test]
    public void TruncationAfterTheDataset_DoesNotAffectIt()
    {
        var bytes = File.ReadAllBytes(Fixture("h5py_chunked_gzip.h5"));
        File.WriteAllBytes(PathOf("cut.h5"), bytes[..5200]);
        AssertGrid(Hdf5.Read(PathOf("cut.h5"), "image"), new[] { 5, 6, 7 }, H);
    }

    [Test]
    public void ContiguousDataBeyondTheEnd_IsReportedAsTruncated()
    {
        var bytes = new Hdf5SpecWriter()
            .Add(new Hdf5SpecWriter.Dataset("image", new ulong[] { 64 }, Hdf5SpecWriter.FloatingPoint(8, false), 8) { Contiguous = new byte[512] })
            .Build();
        // Find the layout message body (version 3, class 1, address, size 512) and move the address near the end.
        int layout = Enumerable.Range(0, bytes.Length - 18).First(i => bytes[i] == 3 && bytes[i + 1] == 1
            && System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i + 10)) == 512);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(layout + 2), (ulong)(bytes.Length - 100));
        File.WriteAllBytes(PathOf("t.h5"), bytes);
        Assert.That(() => Hdf5.Read(PathOf("t.h5"), "image"),
            Throws.TypeOf<DataFormatException>().With.Message.Contain("truncated").And.Message.Contain($"the file has {bytes.Length}"));
    }

    [Test]
    public void DataspaceClaimingBillionsOfElements_FailsFastWithoutAllocating()
    {
        var path = Write("huge.h5", new Hdf5SpecWriter()
            .Add(new Hdf5SpecWriter.Dataset("image", new ulong[] { 100000, 100000, 100000 }, Hdf5SpecWriter.FloatingPoint(4, false), 4) { Contiguous = new byte[64] }));
        long allocated = AllocatedWhileFailing<DataFormatException>(() => Hdf5.Read(path, "image"), out var e);
        Assert.That(e.Message, Does.Contain("limit"));
        Assert.That(allocated, Is.LessThan(1 << 20));
    }

    [Test]
    public void CorruptDeflatedChunk_IsReported()
    {
        int[] dims = { 2, 2, 2 };
        var writer = new Hdf5SpecWriter().Add(
            new Hdf5SpecWriter.Dataset("image", new ulong[] { 2, 2, 2 }, Hdf5SpecWriter.FloatingPoint(4, false), 4)
            {
                ChunkDims = dims,
                Chunks = AllChunks(dims, dims, F, "f", 4, big: false),
                Deflate = true,
            });
        var bytes = writer.Build();
        // The deflated chunk starts with a zlib header: 0x78 (deflate, 32K window), then a byte making the pair a
        // multiple of 31 (RFC 1950); break the stream after it.
        int at = Enumerable.Range(0, bytes.Length - 1).First(i => bytes[i] == 0x78 && (0x7800 + bytes[i + 1]) % 31 == 0);
        for (int i = at + 2; i < at + 8; i++) bytes[i] = 0xFF;
        File.WriteAllBytes(PathOf("z.h5"), bytes);
        Assert.That(() => Hdf5.Read(PathOf("z.h5"), "image"), Throws.TypeOf<DataFormatException>().With.Message.Contain("z.h5[image]"));
    }
}
