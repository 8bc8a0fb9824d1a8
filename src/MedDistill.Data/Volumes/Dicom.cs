using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace MedDistill.Data.Volumes;

/// <summary>
/// Minimal DICOM (PS3.10 files) for single-frame greyscale CT/MR slices such as CHAOS's <c>DICOM_anon/*.dcm</c>. Our own
/// code because no DICOM package is served to this project (fo-dicom is not on the package list); it covers what the
/// papers' data needs and refuses the rest by name.
/// <para>
/// Read: the 128-byte preamble and <c>DICM</c>, the explicit-VR file meta group, then a data set in explicit or implicit
/// VR little endian (the uncompressed transfer syntaxes); sequences of any nesting are skipped (depth-limited); 8- or
/// 16-bit samples, signed or not, one frame, one sample per pixel; values come back rescaled (slope, intercept) as HU.
/// Every element length is checked against the bytes left, and rows × columns against <see cref="ReadLimits"/>, before
/// anything is allocated. Compressed or big-endian transfer syntaxes, multi-frame and colour images are refused.
/// </para>
/// <para>Write: a CT Image Storage file, explicit VR little endian, uint16 samples with rescale intercept −1024.</para>
/// </summary>
public static class Dicom
{
    public const int PreambleLength = 128;
    public const string ExplicitLittle = "1.2.840.10008.1.2.1", ImplicitLittle = "1.2.840.10008.1.2", CtImageStorage = "1.2.840.10008.5.1.4.1.1.2";

    // VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 §7.1.2); all others have a 2-byte length.
    private static readonly HashSet<string> LongVrs = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"];
    private const int MaxSequenceDepth = 32; // a crafted file could nest sequences until the stack overflows

    public static bool HasSignature(ReadOnlySpan<byte> head) => head.Length >= PreambleLength + 4 && head.Slice(PreambleLength, 4).SequenceEqual("DICM"u8);

    /// <summary>One slice: shape (rows, columns), spacing from Pixel Spacing, affine from the patient position and orientation (LPS turned RAS).</summary>
    public static Volume Read(string path, ReadLimits? limits = null) => ReadSlice(path, limits ?? ReadLimits.Default).Volume;

    /// <summary>
    /// Every <c>*.dcm</c> in <paramref name="folder"/> as one volume (slices, rows, columns), ordered along the slice normal
    /// by Image Position (Patient), slice spacing from the positions (Slice Thickness for a single slice).
    /// </summary>
    public static Volume ReadSeries(string folder, ReadLimits? limits = null)
    {
        limits ??= ReadLimits.Default;
        var files = Directory.GetFiles(folder, "*.dcm").Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new DataFormatException(folder, "holds no .dcm files");
        var slices = files.Select(f => ReadSlice(f, limits)).ToArray();
        var first = slices[0].Volume;
        foreach (var (s, f) in slices.Zip(files))
            if (!s.Volume.Shape.SequenceEqual(first.Shape)) throw new DataFormatException(f, $"is {s.Volume.Shape[0]}×{s.Volume.Shape[1]}, the series' first slice {first.Shape[0]}×{first.Shape[1]}");
        VoxelDecoding.CheckedVoxelCount(folder, [slices.Length, first.Shape[0], first.Shape[1]], limits);
        var ordered = slices.OrderBy(s => s.Position).ToArray();
        double dz = ordered.Length > 1 ? Math.Abs(ordered[^1].Position - ordered[0].Position) / (ordered.Length - 1) : ordered[0].Thickness;
        if (dz <= 0) dz = ordered[0].Thickness > 0 ? ordered[0].Thickness : 1;
        int plane = first.Shape[0] * first.Shape[1];
        var data = new float[ordered.Length * plane];
        for (int k = 0; k < ordered.Length; k++) ordered[k].Volume.Data.CopyTo(data, k * plane);
        var affine = (double[,])ordered[0].Volume.Affine.Clone();
        for (int r = 0; r < 3; r++) affine[r, 2] = ordered[0].Normal[r] * dz;
        return new Volume(data, [ordered.Length, first.Shape[0], first.Shape[1]], [dz, first.Spacing[0], first.Spacing[1]], first.StoredType, affine);
    }

    private sealed record Slice(Volume Volume, double Position, double Thickness, double[] Normal);

