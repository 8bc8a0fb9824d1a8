using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MedDistill.Data.Volumes;

/// <summary>
/// Guards every reader applies before it allocates the voxel array, so that a header claiming billions of voxels fails
/// at once with a message instead of an out-of-memory after a multi-gigabyte allocation.
/// </summary>
public sealed record ReadLimits
{
    /// <summary>
    /// Largest voxel count a reader will allocate (default 2^29 = 536,870,912 voxels, a 2 GiB float array: 4× the
    /// largest volume in the papers' datasets, a 512×512×1000 CT would need 262M).
    /// </summary>
    public long MaxVoxels { get; init; } = 1L << 29;

    public static ReadLimits Default { get; } = new();

    /// <summary>
    /// DEFLATE cannot expand data by more than 1032:1 (zlib's documented limit: one 258-byte match per ~2 bits), so a
    /// compressed stream of n bytes holds at most this many times n bytes. A header claiming more is lying about its
    /// size, which is checked before allocating.
    /// </summary>
    public const long MaxDeflateRatio = 1032;
}

/// <summary>How one stored element is laid out: its type and its byte order.</summary>
internal readonly record struct ElementFormat(VoxelType Type, bool BigEndian)
{
    public int Size => VoxelDecoding.SizeOf(Type);
    public override string ToString() => $"{VoxelDecoding.Name(Type)} ({(Size == 1 ? "single byte" : BigEndian ? "big-endian" : "little-endian")})";
}

/// <summary>Conversion of stored elements to float, in bulk, plus the shared "validate, then stream into the array" path.</summary>
internal static class VoxelDecoding
{
    private const int ChunkBytes = 1 << 20; // multiple of every element size

    public static int SizeOf(VoxelType t) => t switch
    {
        VoxelType.UInt8 or VoxelType.Int8 => 1,
        VoxelType.UInt16 or VoxelType.Int16 => 2,
        VoxelType.UInt32 or VoxelType.Int32 or VoxelType.Float32 => 4,
        _ => 8,
    };

    /// <summary>NumPy-style names (uint8, int16, float32, ...), used in messages and by <c>meddistill inspect</c>.</summary>
    public static string Name(VoxelType t) => t.ToString().ToLowerInvariant();

    public static bool IsInteger(VoxelType t) => t is not (VoxelType.Float32 or VoxelType.Float64);

    /// <summary>
    /// Product of the axis lengths, refusing non-positive axes and products over <see cref="ReadLimits.MaxVoxels"/>
    /// (computed without overflow, so 32767^7 is reported rather than wrapped).
    /// </summary>
    public static long CheckedVoxelCount(string path, IReadOnlyList<long> dims, ReadLimits limits)
    {
        double product = 1;
        foreach (var n in dims)
        {
            if (n <= 0) throw new DataFormatException(path, $"dimensions ({string.Join(", ", dims)}) include an empty or negative axis");
            product *= n;
        }
        if (product > limits.MaxVoxels)
            throw new DataFormatException(path, $"dimensions ({string.Join(", ", dims)}) mean {product:G4} voxels, more than the limit of {limits.MaxVoxels} (ReadLimits.MaxVoxels); the header is corrupt or the image too large");
        long count = 1;
        foreach (var n in dims) count *= n;
        return count;
    }

    /// <summary>Refuses a claimed uncompressed size that a deflate stream of <paramref name="compressedBytes"/> cannot hold.</summary>
    public static void CheckDeflateBound(string path, long neededBytes, long compressedBytes, string what)
    {
        if (compressedBytes >= 0 && neededBytes > compressedBytes * ReadLimits.MaxDeflateRatio + 1024)
            throw new DataFormatException(path, $"{what} needs {neededBytes} bytes, but {compressedBytes} compressed bytes can hold at most {compressedBytes * ReadLimits.MaxDeflateRatio} (deflate's 1032:1 limit): the header is corrupt or the file truncated");
    }

