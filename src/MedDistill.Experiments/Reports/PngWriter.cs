using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Reports;

/// <summary>
/// Writes 8-bit PNG images, truecolour (RGB) or greyscale, non-interlaced: the signature, one IHDR, one IDAT (the
/// zlib-compressed scanlines, each with filter type 0 "None") and IEND, each chunk with its CRC-32. There are no
/// ancillary chunks (no time stamp, gamma or text), so the same pixels give the same bytes on the same runtime.
/// </summary>
public static class PngWriter
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>PNG colour type 2: three bytes per pixel.</summary>
    private const byte ColourTypeRgb = 2;
    /// <summary>PNG colour type 0: one byte per pixel.</summary>
    private const byte ColourTypeGrey = 0;

    /// <summary>A PNG of <paramref name="rgb"/>: rows top to bottom, pixels left to right, bytes R, G, B.</summary>
    public static byte[] EncodeRgb(ReadOnlySpan<byte> rgb, int width, int height) => Encode(rgb, width, height, ColourTypeRgb, 3);

    /// <summary>A PNG of <paramref name="grey"/>: rows top to bottom, one byte (0 black, 255 white) per pixel.</summary>
    public static byte[] EncodeGrey(ReadOnlySpan<byte> grey, int width, int height) => Encode(grey, width, height, ColourTypeGrey, 1);

    /// <summary>Writes <see cref="EncodeRgb"/>'s bytes to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void WriteRgb(string path, ReadOnlySpan<byte> rgb, int width, int height)
    {
        var png = EncodeRgb(rgb, width, height);
        AtomicFile.Write(path, s => s.Write(png));
    }

    /// <summary>Writes <see cref="EncodeGrey"/>'s bytes to <paramref name="path"/> atomically.</summary>
    public static void WriteGrey(string path, ReadOnlySpan<byte> grey, int width, int height)
    {
        var png = EncodeGrey(grey, width, height);
        AtomicFile.Write(path, s => s.Write(png));
    }

    private static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, byte colourType, int bytesPerPixel)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"a PNG needs at least one pixel, got {width}×{height}");
        long rowBytes = (long)width * bytesPerPixel;
        if (pixels.Length != rowBytes * height)
            throw new ArgumentException($"{width}×{height} pixels of {bytesPerPixel} bytes need {rowBytes * height} bytes, got {pixels.Length}", nameof(pixels));

        var header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(0), (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)height);
        header[8] = 8;          // bit depth
        header[9] = colourType;
        header[10] = 0;         // compression method: deflate (the only one)
        header[11] = 0;         // filter method: adaptive (the only one); every row uses type 0 below
        header[12] = 0;         // no interlace

        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            // Filter type 0 keeps the writer simple and deterministic; overlays and charts are mostly flat colour, which
            // deflate compresses well without prediction.
            Span<byte> none = [0];
            for (int y = 0; y < height; y++)
            {
                zlib.Write(none);
                zlib.Write(pixels.Slice((int)(y * rowBytes), (int)rowBytes));
            }
        }

        var png = new MemoryStream();
        png.Write(Signature);
        WriteChunk(png, "IHDR", header);
        WriteChunk(png, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        // The chunk CRC covers the type and the data, not the length.
        uint crc = Crc32.Update(Crc32.Initial, typeBytes);
        crc = Crc32.Update(crc, data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Finish(crc));
        output.Write(word);
    }
}

/// <summary>
/// CRC-32 as PNG and zlib's gzip define it (ISO 3309 / ITU-T V.42: reflected polynomial 0xEDB88320, initial value and
/// final XOR 0xFFFFFFFF), byte-wise with a 256-entry table. <c>Compute("123456789")</c> is 0xCBF43926.
/// </summary>
public static class Crc32
{
    public const uint Initial = 0xFFFFFFFFu;
    private const uint ReflectedPolynomial = 0xEDB88320u;

    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Update(Initial, data));

    /// <summary>Continues a running CRC (start from <see cref="Initial"/>, end with <see cref="Finish"/>).</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    public static uint Finish(uint crc) => crc ^ 0xFFFFFFFFu;

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? ReflectedPolynomial ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
