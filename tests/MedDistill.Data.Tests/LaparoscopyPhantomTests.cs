using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using MedDistill.Data.Phantom;
using MedDistill.Data.Volumes;

namespace MedDistill.Data.Tests;

/// <summary>
/// The M2caiSeg-like laparoscopy phantom and the colour-mask reader: layout, JPEG frames, colour-coded PNG masks decoded
/// through the palette, a PNG assembled here by hand (independent of SkiaSharp's encoder) and errors for unknown colours
/// and corrupt images.
/// </summary>
public class LaparoscopyPhantomTests : TempDirTest
{
    private static readonly LaparoscopyPhantomOptions Small = new() { Seed = 5, Width = 96, Height = 54, TrainFrames = 14, TestFrames = 7, TrainValFrames = 2 };

    [Test]
    public void Palette_IsM2caiSegs19DistinctColours()
    {
        var p = ColourPalette.M2caiSeg;
        Assert.That(p.Classes.Select(c => c.Index), Is.EqualTo(Enumerable.Range(0, 19)));
        Assert.That(p.Classes.Select(c => (c.R, c.G, c.B)).Distinct().Count(), Is.EqualTo(19));
        Assert.That(p[1].Name, Is.EqualTo("grasper"));
        Assert.That((p[10].R, p[10].G, p[10].B), Is.EqualTo(((byte)85, (byte)170, (byte)0)), "liver");
        Assert.That(p[18].Name, Is.EqualTo("black"));
    }

    [Test]
    public void Phantom_HasM2caiSegsLayout_FramesAndMasksPairUp_EveryClassAppears()
    {
        var result = LaparoscopyPhantom.Generate(Dir, Small);
        var seen = new HashSet<int>();
        foreach (var (split, n) in new[] { ("train", 14), ("test", 7), ("trainval", 2) })
        {
            var images = Directory.GetFiles(Path.Combine(result.Directory, split, "images")).Select(Path.GetFileName).ToArray();
            Assert.That(images.Order(), Is.EqualTo(Enumerable.Range(1, n).Select(i => $"{i}.jpg").Order()), split);
            foreach (var image in Directory.GetFiles(Path.Combine(result.Directory, split, "images")))
            {
                var mask = LaparoscopyPhantom.MaskPathOf(image);
                Assert.That(File.Exists(mask), mask);
                var frame = VolumeReader.Read(image);
                Assert.That(VolumeReader.Detect(image), Is.EqualTo(VolumeFormat.Jpeg));
                Assert.That(frame.Shape, Is.EqualTo(new[] { 54, 96, 3 }));
                var classes = ColourPalette.M2caiSeg.ReadMask(mask);
                Assert.That(classes.Shape, Is.EqualTo(new[] { 54, 96 }));
                foreach (var c in classes.Data) seen.Add((int)c);
                // Outside the scope's field the frame is black too (JPEG leaves it near 0).
                for (int i = 0; i < classes.Data.Length; i++)
                    if (classes.Data[i] == 18 && i % 96 is < 2 or > 93)
                        Assert.That(frame.Data[3 * i] + frame.Data[3 * i + 1] + frame.Data[3 * i + 2], Is.LessThan(90), $"{image} pixel {i}");
            }
        }
        Assert.That(seen.Order(), Is.EqualTo(Enumerable.Range(0, 19)), "all 19 M2caiSeg classes appear");
    }

    [Test]
    public void SameSeed_SameBytes()
    {
        var a = LaparoscopyPhantom.Generate(Path.Combine(Dir, "a"), Small with { TrainFrames = 3, TestFrames = 1, TrainValFrames = 0 });
        var b = LaparoscopyPhantom.Generate(Path.Combine(Dir, "b"), Small with { TrainFrames = 3, TestFrames = 1, TrainValFrames = 0 });
        Assert.That(b.Files, Is.EqualTo(a.Files));
        foreach (var f in a.Files)
            Assert.That(SHA256.HashData(File.ReadAllBytes(Path.Combine(b.Directory, f))), Is.EqualTo(SHA256.HashData(File.ReadAllBytes(Path.Combine(a.Directory, f)))), f);
    }

    [Test]
    public void HandBuiltPng_WithKnownColours_DecodesToClassIndices()
    {
        // 3×2 RGB PNG: liver, grasper, black / blood, fat, gall-bladder — written without SkiaSharp.
        byte[][] rows = [[85, 170, 0, 0, 85, 170, 0, 0, 0], [255, 0, 0, 85, 255, 0, 85, 170, 255]];
        var path = PathOf("1_gt.png");
        File.WriteAllBytes(path, Png(3, 2, rows));
        var mask = ColourPalette.M2caiSeg.ReadMask(path);
        Assert.That(mask.Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(mask.Data, Is.EqualTo(new float[] { 10, 1, 18, 17, 12, 11 }));
        var info = VolumeInspector.Inspect(path);
        Assert.That(info["palette"]!.GetValue<string>(), Is.EqualTo("m2caiseg"));
        Assert.That(info["classes"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "grasper", "liver", "gall-bladder", "fat", "blood", "black" }));
    }

    [Test]
    public void UnknownColour_IsAnErrorNamingFilePixelAndColour()
    {
        byte[][] rows = [[85, 170, 0, 12, 34, 56]];
        var path = PathOf("bad_gt.png");
        File.WriteAllBytes(path, Png(2, 1, rows));
        var e = Assert.Throws<DataFormatException>(() => ColourPalette.M2caiSeg.ReadMask(path))!;
        Assert.That(e.Message, Does.StartWith(path));
        Assert.That(e.Message, Does.Contain("pixel (x 1, y 0)").And.Contain("(12, 34, 56)").And.Contain("m2caiseg"));
    }

    [Test]
    public void TruncatedJpegOrPng_IsAnErrorNamingTheFile()
    {
        var jpeg = RasterImage.EncodeJpeg(new byte[3 * 32 * 32], 32, 32);
        File.WriteAllBytes(PathOf("cut.jpg"), jpeg[..(jpeg.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => VolumeReader.Read(PathOf("cut.jpg")))!;
        Assert.That(e.Message, Does.StartWith(PathOf("cut.jpg")));
        File.WriteAllBytes(PathOf("junk.png"), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]);
        e = Assert.Throws<DataFormatException>(() => VolumeReader.Read(PathOf("junk.png")))!;
        Assert.That(e.Message, Does.StartWith(PathOf("junk.png")));
    }

    [Test]
    public void PngEncoder_KeepsPaletteColoursExactly()
    {
        var classes = Enumerable.Range(0, 19).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(PathOf("all_gt.png"), RasterImage.EncodePng(ColourPalette.M2caiSeg.Colourise(classes), 19, 1));
        Assert.That(ColourPalette.M2caiSeg.ReadMask(PathOf("all_gt.png")).Data, Is.EqualTo(classes.Select(c => (float)c)));
    }

    /// <summary>A minimal truecolour PNG: IHDR, one zlib IDAT with filter 0 rows, IEND.</summary>
    private static byte[] Png(int width, int height, byte[][] rows)
    {
        using var output = new MemoryStream();
        output.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = 2; // 8 bits, truecolour
        Chunk(output, "IHDR", ihdr);
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            foreach (var row in rows) { z.WriteByte(0); z.Write(row); }
        Chunk(output, "IDAT", raw.ToArray());
        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, head.AsSpan(4));
        s.Write(head);
        s.Write(data);
        var crcInput = head[4..].Concat(data).ToArray();
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(crcInput));
        s.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }
}
