using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace MedDistill.Data.Volumes;

/// <summary>
/// Writes NumPy <c>.npy</c> (format 1.0, C order, little-endian) and <c>.npz</c> files the way <c>np.save</c> and
/// <c>np.savez</c> do, so that phantom slices look to our <see cref="Npy"/> reader (and to NumPy) like TransUNet's
/// <c>train_npz</c> files.
/// <para>
/// The zip is written by System.IO.Compression with stored (uncompressed) members, as <c>np.savez</c> writes them, and
/// every member's time stamp fixed at 1980-01-01 so the same arrays always give the same bytes.
/// </para>
/// </summary>
public static class NpyWriter
{
    // The earliest time a zip (DOS) time stamp can hold: nothing about the machine or the clock leaks into the bytes.
    private static readonly DateTimeOffset FixedStamp = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The bytes of a <c>.npy</c> file holding <paramref name="volume"/> as <paramref name="storeAs"/> (integers rounded).</summary>
    public static byte[] Encode(Volume volume, VoxelType storeAs = VoxelType.Float32)
    {
        string descr = Descr(storeAs);
        var shape = string.Join(", ", volume.Shape.Select(n => n.ToString(CultureInfo.InvariantCulture)));
        if (volume.Rank == 1) shape += ",";
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({shape}), }}";
        // NumPy pads the header with spaces so that the data starts on a 64-byte boundary, and ends it with a newline.
        int unpadded = 10 + dict.Length + 1, total = (unpadded + 63) / 64 * 64;
        if (total - 10 > ushort.MaxValue) throw new ArgumentException("the .npy header would exceed format 1.0's 64 KiB");
        var header = dict + new string(' ', total - unpadded) + "\n";
        int size = ElementSize(storeAs);
        var bytes = new byte[total + volume.Data.LongLength * size];
        Npy.Magic.CopyTo(bytes);
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)(total - 10));
        Encoding.Latin1.GetBytes(header, bytes.AsSpan(10));
        var body = bytes.AsSpan(total);
        var data = volume.Data;
        for (int i = 0; i < data.Length; i++)
        {
            var at = body[(i * size)..];
            float v = data[i];
            switch (storeAs)
            {
                case VoxelType.UInt8: at[0] = (byte)Math.Clamp(MathF.Round(v), 0, 255); break;
                case VoxelType.Int16: BinaryPrimitives.WriteInt16LittleEndian(at, (short)Math.Clamp(MathF.Round(v), short.MinValue, short.MaxValue)); break;
                case VoxelType.Int32: BinaryPrimitives.WriteInt32LittleEndian(at, (int)Math.Clamp(Math.Round((double)v), int.MinValue, int.MaxValue)); break;
                case VoxelType.Float32: BinaryPrimitives.WriteSingleLittleEndian(at, v); break;
                case VoxelType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(at, v); break;
            }
        }
        return bytes;
    }

    /// <summary>Writes one array as a <c>.npy</c> file; the file appears only when complete.</summary>
    public static void Write(string path, Volume volume, VoxelType storeAs = VoxelType.Float32)
    {
        var bytes = Encode(volume, storeAs);
        WriteAtomically(path, s => s.Write(bytes));
    }

    /// <summary>
    /// Writes an <c>.npz</c>: one <c>&lt;key&gt;.npy</c> member per array, in the order given (np.savez's order is its
    /// keyword order, TransUNet's is <c>image</c> then <c>label</c>). The file appears only when complete.
    /// </summary>
    public static void WriteNpz(string path, IReadOnlyList<(string Key, Volume Volume, VoxelType StoreAs)> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        if (arrays.Count == 0) throw new ArgumentException("an .npz needs at least one array", nameof(arrays));
        var dup = arrays.GroupBy(a => a.Key, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"array \"{dup.Key}\" appears twice", nameof(arrays));
        foreach (var a in arrays)
            if (string.IsNullOrEmpty(a.Key) || a.Key.Contains('/')) throw new ArgumentException($"\"{a.Key}\" is not a usable array name", nameof(arrays));
        var members = arrays.Select(a => (a.Key, Bytes: Encode(a.Volume, a.StoreAs))).ToList();
        WriteAtomically(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (key, bytes) in members)
            {
                var entry = zip.CreateEntry(key + ".npy", CompressionLevel.NoCompression);
                entry.LastWriteTime = FixedStamp;
                using var member = entry.Open();
                member.Write(bytes);
            }
        });
    }

    private static void WriteAtomically(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16)) write(file);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    private static string Descr(VoxelType type) => type switch
    {
        VoxelType.UInt8 => "|u1",
        VoxelType.Int16 => "<i2",
        VoxelType.Int32 => "<i4",
        VoxelType.Float32 => "<f4",
        VoxelType.Float64 => "<f8",
        _ => throw new ArgumentException($".npy writing supports uint8, int16, int32, float32 and float64, not {type}"),
    };

    private static int ElementSize(VoxelType type) => type switch
    {
        VoxelType.UInt8 => 1,
        VoxelType.Int16 => 2,
        VoxelType.Int32 or VoxelType.Float32 => 4,
        _ => 8,
    };
}
