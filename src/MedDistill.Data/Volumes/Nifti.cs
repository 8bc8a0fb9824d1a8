using System.Buffers.Binary;
using System.IO.Compression;

namespace MedDistill.Data.Volumes;

/// <summary>
/// NIfTI-1 single-file images (<c>.nii</c>, <c>.nii.gz</c>). Header layout from the NIfTI-1 specification (nifti1.h):
/// a 348-byte header, 4 extension bytes, then voxels at <c>vox_offset</c>, x fastest.
/// </summary>
public static class Nifti
{
    internal const int HeaderSize = 348;
    internal const int DataOffset = 352;

    /// <summary>NIfTI-1 datatype codes.</summary>
    internal static short DatatypeCode(VoxelType t) => t switch
    {
        VoxelType.UInt8 => 2, VoxelType.Int16 => 4, VoxelType.Int32 => 8, VoxelType.Float32 => 16, VoxelType.Float64 => 64,
        VoxelType.Int8 => 256, VoxelType.UInt16 => 512, VoxelType.UInt32 => 768, VoxelType.Int64 => 1024, VoxelType.UInt64 => 1280,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    internal static int BytesPer(VoxelType t) => t switch
    {
        VoxelType.UInt8 or VoxelType.Int8 => 1,
        VoxelType.UInt16 or VoxelType.Int16 => 2,
        VoxelType.UInt32 or VoxelType.Int32 or VoxelType.Float32 => 4,
        _ => 8,
    };

    /// <summary>
    /// Writes <paramref name="volume"/> as little-endian NIfTI-1, gzip-compressed when the name ends in <c>.gz</c>, storing
    /// voxels as <paramref name="storeAs"/> (integers rounded to nearest). The sform (code 1, scanner) is the volume's affine.
    /// The file appears only when complete (written to a temporary name, then renamed).
    /// </summary>
    public static void Write(string path, Volume volume, VoxelType storeAs = VoxelType.Float32, string description = "")
    {
        if (volume.Rank is < 2 or > 3) throw new ArgumentException($"NIfTI writing supports 2D and 3D volumes, not {volume.Rank}D", nameof(volume));
        var header = new byte[DataOffset];
        var h = header.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(h, HeaderSize);
        h[38] = (byte)'r';
        // dim[0] = rank, dim[1..] = x, y, z (Shape reversed).
        BinaryPrimitives.WriteInt16LittleEndian(h[40..], (short)volume.Rank);
        for (int i = 0; i < volume.Rank; i++)
            BinaryPrimitives.WriteInt16LittleEndian(h[(42 + 2 * i)..], checked((short)volume.Shape[volume.Rank - 1 - i]));
        for (int i = volume.Rank; i < 7; i++) BinaryPrimitives.WriteInt16LittleEndian(h[(42 + 2 * i)..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(h[70..], DatatypeCode(storeAs));
        BinaryPrimitives.WriteInt16LittleEndian(h[72..], (short)(8 * BytesPer(storeAs)));
        BinaryPrimitives.WriteSingleLittleEndian(h[76..], 1f); // pixdim[0] = qfac
        for (int i = 0; i < volume.Rank; i++)
            BinaryPrimitives.WriteSingleLittleEndian(h[(80 + 4 * i)..], (float)volume.Spacing[volume.Rank - 1 - i]);
        BinaryPrimitives.WriteSingleLittleEndian(h[108..], DataOffset);
        BinaryPrimitives.WriteSingleLittleEndian(h[112..], 1f); // scl_slope
        h[123] = 2; // xyzt_units: millimetres
        var desc = System.Text.Encoding.ASCII.GetBytes(description);
        desc.AsSpan(0, Math.Min(79, desc.Length)).CopyTo(h[148..]);
        BinaryPrimitives.WriteInt16LittleEndian(h[254..], 1); // sform_code: scanner
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                BinaryPrimitives.WriteSingleLittleEndian(h[(280 + 16 * r + 4 * c)..], (float)volume.Affine[r, c]);
        "n+1\0"u8.CopyTo(h[344..]);

        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Stream output = full.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                    ? new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true) : file;
                output.Write(header);
                WriteVoxels(output, volume.Data, storeAs);
                if (output != file) output.Dispose();
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    private static void WriteVoxels(Stream output, float[] data, VoxelType t)
    {
        int bytes = BytesPer(t);
        var buffer = new byte[bytes * 8192];
        for (int start = 0; start < data.Length; start += 8192)
        {
            int n = Math.Min(8192, data.Length - start);
            var b = buffer.AsSpan(0, n * bytes);
            for (int i = 0; i < n; i++)
            {
                float v = data[start + i];
                var d = b[(i * bytes)..];
                switch (t)
                {
                    case VoxelType.UInt8: d[0] = checked((byte)MathF.Round(v)); break;
                    case VoxelType.Int8: d[0] = unchecked((byte)checked((sbyte)MathF.Round(v))); break;
                    case VoxelType.Int16: BinaryPrimitives.WriteInt16LittleEndian(d, checked((short)MathF.Round(v))); break;
                    case VoxelType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(d, checked((ushort)MathF.Round(v))); break;
                    case VoxelType.Int32: BinaryPrimitives.WriteInt32LittleEndian(d, checked((int)MathF.Round(v))); break;
                    case VoxelType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(d, checked((uint)MathF.Round(v))); break;
                    case VoxelType.Int64: BinaryPrimitives.WriteInt64LittleEndian(d, checked((long)MathF.Round(v))); break;
                    case VoxelType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(d, checked((ulong)MathF.Round(v))); break;
                    case VoxelType.Float32: BinaryPrimitives.WriteSingleLittleEndian(d, v); break;
                    case VoxelType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(d, v); break;
                }
            }
            output.Write(b);
        }
    }
}