    private static Slice ReadSlice(string path, ReadLimits limits)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        var bytes = File.ReadAllBytes(path);
        if (!HasSignature(bytes)) throw new DataFormatException(path, "not a DICOM file (no \"DICM\" after the 128-byte preamble)");
        var elements = new Dictionary<uint, (string Vr, int Offset, int Length)>();
        int pos = PreambleLength + 4;
        // The file meta group is explicit VR little endian whatever the data set uses.
        while (pos + 4 <= bytes.Length && BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(pos)) == 0x0002)
            pos = Next(path, bytes, pos, explicitVr: true, elements, 0);
        var syntax = Text(bytes, elements, 0x00020010) ?? ExplicitLittle;
        bool explicitVr = syntax switch
        {
            ExplicitLittle => true,
            ImplicitLittle => false,
            _ => throw new DataFormatException(path, $"transfer syntax {syntax} is compressed or big-endian; only uncompressed little-endian DICOM is read (convert with dcmdjpeg/gdcmconv)"),
        };
        while (pos < bytes.Length) pos = Next(path, bytes, pos, explicitVr, elements, 0);

        int rows = UShort(path, bytes, elements, 0x00280010), cols = UShort(path, bytes, elements, 0x00280011);
        int bits = UShort(path, bytes, elements, 0x00280100);
        int samples = elements.ContainsKey(0x00280002) ? UShort(path, bytes, elements, 0x00280002) : 1;
        bool signed = elements.ContainsKey(0x00280103) && UShort(path, bytes, elements, 0x00280103) == 1;
        int frames = (int)(Numbers(bytes, elements, 0x00280008)?[0] ?? 1);
        var photometric = Text(bytes, elements, 0x00280004) ?? "MONOCHROME2";
        if (samples != 1 || photometric is not ("MONOCHROME1" or "MONOCHROME2"))
            throw new DataFormatException(path, $"is a {photometric} image with {samples} samples per pixel; only greyscale slices are read");
        if (frames != 1) throw new DataFormatException(path, $"has {frames} frames; only single-frame slices are read");
        if (bits is not (8 or 16)) throw new DataFormatException(path, $"Bits Allocated {bits}: only 8 and 16 are read");
        VoxelDecoding.CheckedVoxelCount(path, [rows, cols], limits);
        if (!elements.TryGetValue(0x7FE00010, out var pixels)) throw new DataFormatException(path, "has no Pixel Data (7FE0,0010)");
        long needed = (long)rows * cols * (bits / 8);
        if (pixels.Length < needed) throw new DataFormatException(path, $"Pixel Data holds {pixels.Length} bytes, {rows}×{cols} {bits}-bit samples need {needed}: truncated or inconsistent");

        double slope = Numbers(bytes, elements, 0x00281053)?[0] ?? 1, intercept = Numbers(bytes, elements, 0x00281052)?[0] ?? 0;
        var data = new float[rows * cols];
        var src = bytes.AsSpan(pixels.Offset);
        for (int i = 0; i < data.Length; i++)
        {
            double raw = bits == 8 ? (signed ? (sbyte)src[i] : src[i])
                : signed ? BinaryPrimitives.ReadInt16LittleEndian(src[(2 * i)..]) : BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]);
            data[i] = (float)(raw * slope + intercept);
        }
        var spacing = Numbers(bytes, elements, 0x00280030) is { Length: >= 2 } ps ? ps : [1.0, 1.0];
        double thickness = Numbers(bytes, elements, 0x00180050)?[0] ?? 1;
        var ipp = Numbers(bytes, elements, 0x00200032) is { Length: >= 3 } p ? p : [0.0, 0, 0];
        var iop = Numbers(bytes, elements, 0x00200037) is { Length: >= 6 } o ? o : [1.0, 0, 0, 0, 1, 0];
        double[] normal = [iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3]];
        // Voxel index (column, row, slice) → RAS mm: DICOM's LPS with x and y negated.
        var affine = new double[4, 4];
        for (int r = 0; r < 3; r++)
        {
            double flip = r < 2 ? -1 : 1;
            affine[r, 0] = flip * iop[r] * spacing[1];
            affine[r, 1] = flip * iop[3 + r] * spacing[0];
            affine[r, 2] = flip * normal[r] * thickness;
            affine[r, 3] = flip * ipp[r];
            normal[r] *= flip;
        }
        affine[3, 3] = 1;
        var type = bits == 8 ? (signed ? VoxelType.Int8 : VoxelType.UInt8) : signed ? VoxelType.Int16 : VoxelType.UInt16;
        var volume = new Volume(data, [rows, cols], [spacing[0], spacing[1]], type, affine);
        double position = ipp[0] * (iop[1] * iop[5] - iop[2] * iop[4]) + ipp[1] * (iop[2] * iop[3] - iop[0] * iop[5]) + ipp[2] * (iop[0] * iop[4] - iop[1] * iop[3]);
        return new Slice(volume, position, thickness, normal);
    }

    /// <summary>Reads the element at <paramref name="pos"/> (recording top-level ones), returns the position after it.</summary>
    private static int Next(string path, byte[] b, int pos, bool explicitVr, Dictionary<uint, (string, int, int)>? elements, int depth)
    {
        if (pos + 8 > b.Length) throw new DataFormatException(path, $"truncated element header at byte {pos}");
        uint tag = (uint)BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pos)) << 16 | BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pos + 2));
        string vr = "";
        long length;
        int header;
        bool delimiter = tag >> 16 == 0xFFFE; // items and delimiters carry no VR in any transfer syntax
        if (explicitVr && !delimiter)
        {
            vr = Encoding.ASCII.GetString(b, pos + 4, 2);
            if (LongVrs.Contains(vr))
            {
                if (pos + 12 > b.Length) throw new DataFormatException(path, $"truncated element header at byte {pos}");
                length = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(pos + 8));
                header = 12;
            }
            else { length = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pos + 6)); header = 8; }
        }
        else { length = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(pos + 4)); header = 8; }
        pos += header;
        if (length == 0xFFFFFFFF)
        {
            if (tag == 0x7FE00010) throw new DataFormatException(path, "Pixel Data is encapsulated (compressed); only uncompressed DICOM is read");
            return SkipUndefined(path, b, pos, explicitVr, depth + 1);
        }
        if (length > b.Length - pos) throw new DataFormatException(path, $"element ({tag >> 16:X4},{tag & 0xFFFF:X4}) claims {length} bytes at byte {pos}, but only {b.Length - pos} are left: truncated or corrupt");
        if (elements is not null && !delimiter) elements[tag] = (vr, pos, (int)length);
        return pos + (int)length;
    }

    /// <summary>Skips a sequence or item of undefined length up to its delimiter, items within it included.</summary>
    private static int SkipUndefined(string path, byte[] b, int pos, bool explicitVr, int depth)
    {
        if (depth > MaxSequenceDepth) throw new DataFormatException(path, $"sequences nested deeper than {MaxSequenceDepth}: corrupt");
        while (pos + 8 <= b.Length)
        {
            uint tag = (uint)BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pos)) << 16 | BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pos + 2));
            if (tag is 0xFFFEE0DD or 0xFFFEE00D) return pos + 8; // sequence or item delimitation
            pos = Next(path, b, pos, explicitVr, null, depth);
        }
        throw new DataFormatException(path, "a sequence of undefined length ends without its delimiter: truncated");
    }

    private static string? Text(byte[] b, Dictionary<uint, (string Vr, int Offset, int Length)> elements, uint tag) =>
        elements.TryGetValue(tag, out var e) ? Encoding.ASCII.GetString(b, e.Offset, e.Length).TrimEnd('\0', ' ').TrimStart(' ') : null;

    private static double[]? Numbers(byte[] b, Dictionary<uint, (string Vr, int Offset, int Length)> elements, uint tag)
    {
        var text = Text(b, elements, tag);
        if (string.IsNullOrEmpty(text)) return null;
        var parts = text.Split('\\');
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])) return null;
        return values;
    }

    private static int UShort(string path, byte[] b, Dictionary<uint, (string Vr, int Offset, int Length)> elements, uint tag)
    {
        if (!elements.TryGetValue(tag, out var e)) throw new DataFormatException(path, $"has no ({tag >> 16:X4},{tag & 0xFFFF:X4}) element, which an image needs");
        if (e.Length < 2) throw new DataFormatException(path, $"element ({tag >> 16:X4},{tag & 0xFFFF:X4}) is {e.Length} bytes, not a US value");
        return BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(e.Offset));
    }

    /// <summary>What <see cref="WriteCtSlice"/> puts in a slice besides the pixels.</summary>
    /// <param name="PixelSpacing">Row spacing then column spacing, mm.</param>
    /// <param name="Position">Image Position (Patient) of the first pixel, LPS mm.</param>
    public sealed record CtSlice(string PatientId, string StudyKey, int InstanceNumber, double[] PixelSpacing, double SliceThickness, double[] Position);

    /// <summary>
    /// A CT Image Storage file of HU values (rounded, clamped to −1024..64511) as uint16 with intercept −1024; axial
    /// orientation. UIDs are 2.25 (UUID-derived) numbers hashed from the study key, so equal input gives equal bytes.
    /// </summary>
    public static byte[] WriteCtSlice(ReadOnlySpan<float> hu, int rows, int cols, CtSlice slice)
    {
        if (rows < 1 || cols < 1 || hu.Length != rows * cols) throw new ArgumentException($"{rows}×{cols} pixels need {rows * cols} values, got {hu.Length}", nameof(hu));
        string study = Uid(slice.StudyKey), series = Uid(slice.StudyKey + "/series"), instance = Uid($"{slice.StudyKey}/{slice.InstanceNumber}");
        var pixels = new byte[2 * hu.Length];
        for (int i = 0; i < hu.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(pixels.AsSpan(2 * i), (ushort)Math.Clamp(Math.Round(hu[i] + 1024.0), 0, ushort.MaxValue));
        var data = new List<(uint Tag, string Vr, byte[] Value)>
        {
            (0x00080016, "UI", Ui(CtImageStorage)), (0x00080018, "UI", Ui(instance)), (0x00080060, "CS", Str("CT")),
            (0x00100020, "LO", Str(slice.PatientId)), (0x00180050, "DS", Str(Ds(slice.SliceThickness))),
            (0x0020000D, "UI", Ui(study)), (0x0020000E, "UI", Ui(series)), (0x00200013, "IS", Str(slice.InstanceNumber.ToString(CultureInfo.InvariantCulture))),
            (0x00200032, "DS", Str(string.Join('\\', slice.Position.Select(Ds)))), (0x00200037, "DS", Str("1\\0\\0\\0\\1\\0")),
            (0x00280002, "US", U16(1)), (0x00280004, "CS", Str("MONOCHROME2")), (0x00280010, "US", U16(rows)), (0x00280011, "US", U16(cols)),
            (0x00280030, "DS", Str(string.Join('\\', slice.PixelSpacing.Select(Ds)))), (0x00280100, "US", U16(16)), (0x00280101, "US", U16(16)),
            (0x00280102, "US", U16(15)), (0x00280103, "US", U16(0)), (0x00281052, "DS", Str("-1024")), (0x00281053, "DS", Str("1")),
            (0x7FE00010, "OW", pixels),
        };
        var meta = new List<(uint, string, byte[])>
        {
            (0x00020001, "OB", [0, 1]), (0x00020002, "UI", Ui(CtImageStorage)), (0x00020003, "UI", Ui(instance)),
            (0x00020010, "UI", Ui(ExplicitLittle)), (0x00020012, "UI", Ui(Uid("meddistill-phantom"))),
        };
        var metaBytes = Encode(meta);
        var output = new MemoryStream();
        output.Write(new byte[PreambleLength]);
        output.Write("DICM"u8);
        output.Write(Encode([(0x00020000, "UL", BitConverter.GetBytes((uint)metaBytes.Length))]));
        output.Write(metaBytes);
        output.Write(Encode(data));
        return output.ToArray();
    }

    private static byte[] Encode(List<(uint Tag, string Vr, byte[] Value)> elements)
    {
        var s = new MemoryStream();
        Span<byte> head = stackalloc byte[12];
        foreach (var (tag, vr, value) in elements.OrderBy(e => e.Tag))
        {
            BinaryPrimitives.WriteUInt16LittleEndian(head, (ushort)(tag >> 16));
            BinaryPrimitives.WriteUInt16LittleEndian(head[2..], (ushort)tag);
            head[4] = (byte)vr[0];
            head[5] = (byte)vr[1];
            if (LongVrs.Contains(vr))
            {
                head[6] = head[7] = 0;
                BinaryPrimitives.WriteUInt32LittleEndian(head[8..], (uint)value.Length);
                s.Write(head);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(head[6..], (ushort)value.Length);
                s.Write(head[..8]);
            }
            s.Write(value);
        }
        return s.ToArray();
    }

    // Values have even lengths (PS3.5 §7.1.1): UIDs pad with NUL, text with a space.
    private static byte[] Ui(string uid) => Pad(uid, 0);
    private static byte[] Str(string text) => Pad(text, (byte)' ');
    private static byte[] Pad(string s, byte pad) { var b = Encoding.ASCII.GetBytes(s); return b.Length % 2 == 0 ? b : [.. b, pad]; }
    private static byte[] U16(int v) => BitConverter.GetBytes((ushort)v);
    private static string Ds(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>A "2.25." UID (PS3.5 §B.2: a UUID as one decimal number) from a hash of <paramref name="key"/>.</summary>
    private static string Uid(string key) =>
        "2.25." + new BigInteger(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16), isUnsigned: true).ToString(CultureInfo.InvariantCulture);
}
