using SkiaSharp;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Reports;

/// <summary>
/// Writes 8-bit PNG images, truecolour (RGB) or greyscale, with SkiaSharp's encoder. Skia writes no time stamp or
/// other varying chunk, so the same pixels give the same bytes with the same SkiaSharp (checked by the tests).
/// </summary>
public static class PngWriter
{
    /// <summary>A PNG of <paramref name="rgb"/>: rows top to bottom, pixels left to right, bytes R, G, B.</summary>
    public static byte[] EncodeRgb(ReadOnlySpan<byte> rgb, int width, int height)
    {
        Check(rgb.Length, width, height, 3);
        // Skia has no 24-bit layout: pad each pixel to RGBA with an opaque alpha, which the opaque PNG then drops again.
        var rgba = new byte[4L * width * height];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
            (rgba[j], rgba[j + 1], rgba[j + 2], rgba[j + 3]) = (rgb[i], rgb[i + 1], rgb[i + 2], 255);
        return Encode(rgba, new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
    }

    /// <summary>A PNG of <paramref name="grey"/>: rows top to bottom, one byte (0 black, 255 white) per pixel.</summary>
    public static byte[] EncodeGrey(ReadOnlySpan<byte> grey, int width, int height)
    {
        Check(grey.Length, width, height, 1);
        return Encode(grey.ToArray(), new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
    }

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

    /// <summary>PNG bytes of a Skia surface or image that the report draws (charts), written the same way.</summary>
    public static byte[] Encode(SKImage image)
    {
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static void Check(int length, int width, int height, int bytesPerPixel)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"a PNG needs at least one pixel, got {width}×{height}");
        long need = (long)width * height * bytesPerPixel;
        if (length != need) throw new ArgumentException($"{width}×{height} pixels of {bytesPerPixel} bytes need {need} bytes, got {length}", "pixels");
    }

    private static byte[] Encode(byte[] pixels, SKImageInfo info)
    {
        using var image = SKImage.FromPixelCopy(info, pixels, info.RowBytes)
            ?? throw new InvalidOperationException($"SkiaSharp could not take {info.Width}×{info.Height} {info.ColorType} pixels");
        return Encode(image);
    }
}
