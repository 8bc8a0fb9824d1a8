using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MedDistill.Cli.Tests;

/// <summary>
/// <c>meddistill metrics fsd</c> end to end on .npy files written byte by byte here (not by the reader under test), with the
/// hand-worked sets of FrechetDistanceTests: A = (0,0), (2,0), (1,3) and B = (0,0), (1,1), (2,2) give FD = 2.
/// </summary>
public class MetricsCommandTests
{
    private string root = "";

    [SetUp]
    public void MakeRoot() => root = Directory.CreateTempSubdirectory("md-fsd-").FullName;

    [TearDown]
    public void RemoveRoot() => Directory.Delete(root, recursive: true);

    /// <summary>NPY 1.0: magic, version, little-endian u16 header length, the header dict padded with spaces and ended by
    /// '\n' so data starts on a 64-byte boundary, then the values in C order.</summary>
    private string WriteNpy(string name, int[] shape, double[] values, bool float32 = false)
    {
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        string dict = $"{{'descr': '{(float32 ? "<f4" : "<f8")}', 'fortran_order': False, 'shape': {shapeText}, }}";
        int unpadded = 10 + dict.Length + 1;
        string header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";

        using var bytes = new MemoryStream();
        bytes.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        Span<byte> u16 = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(u16, (ushort)header.Length);
        bytes.Write(u16);
        bytes.Write(Encoding.Latin1.GetBytes(header));
        Span<byte> value = stackalloc byte[8];
        foreach (var v in values)
        {
            if (float32) { BinaryPrimitives.WriteSingleLittleEndian(value, (float)v); bytes.Write(value[..4]); }
            else { BinaryPrimitives.WriteDoubleLittleEndian(value, v); bytes.Write(value); }
        }
        var path = Path.Combine(root, name);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    [Test]
    public void Fsd_PrintsTheHandWorkedValue()
    {
        var a = WriteNpy("a.npy", [3, 2], [0, 0, 2, 0, 1, 3]);
        var b = WriteNpy("b.npy", [3, 2], [0, 0, 1, 1, 2, 2], float32: true);
        var (code, stdout, stderr) = CliRunner.Run("metrics", "fsd", a, b);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(double.Parse(stdout.Trim(), CultureInfo.InvariantCulture), Is.EqualTo(2).Within(1e-12));
    }

    [Test]
    public void Fsd_Json_HasTheTermsAndCounts()
    {
        var a = WriteNpy("a.npy", [3, 2], [0, 0, 2, 0, 1, 3]);
        var c = WriteNpy("c.npy", [4, 2], [1, 2, 3, 2, 2, 2, 2, 2]);
        var (code, stdout, stderr) = CliRunner.Run("metrics", "fsd", a, c, "--json");
        Assert.That(code, Is.EqualTo(0), stderr);
        using var doc = JsonDocument.Parse(stdout);
        var o = doc.RootElement;
        // C = (1,2), (3,2), (2,2), (2,2): μ = (2,2), Σ = diag(2/3, 0); FD = 2 + (1 − √(2/3))² + 3.
        double expectedTrace = Math.Pow(1 - Math.Sqrt(2.0 / 3), 2) + 3;
        Assert.Multiple(() =>
        {
            Assert.That(o.GetProperty("fsd").GetDouble(), Is.EqualTo(2 + expectedTrace).Within(1e-12));
            Assert.That(o.GetProperty("mean_term").GetDouble(), Is.EqualTo(2).Within(1e-15));
            Assert.That(o.GetProperty("trace_term").GetDouble(), Is.EqualTo(expectedTrace).Within(1e-12));
            Assert.That(o.GetProperty("n1").GetInt32(), Is.EqualTo(3));
            Assert.That(o.GetProperty("n2").GetInt32(), Is.EqualTo(4));
            Assert.That(o.GetProperty("d").GetInt32(), Is.EqualTo(2));
        });
    }

    [Test]
    public void Fsd_ReadsFloat64AtFullPrecision()
    {
        // A one-vector set against another: FD = ‖a − b‖² = (1e-9)², lost entirely if the values were narrowed to float.
        var a = WriteNpy("a.npy", [1, 1], [1.0]);
        var b = WriteNpy("b.npy", [1, 1], [1.0 + 1e-9]);
        var (code, stdout, stderr) = CliRunner.Run("metrics", "fsd", a, b);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(double.Parse(stdout.Trim(), CultureInfo.InvariantCulture), Is.EqualTo(1e-18).Within(1e-24));
    }

    [Test]
    public void Fsd_OneDimensionalArray_IsAnErrorNamingTheFile()
    {
        var a = WriteNpy("a.npy", [3, 2], [0, 0, 2, 0, 1, 3]);
        var flat = WriteNpy("flat.npy", [4], [1, 2, 3, 4]);
        var (code, stdout, stderr) = CliRunner.Run("metrics", "fsd", a, flat);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(CliHost.ExitFailure));
            Assert.That(stdout, Is.Empty);
            Assert.That(stderr, Does.Contain($"{flat}: a 1-D array (shape (4)); fsd needs a 2-D (n, d) array"));
        });
    }

    [Test]
    public void Fsd_DifferentDimensions_IsAnErrorNamingBothFiles()
    {
        var a = WriteNpy("a.npy", [3, 2], [0, 0, 2, 0, 1, 3]);
        var wide = WriteNpy("wide.npy", [2, 3], [1, 2, 3, 4, 5, 6]);
        var (code, _, stderr) = CliRunner.Run("metrics", "fsd", a, wide);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(CliHost.ExitFailure));
            Assert.That(stderr, Does.Contain($"{a} has vectors of dimension 2 (shape (3, 2)), {wide} of dimension 3 (shape (2, 3)); fsd needs the same d"));
        });
    }

    [Test]
    public void Fsd_NaN_MissingAndUnreadableFiles_AreErrorsNamingTheFile()
    {
        var a = WriteNpy("a.npy", [3, 2], [0, 0, 2, 0, 1, 3]);
        var nan = WriteNpy("nan.npy", [2, 2], [0, 0, double.NaN, 1]);
        var junk = Path.Combine(root, "junk.npy");
        File.WriteAllText(junk, "not numpy");
        var missing = Path.Combine(root, "missing.npy");

        var r1 = CliRunner.Run("metrics", "fsd", a, nan);
        var r2 = CliRunner.Run("metrics", "fsd", junk, a);
        var r3 = CliRunner.Run("metrics", "fsd", a, missing);
        Assert.Multiple(() =>
        {
            Assert.That(r1.code, Is.EqualTo(CliHost.ExitFailure));
            Assert.That(r1.stderr, Does.Contain($"{nan}: vector 1, component 0 is NaN"));
            Assert.That(r2.code, Is.EqualTo(CliHost.ExitFailure));
            Assert.That(r2.stderr, Does.Contain($"{junk}: not a NumPy .npy file"));
            Assert.That(r3.code, Is.EqualTo(CliHost.ExitFailure));
            Assert.That(r3.stderr, Does.Contain($"{missing}: no such file"));
        });
    }
}
