using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MedDistill.Experiments.Reports;

namespace MedDistill.Experiments.Tests.Reports;

public class PngWriterTests
{
    /// <summary>A PNG decoded by a reader that shares nothing with the writer: its own chunk walk and a bitwise CRC.</summary>
    private sealed record DecodedPng(int Width, int Height, byte BitDepth, byte ColourType, byte Interlace, byte[] Pixels, List<string> ChunkTypes);

    /// <summary>CRC-32 one bit at a time, straight from the definition (no table): a second opinion on the writer's.</summary>
    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    private static DecodedPng Decode(byte[] png)
    {
        Assert.That(png.AsSpan(0, 8).ToArray(), Is.EqualTo(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }), "signature");
        int at = 8;
        var types = new List<string>();
        var idat = new MemoryStream();
        byte[]? header = null;
        while (at < png.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            var type = Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length);
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.That(stored, Is.EqualTo(BitwiseCrc(png.AsSpan(at + 4, 4 + length))), $"CRC of chunk {type}");
            types.Add(type);
            if (type == "IHDR") header = data.ToArray();
            if (type == "IDAT") idat.Write(data);
            at += 12 + length;
        }
        Assert.That(at, Is.EqualTo(png.Length), "the chunks end exactly at the end of the file");
        Assert.That(header, Is.Not.Null);
        int width = (int)BinaryPrimitives.ReadUInt32BigEndian(header!), height = (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        int channels = header![9] switch { 0 => 1, 2 => 3, _ => throw new AssertionException($"colour type {header[9]}") };
        idat.Position = 0;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
        var scanlines = raw.ToArray();
        int stride = 1 + width * channels;
        Assert.That(scanlines.Length, Is.EqualTo(stride * height), "one filter byte and a row of pixels per scanline");
        var pixels = new byte[width * height * channels];
        for (int y = 0; y < height; y++)
        {
            Assert.That(scanlines[y * stride], Is.EqualTo(0), $"filter type of row {y}");
            Array.Copy(scanlines, y * stride + 1, pixels, y * width * channels, width * channels);
        }
        return new DecodedPng(width, height, header[8], header[9], header[12], pixels, types);
    }

    [Test]
    public void TheCrcMatchesTheStandardCheckValue()
    {
        // The CRC-32 check value of "123456789" in every CRC catalogue.
        Assert.That(Crc32.Compute("123456789"u8), Is.EqualTo(0xCBF43926u));
        Assert.That(BitwiseCrc("123456789"u8), Is.EqualTo(0xCBF43926u), "the test's own CRC");
        var data = Enumerable.Range(0, 1000).Select(i => (byte)(i * 37 + 11)).ToArray();
        Assert.That(Crc32.Compute(data), Is.EqualTo(BitwiseCrc(data)));
    }

    [Test]
    public void AnRgbImageDecodesToItsPixels()
    {
        const int width = 5, height = 3;
        var rgb = new byte[width * height * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 7 + 1);
        var png = PngWriter.EncodeRgb(rgb, width, height);
        var decoded = Decode(png);
        Assert.Multiple(() =>
        {
            Assert.That(decoded.ChunkTypes, Is.EqualTo(new[] { "IHDR", "IDAT", "IEND" }));
            Assert.That((decoded.Width, decoded.Height), Is.EqualTo((5, 3)));
            Assert.That((decoded.BitDepth, decoded.ColourType, decoded.Interlace), Is.EqualTo(((byte)8, (byte)2, (byte)0)));
            Assert.That(decoded.Pixels, Is.EqualTo(rgb));
            // IEND is the same 12 bytes in every PNG: empty, its type, CRC AE 42 60 82.
            Assert.That(png[^12..], Is.EqualTo(new byte[] { 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82 }));
        });
    }

    [Test]
    public void AGreyImageDecodesToItsPixels()
    {
        var grey = new byte[] { 0, 64, 128, 255, 1, 2, 3, 4 };
        var decoded = Decode(PngWriter.EncodeGrey(grey, 4, 2));
        Assert.That((decoded.Width, decoded.Height, decoded.ColourType), Is.EqualTo((4, 2, (byte)0)));
        Assert.That(decoded.Pixels, Is.EqualTo(grey));
    }

    [Test]
    public void TheSamePixelsGiveTheSameBytes()
    {
        var rgb = new byte[64 * 48 * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i % 251);
        Assert.That(PngWriter.EncodeRgb(rgb, 64, 48), Is.EqualTo(PngWriter.EncodeRgb(rgb.ToArray(), 64, 48)));
    }

    [Test]
    public void AFileIsWrittenAndTheWrongSizeIsRefused()
    {
        var dir = Directory.CreateTempSubdirectory("md-png-").FullName;
        try
        {
            var path = Path.Combine(dir, "sub", "a.png");
            var image = new RgbImage(2, 1, [255, 0, 0, 0, 255, 0]);
            image.Save(path);
            Assert.That(Decode(File.ReadAllBytes(path)).Pixels, Is.EqualTo(image.Pixels));
            Assert.That(Directory.GetFiles(Path.Combine(dir, "sub")), Has.Length.EqualTo(1), "no temporary file left");
        }
        finally { Directory.Delete(dir, recursive: true); }
        Assert.Throws<ArgumentException>(() => PngWriter.EncodeRgb(new byte[5], 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngWriter.EncodeGrey([], 0, 1));
    }

    [Test]
    public void ImagesInARowAreSideBySideOnTheBackground()
    {
        var red = new RgbImage(1, 2, [255, 0, 0, 255, 0, 0]);
        var green = new RgbImage(2, 1, [0, 255, 0, 0, 255, 0]);
        var row = RgbImage.Row([red, green], gap: 1);
        Assert.That((row.Width, row.Height), Is.EqualTo((4, 2)));
        Assert.Multiple(() =>
        {
            Assert.That(row[0, 0], Is.EqualTo(Rgb.Red));
            Assert.That(row[0, 1], Is.EqualTo(Rgb.Red));
            Assert.That(row[1, 0], Is.EqualTo(Rgb.White), "the gap");
            Assert.That(row[2, 0], Is.EqualTo(Rgb.Green));
            Assert.That(row[3, 0], Is.EqualTo(Rgb.Green));
            Assert.That(row[2, 1], Is.EqualTo(Rgb.White), "below the shorter image");
        });
    }
}
