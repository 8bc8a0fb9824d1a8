using System.IO.Compression;
using System.Text;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// The writers behind the abdomen phantom (.npy/.npz, HDF5) checked against independent truth — NumPy's own bytes
/// (Fixtures/numpy_slice.npz, written by np.savez_compressed) and a zip assembled here by hand — and the readers'
/// errors for corrupt files of those formats.
/// </summary>
public class AbdomenFormatsTests : TempDirTest
{
    [Test]
    public void NpyWriter_ReproducesNumPysBytes_ForTheFixturesArrays()
    {
        using var zip = ZipFile.OpenRead(Fixture("numpy_slice.npz"));
        foreach (var key in new[] { "image", "label" })
        {
            byte[] numpy;
            using (var member = zip.GetEntry(key + ".npy")!.Open())
            using (var copy = new MemoryStream()) { member.CopyTo(copy); numpy = copy.ToArray(); }
            var volume = Npy.ReadNpz(Fixture("numpy_slice.npz"), key);
            Assert.That(NpyWriter.Encode(volume, VoxelType.Float32), Is.EqualTo(numpy), key);
        }
    }

    [Test]
    public void Npz_BuiltByHandWithKnownBytes_ReadsBack()
    {
        // A (2, 3) little-endian int16 array and a (2,) uint8 one, headers written out literally as np.save does.
        static byte[] Npy(string dict, byte[] body)
        {
            int total = (10 + dict.Length + 1 + 63) / 64 * 64;
            var header = dict.PadRight(total - 11) + "\n";
            var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(total - 10), (byte)((total - 10) >> 8) };
            bytes.AddRange(Encoding.ASCII.GetBytes(header));
            bytes.AddRange(body);
            return bytes.ToArray();
        }
        var image = Npy("{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", [1, 0, 2, 0, 3, 0, 0xFF, 0xFF, 0, 1, 0, 0x80]);
        var label = Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", [7, 8]);
        var path = PathOf("hand.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            foreach (var (name, bytes) in new[] { ("image.npy", image), ("label.npy", label) })
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(bytes);
            }
        }
        Assert.That(VolumeReader.Detect(path), Is.EqualTo(VolumeFormat.Npz));
        var a = VolumeReader.Read(path, "image");
        Assert.That(a.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(a.StoredType, Is.EqualTo(VoxelType.Int16));
        Assert.That(a.Data, Is.EqualTo(new float[] { 1, 2, 3, -1, 256, -32768 }));
        Assert.That(VolumeReader.Read(path, "label").Data, Is.EqualTo(new float[] { 7, 8 }));
        // Our writer gives the same member bytes for the same arrays.
        Assert.That(NpyWriter.Encode(a, VoxelType.Int16), Is.EqualTo(image));
    }

    [Test]
    public void NpzWriter_RoundTrips_AndIsByteIdenticalOnRewrite()
    {
        var image = new Volume([0f, 0.25f, 0.5f, 1f, 0.125f, 0.75f], [2, 3]);
        var label = new Volume([0f, 1, 2, 8, 5, 0], [2, 3]);
        NpyWriter.WriteNpz(PathOf("a.npz"), [("image", image, VoxelType.Float32), ("label", label, VoxelType.Float32)]);
        Thread.Sleep(1100); // a zip time stamp has 2 s resolution; the writer fixes it, so bytes must not change
        NpyWriter.WriteNpz(PathOf("b.npz"), [("image", image, VoxelType.Float32), ("label", label, VoxelType.Float32)]);
        Assert.That(File.ReadAllBytes(PathOf("b.npz")), Is.EqualTo(File.ReadAllBytes(PathOf("a.npz"))));
        Assert.That(Npy.Keys(PathOf("a.npz")), Is.EqualTo(new[] { "image", "label" }));
        Assert.That(Npy.ReadNpz(PathOf("a.npz"), "image").Data, Is.EqualTo(image.Data));
        Assert.That(Npy.ReadNpz(PathOf("a.npz"), "label").Data, Is.EqualTo(label.Data));
        Assert.That(Directory.GetFiles(Dir), Has.Length.EqualTo(2), "no temporary file left behind");
    }

    [Test]
    public void Hdf5Writer_RoundTripsShapeTypeAndValues()
    {
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => i * 0.5f).ToArray();
        var path = PathOf("case0001.npy.h5");
        Hdf5Writer.Write(path, [("image", new Volume(data, [2, 3, 4]), VoxelType.Float32), ("label", new Volume(data.Select(v => MathF.Floor(v / 4)).ToArray(), [2, 3, 4]), VoxelType.UInt8)]);
        Assert.That(VolumeReader.Detect(path), Is.EqualTo(VolumeFormat.Hdf5));
        var image = Hdf5.Read(path, "image");
        var label = Hdf5.Read(path, "label");
        Assert.That(image.Shape, Is.EqualTo(new[] { 2, 3, 4 }));
        Assert.That(image.StoredType, Is.EqualTo(VoxelType.Float32));
        Assert.That(image.Data, Is.EqualTo(data));
        Assert.That(label.StoredType, Is.EqualTo(VoxelType.UInt8));
        Assert.That(label.Data[23], Is.EqualTo(2f));
    }

    [Test]
    public void TruncatedNpz_IsAnErrorNamingTheFile()
    {
        NpyWriter.WriteNpz(PathOf("slice.npz"), [("image", new Volume(new float[64 * 64], [64, 64]), VoxelType.Float32)]);
        var bytes = File.ReadAllBytes(PathOf("slice.npz"));
        File.WriteAllBytes(PathOf("cut.npz"), bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => VolumeReader.Read(PathOf("cut.npz"), "image"))!;
        Assert.That(e.Message, Does.StartWith(PathOf("cut.npz")));
        Assert.That(e.Message, Does.Contain("zip"));
    }

    [Test]
    public void TruncatedH5_IsAnErrorNamingTheFile()
    {
        Hdf5Writer.Write(PathOf("v.npy.h5"), [("image", new Volume(new float[4 * 16 * 16], [4, 16, 16]), VoxelType.Float32)]);
        var bytes = File.ReadAllBytes(PathOf("v.npy.h5"));
        File.WriteAllBytes(PathOf("cut.npy.h5"), bytes[..600]);
        var e = Assert.Throws<DataFormatException>(() => VolumeReader.Read(PathOf("cut.npy.h5"), "image"))!;
        Assert.That(e.Message, Does.StartWith(PathOf("cut.npy.h5")));
    }

    [Test]
    public void NpzWriter_RefusesDuplicateOrBadNames_BeforeWriting()
    {
        var v = new Volume([1f], [1]);
        Assert.That(() => NpyWriter.WriteNpz(PathOf("x.npz"), [("image", v, VoxelType.Float32), ("image", v, VoxelType.Float32)]), Throws.ArgumentException.With.Message.Contains("twice"));
        Assert.That(() => NpyWriter.WriteNpz(PathOf("x.npz"), [("a/b", v, VoxelType.Float32)]), Throws.ArgumentException);
        Assert.That(File.Exists(PathOf("x.npz")), Is.False);
    }
}
