using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace MedDistill.Data.Volumes;

/// <summary>
/// ITK MetaImage: a text header (<c>.mhd</c>) naming a raw data file (<c>.raw</c>, zlib-compressed <c>.zraw</c>), or one
/// file (<c>.mha</c>) whose header ends with <c>ElementDataFile = LOCAL</c> and is followed by the data. PROMISE12 uses it.
/// <para>
/// Keys read (case-insensitive): ObjectType (Image), NDims (1–3), DimSize, ElementSpacing (else ElementSize, else 1),
/// ElementType (MET_UCHAR, MET_CHAR, MET_SHORT, MET_USHORT, MET_INT, MET_UINT, MET_LONG and MET_ULONG (4 bytes, as in
/// MetaIO), MET_LONG_LONG, MET_ULONG_LONG, MET_FLOAT, MET_DOUBLE), ElementByteOrderMSB or BinaryDataByteOrderMSB,
/// CompressedData (zlib), CompressedDataSize, HeaderSize (bytes to skip; −1: the data is the file's last bytes),
/// Offset (or Position, Origin), TransformMatrix (or Rotation, Orientation), ElementNumberOfChannels (must be 1),
/// ElementDataFile (last key; a single file or LOCAL — file lists and patterns are refused).
/// </para>
/// <para>
/// Geometry: MetaImage world coordinates are ITK's LPS; the affine is converted to NIfTI's RAS (rows x and y negated),
/// so volumes from either format share one convention. TransformMatrix is read as MetaIO writes it: its first NDims
/// values are the direction of the first (fastest) axis, i.e. a column of the direction matrix. AnatomicalOrientation
/// is not consulted. Spacing is ElementSpacing, reversed into C order.
/// </para>
/// </summary>
public static class MetaImage
{
    private const int MaxHeaderBytes = 1 << 16;

    public static Volume Read(string path) => Read(path, ReadLimits.Default);

    public static Volume Read(string path, ReadLimits limits)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        var (fields, headerBytes) = ReadHeader(path);
        string Get(string key) => fields.TryGetValue(key, out var v) ? v : throw new DataFormatException(path, $"the MetaImage header has no {key}");
        string? Opt(params string[] keys) => keys.Select(k => fields.GetValueOrDefault(k)).FirstOrDefault(v => v is not null);

        if (Opt("ObjectType") is { } objectType && !objectType.Equals("Image", StringComparison.OrdinalIgnoreCase))
            throw new DataFormatException(path, $"ObjectType = {objectType}; only Image is supported");
        int nd = ParseInt(path, "NDims", Get("NDims"));
        if (nd is < 1 or > 3) throw new DataFormatException(path, $"NDims = {nd}; 1 to 3 are supported");
        var dims = ParseNumbers(path, "DimSize", Get("DimSize"), nd).Select(d => d == Math.Floor(d) ? (long)d : throw new DataFormatException(path, $"DimSize value {d} is not a whole number")).ToArray();
        var spacingXyz = Opt("ElementSpacing", "ElementSize") is { } sp ? ParseNumbers(path, "ElementSpacing", sp, nd) : Enumerable.Repeat(1.0, nd).ToArray();
        if (Opt("ElementNumberOfChannels") is { } ch && ParseInt(path, "ElementNumberOfChannels", ch) != 1)
            throw new DataFormatException(path, $"ElementNumberOfChannels = {ch}; only single-channel images are supported");
        if (Opt("BinaryData") is { } binary && !ParseBool(path, "BinaryData", binary))
            throw new DataFormatException(path, "BinaryData = False (ASCII voxel data) is not supported");
        var type = ElementType(path, Get("ElementType"));
        bool msb = Opt("ElementByteOrderMSB", "BinaryDataByteOrderMSB") is { } o && ParseBool(path, "ElementByteOrderMSB", o);
        bool compressed = Opt("CompressedData") is { } c && ParseBool(path, "CompressedData", c);
        long compressedSize = Opt("CompressedDataSize") is { } cs ? (long)ParseNumbers(path, "CompressedDataSize", cs, 1)[0] : -1;
        long headerSize = Opt("HeaderSize") is { } hs ? ParseInt(path, "HeaderSize", hs) : 0;
        var dataFile = Get("ElementDataFile");

