using SkiaSharp;

namespace MedDistill.Data.Volumes;

/// <summary>
/// 8-bit JPEG and PNG images (laparoscopic frames, colour-coded masks), decoded and encoded by SkiaSharp. A colour
/// image becomes a <see cref="Volume"/> of shape (H, W, 3) — rows, columns, R G B, as <c>np.array(PIL.Image.open(f))</c>
/// gives — and a greyscale one (H, W), stored type uint8. Alpha is dropped.
/// <para>
/// Decoding asks Skia for the pixels exactly as stored (no colour-space conversion), so a mask's palette colours come
/// back unchanged even when the PNG carries a gamma or ICC chunk.
/// </para>
/// </summary>
public static class RasterImage
{
    public static bool IsPng(ReadOnlySpan<byte> head) => head.Length >= 8 && head[..8].SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });

    public static bool IsJpeg(ReadOnlySpan<byte> head) => head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;

    public static Volume Read(string path, ReadLimits? limits = null)
    {
        var (pixels, width, height, grey) = ReadRgb(path, limits);
        if (grey)
        {
            var g = new float[width * height];
            for (int i = 0; i < g.Length; i++) g[i] = pixels[3 * i];
            return new Volume(g, [height, width], null, VoxelType.UInt8);
        }
        var data = new float[pixels.Length];
        for (int i = 0; i < data.Length; i++) data[i] = pixels[i];
        return new Volume(data, [height, width, 3], null, VoxelType.UInt8);
    }

    /// <summary>Decoded pixels as R, G, B bytes, rows top to bottom; <c>Grey</c> when the file stores one channel.</summary>
    public static (byte[] Rgb, int Width, int Height, bool Grey) ReadRgb(string path, ReadLimits? limits = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        var bytes = File.ReadAllBytes(path);
        using var codec = SKCodec.Create(new MemoryStream(bytes), out var result);
        if (codec is null) throw new DataFormatException(path, $"not a decodable JPEG or PNG image (SkiaSharp: {result})");
        int width = codec.Info.Width, height = codec.Info.Height;
        // Checked before allocating: a corrupt header can claim an enormous image.
        VoxelDecoding.CheckedVoxelCount(path, [height, width, 3], limits ?? ReadLimits.Default);
        bool grey = codec.Info.ColorType == SKColorType.Gray8;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        SKCodecResult got;
        unsafe
        {
            fixed (byte* p = rgba) got = codec.GetPixels(info, (IntPtr)p);
        }
        // A truncated file decodes partly (IncompleteInput): refuse it rather than hand back grey rows.
        if (got != SKCodecResult.Success)
            throw new DataFormatException(path, $"the {codec.EncodedFormat.ToString().ToUpperInvariant()} data is corrupt or truncated (SkiaSharp: {got})");
        var rgb = new byte[3 * width * height];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4) (rgb[i], rgb[i + 1], rgb[i + 2]) = (rgba[j], rgba[j + 1], rgba[j + 2]);
        return (rgb, width, height, grey);
    }

    /// <summary>PNG bytes of R, G, B pixels (lossless: a mask's colours survive exactly).</summary>
    public static byte[] EncodePng(ReadOnlySpan<byte> rgb, int width, int height) => Encode(rgb, width, height, SKEncodedImageFormat.Png, 100);

    /// <summary>Greyscale PNG bytes of one byte a pixel (binary vessel labels: read back as (H, W), not (H, W, 3)).</summary>
    public static byte[] EncodeGreyPng(ReadOnlySpan<byte> grey, int width, int height)
    {
        if (width < 1 || height < 1 || grey.Length != (long)width * height)
            throw new ArgumentException($"{width}×{height} grey pixels need {(long)width * height} bytes, got {grey.Length}", nameof(grey));
        var info = new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
        using var image = SKImage.FromPixelCopy(info, grey.ToArray(), info.RowBytes)
            ?? throw new InvalidOperationException($"SkiaSharp could not take {width}×{height} grey pixels");
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode {width}×{height} grey pixels as PNG");
        return data.ToArray();
    }

    /// <summary>Baseline JPEG bytes of R, G, B pixels at <paramref name="quality"/> (1–100).</summary>
    public static byte[] EncodeJpeg(ReadOnlySpan<byte> rgb, int width, int height, int quality = 90) => Encode(rgb, width, height, SKEncodedImageFormat.Jpeg, quality);

    /// <summary>Writes bytes to <paramref name="path"/> through a temporary sibling, so a reader never sees half an image.</summary>
    public static void WriteFile(string path, byte[] bytes)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    private static byte[] Encode(ReadOnlySpan<byte> rgb, int width, int height, SKEncodedImageFormat format, int quality)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"an image needs at least one pixel, got {width}×{height}");
        if (rgb.Length != 3L * width * height) throw new ArgumentException($"{width}×{height} RGB pixels need {3L * width * height} bytes, got {rgb.Length}", nameof(rgb));
        if (quality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(quality), $"quality {quality} must be in 1..100");
        // Skia has no 24-bit layout: pad to RGBA with opaque alpha, which an opaque image's encoder drops again.
        var rgba = new byte[4L * width * height];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4) (rgba[j], rgba[j + 1], rgba[j + 2], rgba[j + 3]) = (rgb[i], rgb[i + 1], rgb[i + 2], 255);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var image = SKImage.FromPixelCopy(info, rgba, info.RowBytes)
            ?? throw new InvalidOperationException($"SkiaSharp could not take {width}×{height} pixels");
        using var data = image.Encode(format, quality)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode {width}×{height} pixels as {format}");
        return data.ToArray();
    }
}
