namespace MedDistill.Experiments.Reports;

/// <summary>An 8-bit colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    public static Rgb Red => new(255, 0, 0);
    public static Rgb Green => new(0, 255, 0);
    public static Rgb Yellow => new(255, 255, 0);
    public static Rgb White => new(255, 255, 255);
}

/// <summary>An 8-bit RGB raster: <see cref="Pixels"/> holds rows top to bottom, pixels left to right, bytes R, G, B.</summary>
public sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"an image needs at least one pixel, got {width}×{height}");
        if (pixels.LongLength != 3L * width * height)
            throw new ArgumentException($"{width}×{height} RGB pixels need {3L * width * height} bytes, got {pixels.LongLength}", nameof(pixels));
        (Width, Height, Pixels) = (width, height, pixels);
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }

    public Rgb this[int x, int y]
    {
        get
        {
            int i = Offset(x, y);
            return new Rgb(Pixels[i], Pixels[i + 1], Pixels[i + 2]);
        }
        set
        {
            int i = Offset(x, y);
            (Pixels[i], Pixels[i + 1], Pixels[i + 2]) = (value.R, value.G, value.B);
        }
    }

    public byte[] ToPng() => PngWriter.EncodeRgb(Pixels, Width, Height);

    /// <summary>Writes the image as a PNG, atomically.</summary>
    public void Save(string path) => PngWriter.WriteRgb(path, Pixels, Width, Height);

    /// <summary>
    /// The images side by side, top-aligned, <paramref name="gap"/> pixels apart, on <paramref name="background"/>
    /// (white when null): one row of panels as in a figure.
    /// </summary>
    public static RgbImage Row(IReadOnlyList<RgbImage> images, int gap = 4, Rgb? background = null)
    {
        if (images.Count == 0) throw new ArgumentException("a row needs at least one image", nameof(images));
        if (gap < 0) throw new ArgumentOutOfRangeException(nameof(gap), $"{gap} must not be negative");
        int width = images.Sum(i => i.Width) + gap * (images.Count - 1);
        int height = images.Max(i => i.Height);
        var fill = background ?? Rgb.White;
        var row = new RgbImage(width, height, new byte[3L * width * height]);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) row[x, y] = fill;
        int left = 0;
        foreach (var image in images)
        {
            for (int y = 0; y < image.Height; y++)
                image.Pixels.AsSpan(3 * y * image.Width, 3 * image.Width).CopyTo(row.Pixels.AsSpan(3 * (y * width + left)));
            left += image.Width + gap;
        }
        return row;
    }

    private int Offset(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) throw new ArgumentOutOfRangeException(nameof(x), $"({x}, {y}) is outside {Width}×{Height}");
        return 3 * (y * Width + x);
    }
}
