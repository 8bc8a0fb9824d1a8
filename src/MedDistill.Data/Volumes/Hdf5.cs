using System.Diagnostics;
using System.Runtime.InteropServices;
using PureHDF;
using PureHDF.VOL.Native;

namespace MedDistill.Data.Volumes;

/// <summary>
/// Numeric datasets from HDF5 files, as h5py writes them — TransUNet's Synapse test volumes (<c>caseXXXX.npy.h5</c>,
/// datasets <c>image</c> and <c>label</c>), read with PureHDF (pure .NET, no native HDF5 library).
/// <para>
/// Accepted: datasets of 1–4 axes of fixed-point (1/2/4/8 bytes, signed or not) or IEEE floating-point (4/8 bytes)
/// elements, and enums over them (h5py stores bool as an int8 enum), in any layout and with any filter PureHDF reads.
/// Everything PureHDF refuses or trips over — a corrupt or truncated file, an unknown filter — becomes a
/// <see cref="DataFormatException"/> that names the file, the dataset and the problem.
/// </para>
/// </summary>
public static class Hdf5
{
    private static readonly byte[] Signature = { 0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n' };

    public static bool HasSignature(ReadOnlySpan<byte> start) => start.Length >= 8 && start[..8].SequenceEqual(Signature);

    /// <summary>
    /// Reads dataset <paramref name="name"/> ("image", or a path such as "group/image"); with no name, the file's only
    /// dataset in the root group (else an error listing them).
    /// </summary>
    public static Volume Read(string path, string? name = null, ReadLimits? limits = null)
    {
        using var file = Open(path);
        if (name is null)
        {
            var datasets = RootDatasets(file, path);
            if (datasets.Count != 1)
                throw new DataFormatException(path, datasets.Count == 0 ? "holds no dataset in its root group" : $"holds {datasets.Count} datasets ({string.Join(", ", datasets)}); name one (--key)");
            name = datasets[0];
        }
        var dataset = Resolve(file, path, name);
        return ReadDataset(dataset, $"{path}[{name}]", limits ?? ReadLimits.Default, new FileInfo(path).Length);
    }

    /// <summary>Names of the datasets directly in the root group, in ordinal order.</summary>
    public static IReadOnlyList<string> DatasetNames(string path)
    {
        using var file = Open(path);
        return RootDatasets(file, path);
    }

    private static NativeFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        try { return H5File.OpenRead(path); }
        catch (Exception e)
        {
            // PureHDF looks for the superblock at 0, 512, 1024, ... itself; our own check only picks the wording.
            var head = new byte[8];
            using (var s = File.OpenRead(path)) s.ReadAtLeast(head, 8, throwOnEndOfStream: false);
            throw new DataFormatException(path, HasSignature(head)
                ? $"corrupt or truncated HDF5 file (PureHDF: {e.Message})"
                : $"not an HDF5 file (PureHDF: {e.Message})", e);
        }
    }

    private static List<string> RootDatasets(NativeFile file, string path) =>
        Guard(path, () => file.Children().OfType<IH5Dataset>().Select(d => d.Name).Order(StringComparer.Ordinal).ToList());

    private static IH5Dataset Resolve(NativeFile file, string path, string name)
    {
        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new DataFormatException(path, $"\"{name}\" names no dataset");
        return Guard(path, () =>
        {
            IH5Group group = file;
            var walked = "";
            for (int i = 0; i < parts.Length; i++)
            {
                if (!group.LinkExists(parts[i]))
                {
                    var children = group.Children().Select(c => c.Name).Order(StringComparer.Ordinal).ToList();
                    throw new DataFormatException(path, $"has no \"{(walked == "" ? "" : walked + "/")}{parts[i]}\"; {(walked == "" ? "the root group" : walked)} holds {(children.Count == 0 ? "nothing" : string.Join(", ", children))}");
                }
                var child = group.Get(parts[i]);
                walked = walked == "" ? parts[i] : walked + "/" + parts[i];
                if (i == parts.Length - 1)
                    return child as IH5Dataset ?? throw new DataFormatException(path, $"\"{walked}\" is a group, not a dataset");
                group = child as IH5Group ?? throw new DataFormatException(path, $"\"{walked}\" is a dataset, not a group");
            }
            throw new UnreachableException();
        });
    }