        var format = new ElementFormat(type, msb);
        long count = VoxelDecoding.CheckedVoxelCount(path, dims, limits);
        long needed = count * format.Size;

        string dataPath;
        long start;
        if (dataFile.Equals("LOCAL", StringComparison.OrdinalIgnoreCase))
        {
            dataPath = path;
            start = headerBytes + Math.Max(0, headerSize);
        }
        else
        {
            if (dataFile.StartsWith("LIST", StringComparison.OrdinalIgnoreCase) || dataFile.Contains('%') || dataFile.Contains(' '))
                throw new DataFormatException(path, $"ElementDataFile = {dataFile}: lists of slice files are not supported, only one data file or LOCAL");
            dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, dataFile);
            if (!File.Exists(dataPath)) throw new DataFormatException(path, $"its data file {dataPath} does not exist");
            start = Math.Max(0, headerSize);
        }
        long length = new FileInfo(dataPath).Length;
        if (headerSize == -1)
        {
            if (compressed) throw new DataFormatException(path, "HeaderSize = -1 (data at the end of the file) cannot be used with compressed data");
            start = length - needed;
            if (start < 0) throw new DataFormatException(dataPath, $"{count} voxels of {format.Size} bytes need {needed} bytes, the file has {length}");
        }

        float[] data;
        using var file = new FileStream(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (start > length) throw new DataFormatException(dataPath, $"the voxel data should start at byte {start}, the file has {length}");
        file.Position = start;
        if (compressed)
        {
            long available = length - start;
            if (compressedSize >= 0 && compressedSize > available)
                throw new DataFormatException(dataPath, $"CompressedDataSize = {compressedSize} but only {available} bytes follow offset {start}");
            VoxelDecoding.CheckDeflateBound(dataPath, needed, compressedSize >= 0 ? compressedSize : available, $"{count} voxels of {format}");
            data = new float[count];
            try
            {
                using var z = new ZLibStream(file, CompressionMode.Decompress, leaveOpen: true);
                VoxelDecoding.ReadInto(z, data, format, dataPath, start);
            }
            catch (InvalidDataException e)
            {
                throw new DataFormatException(dataPath, $"the zlib-compressed voxel data is corrupt ({e.Message})", e);
            }
        }
        else
        {
            if (length - start < needed)
                throw new DataFormatException(dataPath, $"{count} voxels of {format.Size} bytes at offset {start} need {start + needed} bytes, the file has {length}");
            data = new float[count];
            VoxelDecoding.ReadInto(file, data, format, dataPath, start);
        }

        var offset = Opt("Offset", "Position", "Origin") is { } off ? ParseNumbers(path, "Offset", off, nd) : new double[nd];
        var transform = Opt("TransformMatrix", "Rotation", "Orientation") is { } tm ? ParseNumbers(path, "TransformMatrix", tm, nd * nd) : null;
        var shape = dims.Reverse().Select(d => (int)d).ToArray();
        var spacing = spacingXyz.Reverse().Select(Math.Abs).ToArray();
        return new Volume(data, shape, spacing, type, AffineRas(spacingXyz, offset, transform, nd));
    }

    /// <summary>RAS affine from MetaImage's LPS geometry (see the class remarks).</summary>
    internal static double[,] AffineRas(double[] spacingXyz, double[] offset, double[]? transform, int nd)
    {
        var a = new double[4, 4];
        a[3, 3] = 1;
        for (int i = nd; i < 3; i++) a[i, i] = 1;
        for (int axis = 0; axis < nd; axis++)
        {
            for (int row = 0; row < nd; row++)
            {
                double direction = transform is null ? (row == axis ? 1 : 0) : transform[axis * nd + row];
                a[row, axis] = direction * spacingXyz[axis];
            }
        }
        for (int row = 0; row < nd; row++) a[row, 3] = offset[row];
        for (int row = 0; row < 2; row++)
            for (int c = 0; c < 4; c++) a[row, c] = -a[row, c] + 0.0; // + 0.0 turns -0 into 0
        return a;
    }

    /// <summary>The header's key/value pairs, and its length in bytes (up to and including the ElementDataFile line).</summary>
    private static (Dictionary<string, string> Fields, long Bytes) ReadHeader(string path)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
        var line = new StringBuilder();
        long position = 0;
        while (true)
        {
            int b = file.ReadByte();
            if (b < 0)
            {
                if (line.Length > 0) AddLine(line.ToString());
                if (fields.ContainsKey("ElementDataFile")) return (fields, position);
                throw new DataFormatException(path, fields.Count == 0 ? "not a MetaImage header (no \"Key = Value\" lines)" : "the MetaImage header ends without ElementDataFile");
            }
            position++;
            if (position > MaxHeaderBytes) throw new DataFormatException(path, $"no ElementDataFile line in the first {MaxHeaderBytes} bytes; not a MetaImage header");
            if (b == '\n')
            {
                if (AddLine(line.ToString())) return (fields, position);
                line.Clear();
            }
            else if (b == 0 || (b < 32 && b != '\r' && b != '\t'))
                throw new DataFormatException(path, $"binary byte 0x{b:x2} at offset {position - 1} inside the MetaImage header; not a MetaImage file");
            else line.Append((char)b);
        }

        // True after ElementDataFile, which ends the header.
        bool AddLine(string text)
        {
            text = text.Trim();
            if (text.Length == 0) return false;
            int eq = text.IndexOf('=');
            if (eq <= 0) throw new DataFormatException(path, $"header line \"{text}\" is not \"Key = Value\"");
            string key = text[..eq].Trim();
            fields[key] = text[(eq + 1)..].Trim();
            return key.Equals("ElementDataFile", StringComparison.OrdinalIgnoreCase);
        }
    }

    private static VoxelType ElementType(string path, string name) => name.ToUpperInvariant() switch
    {
        "MET_UCHAR" => VoxelType.UInt8,
        "MET_CHAR" => VoxelType.Int8,
        "MET_SHORT" => VoxelType.Int16,
        "MET_USHORT" => VoxelType.UInt16,
        "MET_INT" or "MET_LONG" => VoxelType.Int32,
        "MET_UINT" or "MET_ULONG" => VoxelType.UInt32,
        "MET_LONG_LONG" => VoxelType.Int64,
        "MET_ULONG_LONG" => VoxelType.UInt64,
        "MET_FLOAT" => VoxelType.Float32,
        "MET_DOUBLE" => VoxelType.Float64,
        _ => throw new DataFormatException(path, $"unsupported ElementType {name}"),
    };

    private static int ParseInt(string path, string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new DataFormatException(path, $"{key} = \"{value}\" is not an integer");

    private static bool ParseBool(string path, string key, string value) => value.ToLowerInvariant() switch
    {
        "true" or "1" => true,
        "false" or "0" => false,
        _ => throw new DataFormatException(path, $"{key} = \"{value}\" is not True or False"),
    };

    private static double[] ParseNumbers(string path, string key, string value, int expected)
    {
        var parts = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != expected) throw new DataFormatException(path, $"{key} has {parts.Length} values, expected {expected}");
        var result = new double[expected];
        for (int i = 0; i < expected; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out result[i]) || !double.IsFinite(result[i]))
                throw new DataFormatException(path, $"{key} value \"{parts[i]}\" is not a number");
        return result;
    }
}
