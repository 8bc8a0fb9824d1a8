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

    /// <summary>
    /// Reads a NIfTI-1 file (<c>.nii</c> or <c>.nii.gz</c>) into a <see cref="Volume"/> of shape (z, y, x) or (y, x).
    /// Minimal version: little-endian single files, sform or pixdim geometry, scl_slope/scl_inter applied.
    /// </summary>
    public static Volume Read(string path)
    {
        byte[] bytes;
        using (var file = File.OpenRead(path))
        {
            Stream input = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var ms = new MemoryStream();
            input.CopyTo(ms);
            bytes = ms.ToArray();
        }
        if (bytes.Length < DataOffset) throw new DataFormatException(path, $"only {bytes.Length} bytes, shorter than a NIfTI-1 header");
        var h = bytes.AsSpan();
        if (BinaryPrimitives.ReadInt32LittleEndian(h) != HeaderSize) throw new DataFormatException(path, "not a little-endian NIfTI-1 header (sizeof_hdr is not 348)");
        int rank = BinaryPrimitives.ReadInt16LittleEndian(h[40..]);
        if (rank is < 2 or > 3) throw new DataFormatException(path, $"dim[0] = {rank}; only 2D and 3D images are supported");
        var shape = new int[rank];
        var spacing = new double[rank];
        for (int i = 0; i < rank; i++)
        {
            shape[rank - 1 - i] = BinaryPrimitives.ReadInt16LittleEndian(h[(42 + 2 * i)..]);
            spacing[rank - 1 - i] = Math.Abs(BinaryPrimitives.ReadSingleLittleEndian(h[(80 + 4 * i)..]));
        }
        short code = BinaryPrimitives.ReadInt16LittleEndian(h[70..]);
        var type = Enum.GetValues<VoxelType>().FirstOrDefault(t => DatatypeCode(t) == code, (VoxelType)(-1));
        if ((int)type < 0) throw new DataFormatException(path, $"unsupported datatype code {code}");
        int offset = (int)BinaryPrimitives.ReadSingleLittleEndian(h[108..]);
        float slope = BinaryPrimitives.ReadSingleLittleEndian(h[112..]), inter = BinaryPrimitives.ReadSingleLittleEndian(h[116..]);
        if (slope == 0 || !float.IsFinite(slope)) { slope = 1; inter = 0; }
        long count = 1;
        foreach (var n in shape) count *= n;
        int per = BytesPer(type);
        if (offset < DataOffset || bytes.LongLength < offset + count * per)
            throw new DataFormatException(path, $"{count} voxels of {per} bytes need {offset + count * per} bytes, the file has {bytes.Length}");
        var data = new float[count];
        var src = h[offset..];
        for (long i = 0; i < count; i++)
        {
            var d = src[(int)(i * per)..];
            double v = type switch
            {
                VoxelType.UInt8 => d[0], VoxelType.Int8 => (sbyte)d[0],
                VoxelType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(d), VoxelType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(d),
                VoxelType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(d), VoxelType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(d),
                VoxelType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(d), VoxelType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(d),
                VoxelType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(d), _ => BinaryPrimitives.ReadDoubleLittleEndian(d),
            };
            data[i] = (float)(v * slope + inter);
        }
        double[,]? affine = null;
        if (BinaryPrimitives.ReadInt16LittleEndian(h[254..]) > 0)
        {
            affine = new double[4, 4];
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 4; c++)
                    affine[r, c] = BinaryPrimitives.ReadSingleLittleEndian(h[(280 + 16 * r + 4 * c)..]);
            affine[3, 3] = 1;
        }
        return new Volume(data, shape, spacing, type, affine);
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