    private static Volume ReadDataset(IH5Dataset dataset, string where, ReadLimits limits, long fileLength)
    {
        var (dims, type) = Guard(where, () => (dataset.Space.Dimensions, dataset.Type), fileLength);
        if (dims.Length == 0) throw new DataFormatException(where, "is a scalar, not an array");
        if (dims.Length > 4) throw new DataFormatException(where, $"a {dims.Length}-axis dataset; 1 to 4 axes are supported");
        // Checked before PureHDF allocates anything, so a header claiming billions of elements fails at once.
        long count = VoxelDecoding.CheckedVoxelCount(where, dims.Select(d => d > long.MaxValue ? -1 : (long)d).ToArray(), limits);
        var voxelType = ElementType(type, where);

        byte[] raw;
        bool bigEndian = false;
        try { raw = ReadLittleEndian(dataset, voxelType); }
        catch (Exception e) when (e.Message.Contains("Byte order", StringComparison.OrdinalIgnoreCase))
        {
            // PureHDF 2.2 hands out big-endian elements only as raw bytes; HDF5 has no third byte order, so we swap them.
            raw = Guard(where, () => dataset.Read<byte[]>(), fileLength);
            bigEndian = true;
        }
        catch (Exception e) when (e is not DataFormatException) { throw Wrap(where, e, fileLength); }

        var format = new ElementFormat(voxelType, bigEndian);
        if (raw.LongLength != count * format.Size)
            throw new DataFormatException(where, $"holds {raw.LongLength} bytes; shape ({string.Join(", ", dims)}) of {format} needs {count * format.Size}");
        var data = new float[count];
        VoxelDecoding.Decode(raw, data, format);
        return new Volume(data, dims.Select(d => (int)d).ToArray(), null, voxelType);
    }

    /// <summary>The data as bytes in this machine's (little-endian) order; PureHDF refuses other orders here.</summary>
    private static byte[] ReadLittleEndian(IH5Dataset d, VoxelType type) => type switch
    {
        VoxelType.UInt8 => d.Read<byte[]>(),
        VoxelType.Int8 => Bytes(d.Read<sbyte[]>()),
        VoxelType.UInt16 => Bytes(d.Read<ushort[]>()),
        VoxelType.Int16 => Bytes(d.Read<short[]>()),
        VoxelType.UInt32 => Bytes(d.Read<uint[]>()),
        VoxelType.Int32 => Bytes(d.Read<int[]>()),
        VoxelType.UInt64 => Bytes(d.Read<ulong[]>()),
        VoxelType.Int64 => Bytes(d.Read<long[]>()),
        VoxelType.Float32 => Bytes(d.Read<float[]>()),
        _ => Bytes(d.Read<double[]>()),
    };

    private static byte[] Bytes<T>(T[] values) where T : struct => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static VoxelType ElementType(IH5DataType type, string where)
    {
        var cls = type.Class;
        if (cls == H5DataTypeClass.Enumerated) type = type.Enumeration.BaseType;
        int size = type.Size;
        switch (type.Class)
        {
            case H5DataTypeClass.FixedPoint:
                return (size, type.FixedPoint.IsSigned) switch
                {
                    (1, false) => VoxelType.UInt8, (1, true) => VoxelType.Int8,
                    (2, false) => VoxelType.UInt16, (2, true) => VoxelType.Int16,
                    (4, false) => VoxelType.UInt32, (4, true) => VoxelType.Int32,
                    (8, false) => VoxelType.UInt64, (8, true) => VoxelType.Int64,
                    _ => throw new DataFormatException(where, $"a {size}-byte integer type is not supported"),
                };
            case H5DataTypeClass.FloatingPoint:
                return size switch
                {
                    4 => VoxelType.Float32,
                    8 => VoxelType.Float64,
                    _ => throw new DataFormatException(where, $"a {size}-byte floating-point type is not supported (4 and 8 are)"),
                };
            default:
                throw new DataFormatException(where, $"datatype class {cls} is not supported; numeric datasets only");
        }
    }

    /// <summary>Runs a PureHDF call; anything it throws (its own exceptions, end of stream, bad deflate data) names the file.</summary>
    private static T Guard<T>(string where, Func<T> read, long fileLength = -1)
    {
        try { return read(); }
        catch (Exception e) when (e is not DataFormatException) { throw Wrap(where, e, fileLength); }
    }

    private static DataFormatException Wrap(string where, Exception e, long fileLength) => e switch
    {
        InvalidDataException => new DataFormatException(where, $"a compressed chunk is corrupt (PureHDF: {e.Message})", e),
        // PureHDF reports reads past the end in several ways ("The file is too small", end of stream, a range error).
        _ when fileLength >= 0 => new DataFormatException(where, $"PureHDF cannot read its data ({e.Message}); the file has {fileLength} bytes: truncated or corrupt?", e),
        _ => new DataFormatException(where, $"PureHDF cannot read it: {e.Message}", e),
    };
}
