namespace MedDistill.Data.Preprocessing;

/// <summary>
/// Resizes 2D slices on the pixel-centre grid: output pixel j maps to source coordinate (j + 0.5)·(in / out) − 0.5, so the
/// image's outer edges line up (PyTorch's <c>align_corners=False</c>). No antialiasing when shrinking, like PyTorch's default.
/// </summary>
public static class SliceResampler
{
    public static void Resize(ReadOnlySpan<float> source, int height, int width, Span<float> destination, int outHeight, int outWidth, Interpolation method)
    {
        if (source.Length != height * width) throw new ArgumentException($"source holds {source.Length} values, not {height}×{width}");
        if (destination.Length != outHeight * outWidth) throw new ArgumentException($"destination holds {destination.Length} values, not {outHeight}×{outWidth}");
        if (height == outHeight && width == outWidth)
        {
            source.CopyTo(destination);
            return;
        }
        double sy = (double)height / outHeight, sx = (double)width / outWidth;
        if (method == Interpolation.Nearest)
        {
            Span<int> cols = outWidth <= 4096 ? stackalloc int[outWidth] : new int[outWidth];
            for (int x = 0; x < outWidth; x++) cols[x] = Math.Min((int)Math.Floor((x + 0.5) * sx), width - 1);
            for (int y = 0; y < outHeight; y++)
            {
                int row = Math.Min((int)Math.Floor((y + 0.5) * sy), height - 1) * width;
                for (int x = 0; x < outWidth; x++) destination[y * outWidth + x] = source[row + cols[x]];
            }
            return;
        }
        for (int y = 0; y < outHeight; y++)
        {
            var (y0, y1, fy) = Neighbours(y, sy, height);
            for (int x = 0; x < outWidth; x++)
            {
                var (x0, x1, fx) = Neighbours(x, sx, width);
                double top = source[y0 * width + x0] * (1 - fx) + source[y0 * width + x1] * fx;
                double bottom = source[y1 * width + x0] * (1 - fx) + source[y1 * width + x1] * fx;
                destination[y * outWidth + x] = (float)(top * (1 - fy) + bottom * fy);
            }
        }
    }

    // Source coordinate clamped at 0 below (as PyTorch does) and the neighbour clamped at the last pixel above.
    private static (int Lo, int Hi, double Frac) Neighbours(int index, double scale, int size)
    {
        double s = Math.Max(0, (index + 0.5) * scale - 0.5);
        int lo = Math.Min((int)s, size - 1);
        return (lo, Math.Min(lo + 1, size - 1), s - lo);
    }
}
