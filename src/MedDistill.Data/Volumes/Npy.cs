using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace MedDistill.Data.Volumes;

/// <summary>
/// NumPy arrays: <c>.npy</c> (format versions 1.0, 2.0, 3.0) and <c>.npz</c> (a zip of <c>.npy</c> members, stored or
/// deflated, as <c>np.savez</c>/<c>np.savez_compressed</c> write; TransUNet's Synapse <c>train_npz</c> slices hold
/// keys <c>image</c> and <c>label</c>).
/// <para>
/// dtypes: bool (stored type reported as uint8), u1, i1, u2, i2, u4, i4, u8, i8, f4, f8, with byte order
/// <c>&lt;</c>, <c>&gt;</c>, <c>|</c> or <c>=</c>. 1 to 4 axes; shape is taken as given (C order, slowest first), and a
/// Fortran-ordered array is transposed into C order (needing a second array of the same size for the copy).
/// Spacing is 1 on every axis: the format has no geometry.
/// </para>
/// </summary>
public static partial class Npy
{
    // 0x93 written as a byte: in a u8 string literal "\x93" would be the UTF-8 encoding of U+0093 (two bytes).
    internal static ReadOnlySpan<byte> Magic => new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    public static Volume Read(string path) => Read(path, ReadLimits.Default);

