using System.Buffers.Binary;
using System.IO.Compression;

namespace MedDistill.Data.Volumes;

/// <summary>
/// NIfTI-1 images: single files (<c>.nii</c>, <c>.nii.gz</c>) and header/image pairs (<c>.hdr</c> + <c>.img</c>, either
/// gzipped). Header layout from the NIfTI-1 specification (nifti1.h): a 348-byte header, then for single files 4
/// extension bytes and any extensions, voxels at <c>vox_offset</c>, x fastest.
/// <para>
/// Reading: either byte order (told apart by <c>sizeof_hdr</c> = 348 read as little- or big-endian); gzip recognised by
/// its magic bytes, whatever the name says; datatypes uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32,
/// float64 (others are refused naming their code); <c>scl_slope</c>/<c>scl_inter</c> applied unless the slope is 0 or
/// not finite (the specification's "no scaling"); 1 to 3 spatial axes, and higher axes only when all of length 1
/// (a 4D file with a single time point reads as 3D).
/// </para>
/// <para>
/// Geometry: <see cref="Volume.Affine"/> is the sform when <c>sform_code</c> &gt; 0, else the qform when
/// <c>qform_code</c> &gt; 0, else the diagonal of pixdim (the precedence nibabel and ITK use).
/// <see cref="Volume.Spacing"/> is |pixdim[1..]| (nibabel's zooms); where a pixdim is 0 or not finite, the length of the
/// affine's column for that axis.
/// </para>
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

    internal static int BytesPer(VoxelType t) => VoxelDecoding.SizeOf(t);

    private static VoxelType? TypeOfCode(short code) => code switch
    {
        2 => VoxelType.UInt8, 4 => VoxelType.Int16, 8 => VoxelType.Int32, 16 => VoxelType.Float32, 64 => VoxelType.Float64,
        256 => VoxelType.Int8, 512 => VoxelType.UInt16, 768 => VoxelType.UInt32, 1024 => VoxelType.Int64, 1280 => VoxelType.UInt64,
        _ => null,
    };

    private static string CodeName(short code) => code switch
    {
        0 => "DT_UNKNOWN", 1 => "DT_BINARY", 32 => "DT_COMPLEX64", 128 => "DT_RGB24", 1536 => "DT_FLOAT128", 1792 => "DT_COMPLEX128",
        2048 => "DT_COMPLEX256", 2304 => "DT_RGBA32", _ => "not a NIfTI-1 datatype",
    };

    // ---- writing ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Writes <paramref name="volume"/> as little-endian NIfTI-1, gzip-compressed when the name ends in <c>.gz</c>, storing
    /// voxels as <paramref name="storeAs"/> (integers rounded to nearest). The sform (code 1, scanner) is the volume's
    /// affine; the qform (code 1) encodes the same map when the affine is a rotation (or reflection) times the spacings
    /// plus a shift, which every affine a reader of ours produces is, and is left unset (code 0) otherwise, e.g. for a
    /// sheared affine the quaternion cannot represent. The file appears only when complete (written to a temporary
    /// name, then renamed).
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
        var spacingXyz = new double[3];
        for (int i = 0; i < 3; i++) spacingXyz[i] = i < volume.Rank ? volume.Spacing[volume.Rank - 1 - i] : 1;
        if (NiftiGeometry.TryQuaternion(volume.Affine, spacingXyz, out var q))
        {
            BinaryPrimitives.WriteInt16LittleEndian(h[252..], 1); // qform_code: scanner
            BinaryPrimitives.WriteSingleLittleEndian(h[76..], (float)q.Qfac);
            BinaryPrimitives.WriteSingleLittleEndian(h[256..], (float)q.B);
            BinaryPrimitives.WriteSingleLittleEndian(h[260..], (float)q.C);
            BinaryPrimitives.WriteSingleLittleEndian(h[264..], (float)q.D);
            for (int r = 0; r < 3; r++) BinaryPrimitives.WriteSingleLittleEndian(h[(268 + 4 * r)..], (float)volume.Affine[r, 3]);
        }
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

    // ---- reading ------------------------------------------------------------------------------------------------

    /// <summary>Reads a NIfTI-1 image into a <see cref="Volume"/> of shape (z, y, x), (y, x) or (x); see the class remarks.</summary>
    public static Volume Read(string path) => Read(path, ReadLimits.Default);

    public static Volume Read(string path, ReadLimits limits)
    {
        var (headerPath, imagePath) = PairedFiles(path);
        NiftiHeader header;
        using (var headerInput = OpenMaybeGzip(headerPath, out _))
            header = NiftiHeader.Parse(headerPath, headerInput, paired: imagePath is not null);
        long count = VoxelDecoding.CheckedVoxelCount(path, header.DimsXyz.Select(d => (long)d).ToArray(), limits);
        long needed = count * header.Format.Size;

        var dataPath = imagePath ?? headerPath;
        using var input = OpenMaybeGzip(dataPath, out bool gzipped);
        long fileLength = new FileInfo(dataPath).Length;
        long start = header.VoxOffset; // from the start of the data file, for single files and pairs alike
        if (gzipped) VoxelDecoding.CheckDeflateBound(dataPath, start + needed, fileLength, $"{count} voxels of {header.Format}");
        else if (fileLength < start + needed)
            throw new DataFormatException(dataPath, $"{count} voxels of {header.Format.Size} bytes at offset {start} need {start + needed} bytes, the file has {fileLength}");

        Skip(input, start, dataPath);
        var data = new float[count];
        VoxelDecoding.ReadInto(input, data, header.Format, dataPath, start);
        VoxelDecoding.Scale(data, header.Slope, header.Intercept);

        var affine = NiftiGeometry.Affine(header);
        int rank = header.DimsXyz.Length;
        var shape = new int[rank];
        var spacing = new double[rank];
        for (int i = 0; i < rank; i++)
        {
            shape[rank - 1 - i] = header.DimsXyz[i];
            double p = Math.Abs(header.PixDim[i + 1]);
            spacing[rank - 1 - i] = p > 0 && double.IsFinite(p) ? p : ColumnNorm(affine, i);
        }
        return new Volume(data, shape, spacing, header.Format.Type, affine);
    }

    private static double ColumnNorm(double[,] a, int c)
    {
        if (c > 2) return 1;
        double n = Math.Sqrt(a[0, c] * a[0, c] + a[1, c] * a[1, c] + a[2, c] * a[2, c]);
        return n > 0 ? n : 1;
    }

    /// <summary>For a .hdr/.img pair, both names (the image with the same compression suffix when it exists); else (path, null).</summary>
    private static (string Header, string? Image) PairedFiles(string path)
    {
        string lower = path.ToLowerInvariant();
        string gz = lower.EndsWith(".gz") ? path[^3..] : "";
        string stem = path[..^gz.Length];
        string ext = Path.GetExtension(stem).ToLowerInvariant();
        if (ext is not (".hdr" or ".img")) return (path, null);
        string baseName = stem[..^4];
        string Find(string e)
        {
            foreach (var candidate in new[] { baseName + e + gz, baseName + e, baseName + e + ".gz" })
                if (File.Exists(candidate)) return candidate;
            throw new DataFormatException(path, $"the {e} file of this NIfTI pair ({baseName + e}[.gz]) does not exist");
        }
        return ext == ".hdr" ? (EnsureExists(path), Find(".img")) : (Find(".hdr"), EnsureExists(path));
    }

    private static string EnsureExists(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"{path}: no such file", path);

    /// <summary>Opens the file, decompressing when it starts with the gzip magic (1f 8b), whatever its name.</summary>
    internal static Stream OpenMaybeGzip(string path, out bool gzipped)
    {
        EnsureExists(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        int n = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        gzipped = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        return gzipped ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: false) : file;
    }

    private static void Skip(Stream input, long bytes, string path)
    {
        if (bytes <= 0) return;
        if (input.CanSeek) { input.Seek(bytes, SeekOrigin.Current); return; }
        Span<byte> scratch = stackalloc byte[4096];
        while (bytes > 0)
        {
            int n = input.Read(scratch[..(int)Math.Min(scratch.Length, bytes)]);
            if (n == 0) throw new DataFormatException(path, "the file ends before vox_offset, where the voxel data should start");
            bytes -= n;
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

    /// <summary>The header fields the reader uses, already checked.</summary>
    internal sealed class NiftiHeader
    {
        public required int[] DimsXyz { get; init; }      // spatial axes, x first, trailing singleton axes dropped
        public required ElementFormat Format { get; init; }
        public required double[] PixDim { get; init; }    // all 8, pixdim[0] = qfac
        public required long VoxOffset { get; init; }
        public required float Slope { get; init; }
        public required float Intercept { get; init; }
        public required short QformCode { get; init; }
        public required short SformCode { get; init; }
        public required double[] Quatern { get; init; }   // b, c, d, qoffset x, y, z
        public required double[,] Srow { get; init; }     // 3×4

        public static NiftiHeader Parse(string path, Stream input, bool paired)
        {
            var bytes = new byte[HeaderSize];
            int got = input.ReadAtLeast(bytes, HeaderSize, throwOnEndOfStream: false);
            if (got < HeaderSize) throw new DataFormatException(path, $"only {got} bytes, shorter than a NIfTI-1 header ({HeaderSize})");
            ReadOnlySpan<byte> h = bytes;
            bool big;
            if (BinaryPrimitives.ReadInt32LittleEndian(h) == HeaderSize) big = false;
            else if (BinaryPrimitives.ReadInt32BigEndian(h) == HeaderSize) big = true;
            else if (BinaryPrimitives.ReadInt32LittleEndian(h) == 540 || BinaryPrimitives.ReadInt32BigEndian(h) == 540)
                throw new DataFormatException(path, "a NIfTI-2 header (sizeof_hdr 540); only NIfTI-1 is supported");
            else
                throw new DataFormatException(path, $"not a NIfTI-1 file: sizeof_hdr is {BinaryPrimitives.ReadInt32LittleEndian(h)} read little-endian and {BinaryPrimitives.ReadInt32BigEndian(h)} big-endian, expected {HeaderSize}");

            short I16(int at) => big ? BinaryPrimitives.ReadInt16BigEndian(bytes.AsSpan(at)) : BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(at));
            float F32(int at) => big ? BinaryPrimitives.ReadSingleBigEndian(bytes.AsSpan(at)) : BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at));

            var magic = h.Slice(344, 4);
            bool single = magic.SequenceEqual("n+1\0"u8), pair = magic.SequenceEqual("ni1\0"u8);
            if (!single && !pair)
                throw new DataFormatException(path, $"bad NIfTI-1 magic {Printable(magic)} (expected \"n+1\" for a single file, \"ni1\" for a .hdr/.img pair); an Analyze 7.5 header is not supported");
            if (single && paired) throw new DataFormatException(path, "the header says single file (magic \"n+1\") but was opened as a .hdr/.img pair");
            if (pair && !paired) throw new DataFormatException(path, "the header says .hdr/.img pair (magic \"ni1\"); open the .hdr or .img file");

            int rank = I16(40);
            if (rank is < 1 or > 7) throw new DataFormatException(path, $"dim[0] = {rank}, must be 1 to 7");
            var dims = new int[rank];
            for (int i = 0; i < rank; i++)
            {
                dims[i] = I16(42 + 2 * i);
                if (dims[i] <= 0) throw new DataFormatException(path, $"dim[{i + 1}] = {dims[i]}, must be positive");
            }
            int spatial = Math.Min(rank, 3);
            for (int i = 3; i < rank; i++)
                if (dims[i] != 1)
                    throw new DataFormatException(path, $"a {rank}D image with dim[{i + 1}] = {dims[i]} ({(i == 3 ? "time points" : "components")}); only single-volume images (higher dims all 1) are supported");

            short code = I16(70);
            var type = TypeOfCode(code) ?? throw new DataFormatException(path, $"unsupported datatype code {code} ({CodeName(code)}); supported: uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64");

            var pixdim = new double[8];
            for (int i = 0; i < 8; i++) pixdim[i] = F32(76 + 4 * i);

            float vox = F32(108);
            if (!float.IsFinite(vox) || vox < 0 || vox != MathF.Floor(vox))
                throw new DataFormatException(path, $"vox_offset = {vox}, must be a non-negative whole number");
            long offset = (long)vox;
            // A single file's voxels cannot start inside the header; some writers leave 0, meaning "right after it".
            if (single && offset == 0) offset = DataOffset;
            if (single && offset < HeaderSize) throw new DataFormatException(path, $"vox_offset = {offset} lies inside the {HeaderSize}-byte header");

            float slope = F32(112), inter = F32(116);
            if (slope == 0 || !float.IsFinite(slope)) { slope = 1; inter = 0; }
            else if (!float.IsFinite(inter)) inter = 0;

            var quatern = new double[6];
            for (int i = 0; i < 6; i++) quatern[i] = F32(256 + 4 * i);
            var srow = new double[3, 4];
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 4; c++) srow[r, c] = F32(280 + 16 * r + 4 * c);

            return new NiftiHeader
            {
                DimsXyz = dims[..spatial],
                Format = new ElementFormat(type, big),
                PixDim = pixdim,
                VoxOffset = offset,
                Slope = slope,
                Intercept = inter,
                QformCode = I16(252),
                SformCode = I16(254),
                Quatern = quatern,
                Srow = srow,
            };
        }

        private static string Printable(ReadOnlySpan<byte> b)
        {
            var chars = new char[b.Length];
            for (int i = 0; i < b.Length; i++) chars[i] = b[i] is >= 32 and < 127 ? (char)b[i] : '.';
            return "\"" + new string(chars) + "\"";
        }
    }
}