    /// <summary>
    /// Reads exactly <paramref name="destination"/>.Length elements from <paramref name="input"/> into it, in 1 MiB
    /// pieces (no second copy of the file in memory); a stream that ends early is reported as truncated.
    /// </summary>
    public static void ReadInto(Stream input, Span<float> destination, ElementFormat format, string path, long bytesBefore = 0)
    {
        int size = format.Size;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            int perChunk = ChunkBytes / size;
            long total = destination.Length;
            for (long done = 0; done < total;)
            {
                int n = (int)Math.Min(perChunk, total - done);
                int want = n * size;
                int got = input.ReadAtLeast(buffer.AsSpan(0, want), want, throwOnEndOfStream: false);
                if (got < want)
                    throw new DataFormatException(path, $"voxel data truncated: {total} voxels of {size} bytes need {total * size} bytes after offset {bytesBefore}, the data ends after {done * size + got}");
                Decode(buffer.AsSpan(0, want), destination.Slice((int)done, n), format);
                done += n;
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    /// <summary>
    /// Converts <paramref name="source"/> (whole elements) into <paramref name="destination"/>. Swaps byte order in place
    /// in <paramref name="source"/> when the file's order differs from this machine's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Decode(Span<byte> source, Span<float> destination, ElementFormat format)
    {
        int size = format.Size;
        if (source.Length != destination.Length * size) throw new ArgumentException("source and destination lengths disagree");
        if (size > 1 && format.BigEndian == BitConverter.IsLittleEndian) Swap(source, size);
        switch (format.Type)
        {
            case VoxelType.UInt8: Widen(source, destination); break;
            case VoxelType.Int8: Widen(MemoryMarshal.Cast<byte, sbyte>(source), destination); break;
            case VoxelType.Int16: Widen(MemoryMarshal.Cast<byte, short>(source), destination); break;
            case VoxelType.UInt16: Widen(MemoryMarshal.Cast<byte, ushort>(source), destination); break;
            case VoxelType.Int32: Convert(MemoryMarshal.Cast<byte, int>(source), destination); break;
            case VoxelType.Float32: MemoryMarshal.Cast<byte, float>(source).CopyTo(destination); break;
            case VoxelType.UInt32:
                {
                    var s = MemoryMarshal.Cast<byte, uint>(source);
                    for (int i = 0; i < s.Length; i++) destination[i] = s[i];
                    break;
                }
            case VoxelType.Int64:
                {
                    var s = MemoryMarshal.Cast<byte, long>(source);
                    for (int i = 0; i < s.Length; i++) destination[i] = s[i];
                    break;
                }
            case VoxelType.UInt64:
                {
                    var s = MemoryMarshal.Cast<byte, ulong>(source);
                    for (int i = 0; i < s.Length; i++) destination[i] = s[i];
                    break;
                }
            case VoxelType.Float64:
                {
                    var s = MemoryMarshal.Cast<byte, double>(source);
                    for (int i = 0; i < s.Length; i++) destination[i] = (float)s[i];
                    break;
                }
            default: throw new ArgumentOutOfRangeException(nameof(format));
        }
    }

    /// <summary>value × slope + intercept over the whole array, in float (NIfTI stores both as float32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale(Span<float> values, float slope, float intercept)
    {
        if (slope == 1f && intercept == 0f) return;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(slope);
            var b = Vector256.Create(intercept);
            var v = MemoryMarshal.Cast<float, Vector256<float>>(values);
            for (int k = 0; k < v.Length; k++) v[k] = v[k] * m + b;
            i = v.Length * Vector256<float>.Count;
        }
        for (; i < values.Length; i++) values[i] = values[i] * slope + intercept;
    }

    private static void Swap(Span<byte> bytes, int size)
    {
        switch (size)
        {
            case 2: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ushort>(bytes), MemoryMarshal.Cast<byte, ushort>(bytes)); break;
            case 4: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, uint>(bytes), MemoryMarshal.Cast<byte, uint>(bytes)); break;
            case 8: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ulong>(bytes), MemoryMarshal.Cast<byte, ulong>(bytes)); break;
        }
    }

    // The widening conversions of the common medical types (uint8 masks, int16 CT, uint16 MR) are vectorised: the
    // JIT does not vectorise plain loops, and these run at gzip's output rate on every volume read. The bulk loops are
    // compiled optimised at once (AggressiveOptimization): a process reading one volume would otherwise run them as
    // unoptimised tier-0 code, measured 5-10x slower for int16.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Widen(ReadOnlySpan<byte> s, Span<float> d)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 32 <= s.Length; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(s.Slice(i, 32)));
                var (a, b) = Vector256.Widen(lo);
                var (c, e) = Vector256.Widen(hi);
                Vector256.ConvertToSingle(a.AsInt32()).CopyTo(d.Slice(i));
                Vector256.ConvertToSingle(b.AsInt32()).CopyTo(d.Slice(i + 8));
                Vector256.ConvertToSingle(c.AsInt32()).CopyTo(d.Slice(i + 16));
                Vector256.ConvertToSingle(e.AsInt32()).CopyTo(d.Slice(i + 24));
            }
        for (; i < s.Length; i++) d[i] = s[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Widen(ReadOnlySpan<sbyte> s, Span<float> d)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 32 <= s.Length; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(s.Slice(i, 32)));
                var (a, b) = Vector256.Widen(lo);
                var (c, e) = Vector256.Widen(hi);
                Vector256.ConvertToSingle(a).CopyTo(d.Slice(i));
                Vector256.ConvertToSingle(b).CopyTo(d.Slice(i + 8));
                Vector256.ConvertToSingle(c).CopyTo(d.Slice(i + 16));
                Vector256.ConvertToSingle(e).CopyTo(d.Slice(i + 24));
            }
        for (; i < s.Length; i++) d[i] = s[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Widen(ReadOnlySpan<short> s, Span<float> d)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= s.Length; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(s.Slice(i, 16)));
                Vector256.ConvertToSingle(lo).CopyTo(d.Slice(i));
                Vector256.ConvertToSingle(hi).CopyTo(d.Slice(i + 8));
            }
        for (; i < s.Length; i++) d[i] = s[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Widen(ReadOnlySpan<ushort> s, Span<float> d)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= s.Length; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(s.Slice(i, 16)));
                Vector256.ConvertToSingle(lo.AsInt32()).CopyTo(d.Slice(i));
                Vector256.ConvertToSingle(hi.AsInt32()).CopyTo(d.Slice(i + 8));
            }
        for (; i < s.Length; i++) d[i] = s[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Convert(ReadOnlySpan<int> s, Span<float> d)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= s.Length; i += 8)
                Vector256.ConvertToSingle(Vector256.Create(s.Slice(i, 8))).CopyTo(d.Slice(i));
        for (; i < s.Length; i++) d[i] = s[i];
    }
}
