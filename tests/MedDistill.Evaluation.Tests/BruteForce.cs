namespace MedDistill.Evaluation.Tests;

/// <summary>Slow, obviously correct references: nested loops over every pair of voxels, written without the library's code.</summary>
internal static class BruteForce
{
    public static bool[] Surface(byte[] labels, int d, int h, int w, byte c)
    {
        var surface = new bool[labels.Length];
        int[][] offsets = [[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]];
        for (int z = 0; z < d; z++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    if (labels[(z * h + y) * w + x] != c) continue;
                    foreach (var o in offsets)
                    {
                        int nz = z + o[0], ny = y + o[1], nx = x + o[2];
                        bool outside = nz < 0 || nz >= d || ny < 0 || ny >= h || nx < 0 || nx >= w;
                        if (outside || labels[(nz * h + ny) * w + nx] != c) { surface[(z * h + y) * w + x] = true; break; }
                    }
                }
        return surface;
    }

    public static List<(int Z, int Y, int X)> Voxels(bool[] mask, int h, int w)
    {
        var list = new List<(int, int, int)>();
        for (int i = 0; i < mask.Length; i++)
            if (mask[i]) list.Add((i / (h * w), i / w % h, i % w));
        return list;
    }

    public static double Distance((int Z, int Y, int X) a, (int Z, int Y, int X) b, double sz, double sy, double sx)
    {
        double dz = (a.Z - b.Z) * sz, dy = (a.Y - b.Y) * sy, dx = (a.X - b.X) * sx;
        return Math.Sqrt(dz * dz + dy * dy + dx * dx);
    }

    /// <summary>For each voxel of <paramref name="from"/> (C order), the distance to the nearest voxel of <paramref name="to"/>.</summary>
    public static double[] Nearest(List<(int, int, int)> from, List<(int, int, int)> to, double sz, double sy, double sx) =>
        from.Select(a => to.Count == 0 ? double.PositiveInfinity : to.Min(b => Distance(a, b, sz, sy, sx))).ToArray();
}

internal static class Volumes
{
    /// <summary>A volume of zeros with the box [z0, z0+dz) × [y0, y0+dy) × [x0, x0+dx) set to <paramref name="label"/>.</summary>
    public static byte[] Box(int d, int h, int w, int z0, int y0, int x0, int dz, int dy, int dx, byte label = 1, byte[]? into = null)
    {
        var v = into ?? new byte[d * h * w];
        for (int z = z0; z < z0 + dz; z++)
            for (int y = y0; y < y0 + dy; y++)
                for (int x = x0; x < x0 + dx; x++)
                    v[(z * h + y) * w + x] = label;
        return v;
    }

    public static byte[] Voxel(int d, int h, int w, int z, int y, int x, byte label = 1) => Box(d, h, w, z, y, x, 1, 1, 1, label);
}
