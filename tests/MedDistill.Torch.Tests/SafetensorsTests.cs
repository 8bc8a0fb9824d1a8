using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MedDistill.Torch.Serialization;

namespace MedDistill.Torch.Tests;

public class SafetensorsTests
{
    private string dir = null!;

    [SetUp]
    public void SetUp()
    {
        dir = Path.Combine(Path.GetTempPath(), "mdt-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
    }

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>A file laid out by hand from the format description: u64 LE header length, JSON header, raw bytes.</summary>
    private string WriteRaw(string name, string headerJson, byte[] data, bool pad = true, ulong? lengthOverride = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson).ToList();
        while (pad && header.Count % 8 != 0) header.Add((byte)' ');
        var bytes = new List<byte>();
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, lengthOverride ?? (ulong)header.Count);
        bytes.AddRange(length);
        bytes.AddRange(header);
        bytes.AddRange(data);
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    private static byte[] Bytes(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();
    private static byte[] Bytes(params long[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    [Test]
    public void ReadsAHandBuiltFile()
    {
        var data = Bytes(1.5f, -2f, 3.25f, 0f)
            .Concat(Bytes(7L, -8L, long.MaxValue))
            .Concat(new byte[] { 0x80, 0x3F, 0x00, 0xC0, 0xC0, 0x3F }) // bf16 1.0, -2.0, 1.5
            .Concat(new byte[] { 1, 0, 1 })
            .ToArray();
        string path = WriteRaw("hand.safetensors",
            "{\"__metadata__\":{\"format\":\"pt\",\"epoch\":\"3\"}," +
            "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}," +
            "\"n\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[16,40]}," +
            "\"h\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[40,46]}," +
            "\"m\":{\"dtype\":\"BOOL\",\"shape\":[1,3],\"data_offsets\":[46,49]}}", data);

        var loaded = Safetensors.Load(path);
        try
        {
            Assert.That(loaded.Keys, Is.EqualTo(new[] { "w", "n", "h", "m" }));
            Assert.That(loaded["w"].shape, Is.EqualTo(new long[] { 2, 2 }));
            Assert.That(loaded["w"].ToArray<float>(), Is.EqualTo(new[] { 1.5f, -2f, 3.25f, 0f }));
            Assert.That(loaded["n"].ToArray<long>(), Is.EqualTo(new[] { 7L, -8L, long.MaxValue }));
            Assert.That(loaded["h"].dtype, Is.EqualTo(ScalarType.BFloat16));
            using (var h = loaded["h"].to(ScalarType.Float32)) Assert.That(h.ToArray<float>(), Is.EqualTo(new[] { 1f, -2f, 1.5f }));
            Assert.That(loaded["m"].ToArray<bool>(), Is.EqualTo(new[] { true, false, true }));
            Assert.That(loaded["m"].shape, Is.EqualTo(new long[] { 1, 3 }));
        }
        finally { foreach (var t in loaded.Values) t.Dispose(); }

        Assert.That(Safetensors.ReadMetadata(path), Is.EqualTo(new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "3" }));
        Assert.That(Safetensors.ReadEntries(path).Select(e => e.Name), Is.EqualTo(new[] { "w", "n", "h", "m" }));
    }

    [Test]
    public void ReadsUnpaddedHeaderAndEntriesOutOfFileOrder()
    {
        // Offsets need not follow the header's key order; tensors come back in data order.
        var data = Bytes(10f).Concat(Bytes(20f, 30f)).ToArray();
        string path = WriteRaw("order.safetensors",
            "{\"late\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},\"early\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}",
            data, pad: false);
        var loaded = Safetensors.Load(path);
        try
        {
            Assert.That(loaded.Keys, Is.EqualTo(new[] { "early", "late" }));
            Assert.That(loaded["early"].dim(), Is.EqualTo(0));
            Assert.That(loaded["early"].item<float>(), Is.EqualTo(10f));
            Assert.That(loaded["late"].ToArray<float>(), Is.EqualTo(new[] { 20f, 30f }));
        }
        finally { foreach (var t in loaded.Values) t.Dispose(); }
    }

    [Test]
    public void WrittenFileMatchesTheFormatWhenParsedByHand()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(dir, "ours.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["a.weight"] = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3),
            ["a.count"] = tensor(new long[] { 42 }),
            ["h"] = tensor(new[] { (Half)0.5f, (Half)(-1f) }),
        };
        Safetensors.Save(path, tensors, new Dictionary<string, string> { ["note"] = "hi \"there\"" });

        byte[] file = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.That(n % 8, Is.EqualTo(0UL), "header padded to a multiple of 8");
        string header = Encoding.UTF8.GetString(file, 8, (int)n);
        Assert.That(header, Does.StartWith("{"));
        Assert.That(header.TrimEnd(' '), Does.EndWith("}"), "padding is spaces");
        using var json = JsonDocument.Parse(header);
        var root = json.RootElement;
        Assert.That(root.GetProperty("__metadata__").GetProperty("note").GetString(), Is.EqualTo("hi \"there\""));

        var w = root.GetProperty("a.weight");
        Assert.That(w.GetProperty("dtype").GetString(), Is.EqualTo("F32"));
        Assert.That(w.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(new long[] { 2, 3 }));
        var wo = w.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        int dataStart = 8 + (int)n;
        var wv = Enumerable.Range(0, 6).Select(i => BitConverter.ToSingle(file, dataStart + (int)wo[0] + 4 * i)).ToArray();
        Assert.That(wo[1] - wo[0], Is.EqualTo(24));
        Assert.That(wv, Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));

        var c = root.GetProperty("a.count");
        Assert.That(c.GetProperty("dtype").GetString(), Is.EqualTo("I64"));
        var co = c.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.That(BitConverter.ToInt64(file, dataStart + (int)co[0]), Is.EqualTo(42));

        var h = root.GetProperty("h");
        Assert.That(h.GetProperty("dtype").GetString(), Is.EqualTo("F16"));
        var ho = h.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.That(BitConverter.ToHalf(file, dataStart + (int)ho[0]), Is.EqualTo((Half)0.5f));
        Assert.That(BitConverter.ToHalf(file, dataStart + (int)ho[0] + 2), Is.EqualTo((Half)(-1f)));

        // Offsets cover the data section exactly.
        var ranges = new[] { wo, co, ho }.OrderBy(r => r[0]).ToArray();
        Assert.That(ranges[0][0], Is.EqualTo(0));
        Assert.That(ranges[1][0], Is.EqualTo(ranges[0][1]));
        Assert.That(ranges[2][0], Is.EqualTo(ranges[1][1]));
        Assert.That(dataStart + ranges[2][1], Is.EqualTo(file.Length));
    }

