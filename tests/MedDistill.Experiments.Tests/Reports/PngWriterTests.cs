using System.Buffers.Binary;
using System.Text;
using MedDistill.Experiments.Reports;
using SkiaSharp;

namespace MedDistill.Experiments.Tests.Reports;

public class PngWriterTests
{
    private sealed record DecodedPng(int Width, int Height, byte BitDepth, byte ColourType, byte Interlace, byte[] Pixels, List<string> ChunkTypes);

    /// <summary>
    /// The header and chunk list read by hand (so a wrong colour type or a stray time stamp chunk would show), the pixels
    /// decoded by Skia's decoder, as RGB or grey bytes as the header says.
    /// </summary>
    private static DecodedPng Decode(byte[] png)
    {
        Assert.That(png.AsSpan(0, 8).ToArray(), Is.EqualTo(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }), "signature");
        int at = 8;
        var types = new List<string>();
        while (at < png.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            types.Add(Encoding.ASCII.GetString(png, at + 4, 4));
            at += 12 + length;
        }
        Assert.That(at, Is.EqualTo(png.Length), "the chunks end exactly at the end of the file");
        var header = png.AsSpan(16, 13).ToArray();
        using var bitmap = SKBitmap.Decode(png);
        Assert.That(bitmap, Is.Not.Null, "Skia decodes it");
        int channels = header[9] == 0 ? 1 : 3;
        var pixels = new byte[bitmap.Width * bitmap.Height * channels];
        for (int y = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                int i = (y * bitmap.Width + x) * channels;
                if (channels == 1) pixels[i] = c.Red;
                else (pixels[i], pixels[i + 1], pixels[i + 2]) = (c.Red, c.Green, c.Blue);
            }
        return new DecodedPng(bitmap.Width, bitmap.Height, header[8], header[9], header[12], pixels, types);
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
            Assert.That(decoded.ChunkTypes[0], Is.EqualTo("IHDR"));
            Assert.That(decoded.ChunkTypes[^1], Is.EqualTo("IEND"));
            Assert.That(decoded.ChunkTypes, Has.None.EqualTo("tIME").And.None.EqualTo("tEXt"), "nothing that varies between runs");
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
