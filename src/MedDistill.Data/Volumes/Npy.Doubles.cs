using System.Buffers.Binary;

namespace MedDistill.Data.Volumes;

/// <summary>An .npy array read in double precision: values in C order (slowest axis first) and the dtype it was stored as.</summary>
public sealed record NpyArray(double[] Data, int[] Shape, VoxelType StoredType);

public static partial class Npy
{
    /// <summary>
    /// Reads an <c>.npy</c> array as doubles. Float64 data keeps its full precision (<see cref="Read(string)"/> narrows to
    /// float, which is right for images but not for feature vectors fed to a double-precision statistic); every other dtype
    /// goes through the float decoder first, so integers beyond 2^24 round as they do in <see cref="Read(string)"/>.
    /// </summary>
    public static NpyArray ReadDoubles(string path, ReadLimits? limits = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var h = ReadHeader(file, path, file.Length, limits ?? ReadLimits.Default);
        double[] data;
        if (h.Format.Type == VoxelType.Float64)
        {
            data = new double[h.Count];
            var buffer = new byte[1 << 16];
            int perChunk = buffer.Length / sizeof(double);
            for (long done = 0; done < h.Count;)
            {
                int n = (int)Math.Min(perChunk, h.Count - done);
                // ReadHeader checked the byte count against the file length, so a short read here is a changed file.
                file.ReadExactly(buffer, 0, n * sizeof(double));
                for (int i = 0; i < n; i++)
                {
                    var bytes = buffer.AsSpan(i * sizeof(double), sizeof(double));
                    data[done + i] = h.Format.BigEndian ? BinaryPrimitives.ReadDoubleBigEndian(bytes) : BinaryPrimitives.ReadDoubleLittleEndian(bytes);
                }
                done += n;
            }
        }
        else
        {
            var narrow = new float[h.Count];
            VoxelDecoding.ReadInto(file, narrow, h.Format, path, h.DataOffset);
            data = Array.ConvertAll(narrow, v => (double)v);
        }
        if (h.Fortran && h.Shape.Length > 1) data = FortranToC(data, h.Shape);
        return new NpyArray(data, h.Shape, h.IsBool ? VoxelType.UInt8 : h.Format.Type);
    }
}