    [Test]
    public void EveryDtypeRoundTripsBitForBit()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(dir, "all.safetensors");
        var bf16Source = new float[] { 1f, -2.5f, 3.140625f, 1e-20f, float.PositiveInfinity, -0f };
        var tensors = new Dictionary<string, Tensor>
        {
            ["f64"] = tensor(new[] { Math.PI, -1e300, double.Epsilon, 0 }, 2, 2),
            ["f32"] = tensor(new[] { 1.1f, float.MaxValue, -0f, float.NaN }),
            ["f16"] = tensor(new[] { (Half)1.5f, Half.MaxValue, Half.Epsilon }),
            ["bf16"] = tensor(bf16Source, 2, 3).to(ScalarType.BFloat16),
            ["i64"] = tensor(new[] { long.MinValue, -1L, long.MaxValue }),
            ["i32"] = tensor(new[] { int.MinValue, 7, int.MaxValue }),
            ["i16"] = tensor(new short[] { short.MinValue, -3, short.MaxValue }),
            ["i8"] = tensor(new sbyte[] { sbyte.MinValue, -1, sbyte.MaxValue }),
            ["u8"] = tensor(new byte[] { 0, 128, 255 }),
            ["bool"] = tensor(new[] { true, false, false, true }, 2, 2),
            ["scalar"] = scalar_tensor(2.5, ScalarType.Float64),
            ["empty"] = zeros([0, 3]),
        };
        Safetensors.Save(path, tensors);
        var loaded = Safetensors.Load(path);
        Assert.That(loaded.Keys, Is.EqualTo(tensors.Keys));
        foreach (var (name, original) in tensors)
        {
            var back = loaded[name];
            Assert.That(back.dtype, Is.EqualTo(original.dtype), name);
            Assert.That(back.shape, Is.EqualTo(original.shape), name);
        }
        Assert.That(Bits(loaded["f64"].ToArray<double>()), Is.EqualTo(Bits(tensors["f64"].ToArray<double>())));
        Assert.That(loaded["f32"].ToArray<float>().Select(BitConverter.SingleToInt32Bits),
            Is.EqualTo(tensors["f32"].ToArray<float>().Select(BitConverter.SingleToInt32Bits)));
        Assert.That(loaded["f16"].ToArray<Half>(), Is.EqualTo(tensors["f16"].ToArray<Half>()));
        var bfBack = loaded["bf16"].to(ScalarType.Float32).ToArray<float>();
        var bfOrig = tensors["bf16"].to(ScalarType.Float32).ToArray<float>();
        Assert.That(bfBack.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(bfOrig.Select(BitConverter.SingleToInt32Bits)));
        Assert.That(bfBack[0], Is.EqualTo(1f));
        Assert.That(bfBack[2], Is.EqualTo(3.140625f), "exactly representable in bf16");
        Assert.That(loaded["i64"].ToArray<long>(), Is.EqualTo(tensors["i64"].ToArray<long>()));
        Assert.That(loaded["i32"].ToArray<int>(), Is.EqualTo(tensors["i32"].ToArray<int>()));
        Assert.That(loaded["i16"].ToArray<short>(), Is.EqualTo(tensors["i16"].ToArray<short>()));
        Assert.That(loaded["i8"].ToArray<sbyte>(), Is.EqualTo(tensors["i8"].ToArray<sbyte>()));
        Assert.That(loaded["u8"].ToArray<byte>(), Is.EqualTo(new byte[] { 0, 128, 255 }));
        Assert.That(loaded["bool"].ToArray<bool>(), Is.EqualTo(new[] { true, false, false, true }));
        Assert.That(loaded["scalar"].item<double>(), Is.EqualTo(2.5));
        Assert.That(loaded["empty"].numel(), Is.EqualTo(0));
        foreach (var t in loaded.Values) t.Dispose();
    }

    private static long[] Bits(double[] v) => v.Select(BitConverter.DoubleToInt64Bits).ToArray();

    [Test]
    public void BFloat16BitConversionRoundsToNearestEven()
    {
        Assert.That(Safetensors.FloatToBFloat16Bits(1f), Is.EqualTo((ushort)0x3F80));
        // 1 + 2^-8 lies halfway between bf16 1.0 and 1.0078125: ties go to the even mantissa (1.0).
        Assert.That(Safetensors.FloatToBFloat16Bits(1f + 1f / 256), Is.EqualTo((ushort)0x3F80));
        Assert.That(Safetensors.FloatToBFloat16Bits(1f + 3f / 256), Is.EqualTo((ushort)0x3F82));
        Assert.That(float.IsNaN(Safetensors.BFloat16BitsToFloat(Safetensors.FloatToBFloat16Bits(float.NaN))), Is.True);
    }

    [Test]
    public void SaveReplacesAtomicallyAndLeavesNoTemporaryFiles()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(dir, "ckpt.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = tensor(new float[] { 1 }) });
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = tensor(new float[] { 2 }) });
        Assert.That(Directory.GetFiles(dir), Is.EqualTo(new[] { path }));

        // A save that fails leaves the previous checkpoint untouched.
        var bad = new Dictionary<string, Tensor> { ["x"] = tensor(new float[] { 3 }), ["__metadata__"] = tensor(new float[] { 4 }) };
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, bad));
        Assert.That(Directory.GetFiles(dir), Is.EqualTo(new[] { path }));
        var loaded = Safetensors.Load(path);
        Assert.That(loaded["x"].ToArray<float>(), Is.EqualTo(new[] { 2f }));
        loaded["x"].Dispose();
    }

    private static SafetensorsFormatException Bad(string path)
    {
        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path))!;
        Assert.That(ex.Message, Does.Contain(path), "the error names the file");
        return ex;
    }

    private const string OneF32 = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    [Test]
    public void TruncatedFileIsRejected()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(dir, "t.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = tensor(new float[] { 1, 2, 3, 4 }) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        Assert.That(Bad(path).Message, Does.Contain("truncated"));

        File.WriteAllBytes(path, bytes[..5]);
        Assert.That(Bad(path).Message, Does.Contain("too short"));
    }

    [Test]
    public void BadHeaderLengthIsRejected()
    {
        string path = WriteRaw("len.safetensors", OneF32, Bytes(1f, 2f), lengthOverride: 1UL << 40);
        Assert.That(Bad(path).Message, Does.Contain("header length"));
        path = WriteRaw("len2.safetensors", OneF32, Bytes(1f, 2f), lengthOverride: 0);
        Assert.That(Bad(path).Message, Does.Contain("header length"));
    }

    [Test]
    public void OffsetsOutOfRangeAreRejected()
    {
        string path = WriteRaw("range.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[25],\"data_offsets\":[0,100]}}", Bytes(1f, 2f));
        Assert.That(Bad(path).Message, Does.Contain("data section holds only 8 bytes"));
    }

    [Test]
    public void OverlapsHolesAndSizeMismatchesAreRejected()
    {
        string overlap = WriteRaw("overlap.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            Bytes(1f, 2f, 3f));
        Assert.That(Bad(overlap).Message, Does.Contain("overlap"));

        string hole = WriteRaw("hole.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
            Bytes(1f, 2f, 3f));
        Assert.That(Bad(hole).Message, Does.Contain("hole"));

        string size = WriteRaw("size.safetensors", "{\"x\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", Bytes(1f, 2f));
        Assert.That(Bad(size).Message, Does.Contain("needs 16"));

        string trailing = WriteRaw("trail.safetensors", OneF32, Bytes(1f, 2f, 3f));
        Assert.That(Bad(trailing).Message, Does.Contain("trailing"));
    }

    [Test]
    public void MalformedHeadersAreRejected()
    {
        Assert.That(Bad(WriteRaw("json.safetensors", "{\"x\": [1, 2", Bytes(1f, 2f))).Message, Does.Contain("not valid JSON"));
        Assert.That(Bad(WriteRaw("array.safetensors", "[1, 2]", Array.Empty<byte>())).Message, Does.Contain("not safetensors"));
        Assert.That(Bad(WriteRaw("dtype.safetensors", "{\"x\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]}}", Bytes(1L))).Message,
            Does.Contain("\"U64\""));
        Assert.That(Bad(WriteRaw("shape.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", Bytes(1f, 2f))).Message,
            Does.Contain("shape"));
        Assert.That(Bad(WriteRaw("nooff.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", Bytes(1f, 2f))).Message,
            Does.Contain("data_offsets"));
        Assert.That(Bad(WriteRaw("dup.safetensors",
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                Bytes(1f, 2f))).Message,
            Does.Contain("twice"));
        Assert.That(Bad(WriteRaw("meta.safetensors", "{\"__metadata__\":{\"a\":1}}", Array.Empty<byte>())).Message,
            Does.Contain("not a string"));
        Assert.That(Bad(WriteRaw("bool.safetensors", "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[] { 1, 7 })).Message,
            Does.Contain("byte value 7"));
        Assert.Throws<FileNotFoundException>(() => Safetensors.Load(Path.Combine(dir, "missing.safetensors")));
    }
}