/// <summary>NIfTI-1 orientation: the three ways a header maps voxel indices to millimetres, and the quaternion's inverse.</summary>
internal static class NiftiGeometry
{
    public readonly record struct Quaternion(double B, double C, double D, double Qfac);

    /// <summary>sform if sform_code &gt; 0, else qform if qform_code &gt; 0, else pixdim on the diagonal.</summary>
    public static double[,] Affine(Nifti.NiftiHeader h)
    {
        var a = new double[4, 4];
        a[3, 3] = 1;
        if (h.SformCode > 0)
        {
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 4; c++) a[r, c] = h.Srow[r, c];
            return a;
        }
        var d = new double[3];
        for (int i = 0; i < 3; i++)
        {
            double p = Math.Abs(h.PixDim[i + 1]);
            d[i] = i < h.DimsXyz.Length && p > 0 && double.IsFinite(p) ? p : 1;
        }
        if (h.QformCode > 0)
        {
            double qfac = h.PixDim[0] < 0 ? -1 : 1; // the specification: pixdim[0] is -1 or else taken as 1
            var r = Rotation(h.Quatern[0], h.Quatern[1], h.Quatern[2]);
            d[2] *= qfac;
            for (int row = 0; row < 3; row++)
            {
                for (int c = 0; c < 3; c++) a[row, c] = r[row, c] * d[c];
                a[row, 3] = h.Quatern[3 + row];
            }
            return a;
        }
        for (int i = 0; i < 3; i++) a[i, i] = d[i];
        return a;
    }

    /// <summary>
    /// The rotation of unit quaternion (a, b, c, d) with a = sqrt(1 − b² − c² − d²) ≥ 0; when rounding makes b² + c² + d²
    /// exceed 1, (b, c, d) is renormalised and a = 0 (a 180° rotation), as the specification prescribes.
    /// </summary>
    public static double[,] Rotation(double b, double c, double d)
    {
        double s = b * b + c * c + d * d, a;
        if (s > 1)
        {
            double n = Math.Sqrt(s);
            b /= n; c /= n; d /= n; a = 0;
        }
        else a = Math.Sqrt(1 - s);
        return new[,]
        {
            { a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c) },
            { 2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b) },
            { 2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b },
        };
    }

    /// <summary>
    /// The qform parameters of <paramref name="affine"/> when its 3×3 part is R · diag(spacing) with R orthogonal
    /// (a reflection becomes qfac = −1 on the third column). False for sheared or scaled-differently affines.
    /// </summary>
    public static bool TryQuaternion(double[,] affine, double[] spacingXyz, out Quaternion q)
    {
        q = default;
        var r = new double[3, 3];
        for (int c = 0; c < 3; c++)
        {
            double n = Math.Sqrt(affine[0, c] * affine[0, c] + affine[1, c] * affine[1, c] + affine[2, c] * affine[2, c]);
            if (!(n > 0) || Math.Abs(n - spacingXyz[c]) > 1e-4 * Math.Max(1, spacingXyz[c])) return false;
            for (int row = 0; row < 3; row++) r[row, c] = affine[row, c] / n;
        }
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++)
                if (Math.Abs(r[0, i] * r[0, j] + r[1, i] * r[1, j] + r[2, i] * r[2, j]) > 1e-4) return false;
        double det = r[0, 0] * (r[1, 1] * r[2, 2] - r[1, 2] * r[2, 1]) - r[0, 1] * (r[1, 0] * r[2, 2] - r[1, 2] * r[2, 0])
                     + r[0, 2] * (r[1, 0] * r[2, 1] - r[1, 1] * r[2, 0]);
        double qfac = 1;
        if (det < 0)
        {
            qfac = -1;
            for (int row = 0; row < 3; row++) r[row, 2] = -r[row, 2];
        }
        // Quaternion from a rotation matrix, branching on the largest of 1 + trace and the diagonal for stability.
        double a, b, c2, d;
        double t = r[0, 0] + r[1, 1] + r[2, 2];
        if (t > 0)
        {
            a = 0.5 * Math.Sqrt(1 + t);
            b = (r[2, 1] - r[1, 2]) / (4 * a); c2 = (r[0, 2] - r[2, 0]) / (4 * a); d = (r[1, 0] - r[0, 1]) / (4 * a);
        }
        else if (r[0, 0] >= r[1, 1] && r[0, 0] >= r[2, 2])
        {
            b = 0.5 * Math.Sqrt(1 + r[0, 0] - r[1, 1] - r[2, 2]);
            a = (r[2, 1] - r[1, 2]) / (4 * b); c2 = (r[0, 1] + r[1, 0]) / (4 * b); d = (r[0, 2] + r[2, 0]) / (4 * b);
        }
        else if (r[1, 1] >= r[2, 2])
        {
            c2 = 0.5 * Math.Sqrt(1 - r[0, 0] + r[1, 1] - r[2, 2]);
            a = (r[0, 2] - r[2, 0]) / (4 * c2); b = (r[0, 1] + r[1, 0]) / (4 * c2); d = (r[1, 2] + r[2, 1]) / (4 * c2);
        }
        else
        {
            d = 0.5 * Math.Sqrt(1 - r[0, 0] - r[1, 1] + r[2, 2]);
            a = (r[1, 0] - r[0, 1]) / (4 * d); b = (r[0, 2] + r[2, 0]) / (4 * d); c2 = (r[1, 2] + r[2, 1]) / (4 * d);
        }
        if (a < 0) { b = -b; c2 = -c2; d = -d; } // the file stores b, c, d only and implies a ≥ 0
        q = new Quaternion(b, c2, d, qfac);
        return true;
    }
}
