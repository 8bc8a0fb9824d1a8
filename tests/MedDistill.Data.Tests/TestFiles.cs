using System.Buffers.Binary;

namespace MedDistill.Data.Tests;

/// <summary>A temporary folder per test, deleted afterwards.</summary>
public abstract class TempDirTest
{
    protected string Dir { get; private set; } = "";

    [SetUp]
    public void CreateDir() => Dir = Directory.CreateTempSubdirectory("md-readers-").FullName;

    [TearDown]
    public void DeleteDir() => Directory.Delete(Dir, true);

    protected string PathOf(string name) => Path.Combine(Dir, name);

    protected static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name);

    /// <summary>Bytes allocated on this thread while <paramref name="action"/> runs (it is expected to throw).</summary>
    protected static long AllocatedWhileFailing<TException>(Action action, out TException error) where TException : Exception
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        TException? caught = null;
        try { action(); }
        catch (TException e) { caught = e; }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(caught, Is.Not.Null, $"expected {typeof(TException).Name}");
        error = caught!;
        return allocated;
    }
}

/// <summary>Encodes one element of a given type and byte order, for building files by hand from the specifications.</summary>
public static class Element
{
    public static byte[] Encode(string kind, int size, bool bigEndian, double value)
    {
        var b = new byte[size];
        switch (kind, size)
        {
            case ("u", 1): b[0] = (byte)value; break;
            case ("i", 1): b[0] = unchecked((byte)(sbyte)value); break;
            case ("u", 2): if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)value); else BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)value); break;
            case ("i", 2): if (bigEndian) BinaryPrimitives.WriteInt16BigEndian(b, (short)value); else BinaryPrimitives.WriteInt16LittleEndian(b, (short)value); break;
            case ("u", 4): if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, (uint)value); else BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)value); break;
            case ("i", 4): if (bigEndian) BinaryPrimitives.WriteInt32BigEndian(b, (int)value); else BinaryPrimitives.WriteInt32LittleEndian(b, (int)value); break;
            case ("u", 8): if (bigEndian) BinaryPrimitives.WriteUInt64BigEndian(b, (ulong)value); else BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)value); break;
            case ("i", 8): if (bigEndian) BinaryPrimitives.WriteInt64BigEndian(b, (long)value); else BinaryPrimitives.WriteInt64LittleEndian(b, (long)value); break;
            case ("f", 4): if (bigEndian) BinaryPrimitives.WriteSingleBigEndian(b, (float)value); else BinaryPrimitives.WriteSingleLittleEndian(b, (float)value); break;
            case ("f", 8): if (bigEndian) BinaryPrimitives.WriteDoubleBigEndian(b, value); else BinaryPrimitives.WriteDoubleLittleEndian(b, value); break;
            default: throw new ArgumentException($"{kind}{size}");
        }
        return b;
    }

    public static byte[] EncodeAll(string kind, int size, bool bigEndian, IEnumerable<double> values) =>
        values.SelectMany(v => Encode(kind, size, bigEndian, v)).ToArray();

    /// <summary>Values that exercise a type: its extremes where float32 holds them exactly, negatives when signed.</summary>
    public static double[] Sample(string kind, int size) => (kind, size) switch
    {
        ("u", 1) => new double[] { 0, 1, 127, 128, 255, 7 },
        ("i", 1) => new double[] { -128, -1, 0, 1, 127, 5 },
        ("u", 2) => new double[] { 0, 1, 32768, 65535, 300, 2 },
        ("i", 2) => new double[] { -32768, -1024, 0, 1, 32767, 3 },
        ("u", 4) => new double[] { 0, 1, 1 << 24, 4294967040, 70000, 9 },
        ("i", 4) => new double[] { -(1 << 24), -70000, 0, 1, 1 << 30, 4 },
        ("u", 8) => new double[] { 0, 1, 1L << 40, 1L << 53, 123456, 8 },
        ("i", 8) => new double[] { -(1L << 40), -5, 0, 1, 1L << 50, 6 },
        ("f", 4) => new double[] { -1.5, 0, 0.25, 3.0e38, -7.125, 1e-6f },
        ("f", 8) => new double[] { -1.5, 0, 0.25, 1e30, -7.125, 2.5e-8 },
        _ => throw new ArgumentException($"{kind}{size}"),
    };
}