    public static Volume Read(string path, ReadLimits limits)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return ReadArray(file, path, file.Length, limits);
    }

    /// <summary>Reads member <paramref name="key"/> (with or without <c>.npy</c>) of an <c>.npz</c>; with no key, the only member.</summary>
    public static Volume ReadNpz(string path, string? key, ReadLimits? limits = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        ZipArchive zip;
        try { zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true); }
        catch (InvalidDataException e) { throw new DataFormatException(path, $"not a readable zip archive ({e.Message})", e); }
        using (zip)
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            ZipArchiveEntry entry;
            if (key is null)
            {
                if (zip.Entries.Count != 1)
                    throw new DataFormatException(path, $"holds {zip.Entries.Count} arrays ({KeyList(names)}); name one (--key)");
                entry = zip.Entries[0];
            }
            else
                entry = zip.GetEntry(key + ".npy") ?? zip.GetEntry(key)
                        ?? throw new DataFormatException(path, $"has no array \"{key}\"; it holds {KeyList(names)}");
            string where = $"{path}[{Path.GetFileNameWithoutExtension(entry.FullName)}]";
            try
            {
                using var member = entry.Open();
                return ReadArray(member, where, entry.Length, limits ?? ReadLimits.Default);
            }
            catch (InvalidDataException e) { throw new DataFormatException(where, $"the compressed member is corrupt ({e.Message})", e); }
        }
    }

    /// <summary>The array names in an <c>.npz</c>, without the <c>.npy</c> suffix.</summary>
    public static IReadOnlyList<string> Keys(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.Entries.Select(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal) ? e.FullName[..^4] : e.FullName).ToList();
    }

    private static string KeyList(IEnumerable<string> names) =>
        string.Join(", ", names.Select(n => n.EndsWith(".npy", StringComparison.Ordinal) ? n[..^4] : n));

    /// <param name="length">Bytes in the stream (file or zip member), checked against the header before allocating.</param>
    private static Volume ReadArray(Stream input, string path, long length, ReadLimits limits)
    {
        var h = ReadHeader(input, path, length, limits);
        var data = new float[h.Count];
        VoxelDecoding.ReadInto(input, data, h.Format, path, h.DataOffset);
        if (h.Fortran && h.Shape.Length > 1) data = FortranToC(data, h.Shape);
        return new Volume(data, h.Shape, null, h.IsBool ? VoxelType.UInt8 : h.Format.Type);
    }

    private readonly record struct ArrayHeader(ElementFormat Format, bool IsBool, bool Fortran, int[] Shape, long Count, long DataOffset);

    /// <summary>Reads the preamble and header, leaving <paramref name="input"/> at the first data byte, whose presence is checked.</summary>
    private static ArrayHeader ReadHeader(Stream input, string path, long length, ReadLimits limits)
    {
        Span<byte> prefix = stackalloc byte[12];
        int got = input.ReadAtLeast(prefix[..10], 10, throwOnEndOfStream: false);
        if (got < 10 || !prefix[..6].SequenceEqual(Magic))
            throw new DataFormatException(path, "not a NumPy .npy file (no \\x93NUMPY magic)");
        int major = prefix[6], minor = prefix[7];
        long headerLength, prefixLength;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]); prefixLength = 10; }
        else if (major is 2 or 3)
        {
            if (input.ReadAtLeast(prefix[10..12], 2, throwOnEndOfStream: false) < 2) throw new DataFormatException(path, "the .npy preamble is truncated");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
            prefixLength = 12;
        }
        else throw new DataFormatException(path, $".npy format version {major}.{minor} is not supported (1.0, 2.0, 3.0 are)");
        if (headerLength > 1 << 20 || prefixLength + headerLength > length)
            throw new DataFormatException(path, $"the .npy header claims {headerLength} bytes, the file has {length}");
        var headerBytes = new byte[headerLength];
        input.ReadExactly(headerBytes);
        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        var (format, isBool, fortran, shape) = ParseHeader(path, header);
        long count = VoxelDecoding.CheckedVoxelCount(path, shape, limits);
        long needed = count * format.Size, available = length - prefixLength - headerLength;
        if (available < needed)
            throw new DataFormatException(path, $"shape ({string.Join(", ", shape)}) of {format} needs {needed} data bytes, the file has {available}");
        return new ArrayHeader(format, isBool, fortran, shape.Select(n => (int)n).ToArray(), count, prefixLength + headerLength);
    }

    internal static (ElementFormat Format, bool IsBool, bool Fortran, long[] Shape) ParseHeader(string path, string header)
    {
        var descr = DescrPattern().Match(header);
        if (!descr.Success)
            throw new DataFormatException(path, HeaderHasListDescr(header) ? "structured dtypes (a list descr) are not supported" : $"the .npy header has no 'descr': {header.Trim()}");
        var order = FortranPattern().Match(header);
        if (!order.Success) throw new DataFormatException(path, $"the .npy header has no 'fortran_order': {header.Trim()}");
        var shapeMatch = ShapePattern().Match(header);
        if (!shapeMatch.Success) throw new DataFormatException(path, $"the .npy header has no 'shape': {header.Trim()}");

        string d = descr.Groups[1].Value;
        if (d.Length < 3) throw new DataFormatException(path, $"unsupported dtype '{d}'");
        char byteOrder = d[0], kind = d[1];
        if (!int.TryParse(d.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out int size) || byteOrder is not ('<' or '>' or '|' or '='))
            throw new DataFormatException(path, $"unsupported dtype '{d}'");
        bool isBool = kind == 'b' && size == 1;
        VoxelType? type = (kind, size) switch
        {
            ('b', 1) or ('u', 1) => VoxelType.UInt8,
            ('i', 1) => VoxelType.Int8,
            ('u', 2) => VoxelType.UInt16,
            ('i', 2) => VoxelType.Int16,
            ('u', 4) => VoxelType.UInt32,
            ('i', 4) => VoxelType.Int32,
            ('u', 8) => VoxelType.UInt64,
            ('i', 8) => VoxelType.Int64,
            ('f', 4) => VoxelType.Float32,
            ('f', 8) => VoxelType.Float64,
            _ => null,
        };
        if (type is null) throw new DataFormatException(path, $"unsupported dtype '{d}' (bool, u1–u8, i1–i8, f4, f8 are supported)");
        bool big = byteOrder == '>' || (byteOrder == '=' && !BitConverter.IsLittleEndian);

        var shapeText = shapeMatch.Groups[1].Value;
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.TryParse(s.TrimEnd('L'), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new DataFormatException(path, $"shape entry '{s}' is not an integer"))
            .ToArray();
        if (shape.Length is < 1 or > 4) throw new DataFormatException(path, $"a {shape.Length}-axis array (shape ({shapeText})); 1 to 4 axes are supported");
        return (new ElementFormat(type.Value, big), isBool, order.Groups[1].Value == "True", shape);
    }

    private static bool HeaderHasListDescr(string header) => Regex.IsMatch(header, @"['""]descr['""]\s*:\s*\[");

    /// <summary>Fortran order has the first axis fastest; rewrite so the last is.</summary>
    private static T[] FortranToC<T>(T[] f, int[] shape)
    {
        var c = new T[f.Length];
        int rank = shape.Length;
        var cStride = new long[rank];
        cStride[rank - 1] = 1;
        for (int i = rank - 2; i >= 0; i--) cStride[i] = cStride[i + 1] * shape[i + 1];
        // Walk the Fortran buffer in its own order, keeping the matching C offset incrementally.
        var index = new int[rank];
        long cOffset = 0;
        for (long k = 0; k < f.LongLength; k++)
        {
            c[cOffset] = f[k];
            for (int axis = 0; axis < rank; axis++)
            {
                if (++index[axis] < shape[axis]) { cOffset += cStride[axis]; break; }
                index[axis] = 0;
                cOffset -= cStride[axis] * (shape[axis] - 1);
            }
        }
        return c;
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
