using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace MedDistill.Torch.Serialization;

/// <summary>A safetensors file that is malformed or inconsistent; the message names the file and the fault.</summary>
public sealed class SafetensorsFormatException(string message) : IOException(message);

/// <summary>Name, dtype and shape of one tensor in a safetensors file, read from its header alone.</summary>
public sealed record SafetensorsEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length N, N bytes of UTF-8 JSON mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
/// plus an optional "__metadata__" string map, then the tensors' raw little-endian row-major bytes, offsets counted
/// from the first byte after the header. Files interoperate with Python's <c>safetensors.torch.save_file/load_file</c>.
/// <para>
/// BF16 has no .NET element type, so its bytes go through float32: saving widens to float32 and keeps the upper 16 bits
/// (rounded to nearest-even, which is exact because the values came from bf16); loading shifts them back up and
/// narrows to bf16, again exactly.
/// </para>
/// </summary>
public static class Safetensors
{
    /// <summary>Refuse headers above this size (the reference implementation's limit) before allocating for them.</summary>
    private const long MaxHeaderBytes = 100_000_000;
    private const string MetadataKey = "__metadata__";

    private static readonly (string Code, ScalarType Type)[] DTypes =
    [
        ("F64", ScalarType.Float64), ("F32", ScalarType.Float32), ("F16", ScalarType.Float16), ("BF16", ScalarType.BFloat16),
        ("I64", ScalarType.Int64), ("I32", ScalarType.Int32), ("I16", ScalarType.Int16), ("I8", ScalarType.Int8),
        ("U8", ScalarType.Byte), ("BOOL", ScalarType.Bool),
    ];

    private static string Code(ScalarType t)
    {
        foreach (var (code, type) in DTypes) if (type == t) return code;
        throw new NotSupportedException($"safetensors cannot store dtype {t}");
    }

    // ------------------------------------------------------------------------------------------ writing

    /// <summary>
    /// Writes the tensors (any device; moved to the CPU for writing) in the dictionary's order. The file is written to
    /// a temporary sibling, flushed to disk and renamed over <paramref name="path"/>, so readers never see half a file.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        RequireLittleEndian();

        var entries = new List<(string Name, Tensor Tensor, ScalarType Type, long[] Shape, long Begin, long End)>(tensors.Count);
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("tensor names must be non-empty", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"tensor '{name}' is null", nameof(tensors));
            var type = tensor.dtype;
            _ = Code(type);
            var shape = tensor.shape;
            long bytes = checked(tensor.numel() * type.ElementSize());
            entries.Add((name, tensor, type, shape, offset, offset + bytes));
            offset += bytes;
        }

        byte[] header = BuildHeader(entries.Select(e => (e.Name, e.Type, e.Shape, e.Begin, e.End)), metadata);

        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var e in entries) WriteData(stream, e.Tensor, e.Type);
                if (stream.Position != 8 + header.Length + offset)
                    throw new InvalidOperationException($"safetensors writer produced {stream.Position} bytes, expected {8 + header.Length + offset}");
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static byte[] BuildHeader(IEnumerable<(string Name, ScalarType Type, long[] Shape, long Begin, long End)> entries,
        IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    ArgumentNullException.ThrowIfNull(key, "metadata key");
                    json.WriteString(key, value ?? throw new ArgumentException($"metadata value for '{key}' is null", nameof(metadata)));
                }
                json.WriteEndObject();
            }
            foreach (var e in entries)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", Code(e.Type));
                json.WriteStartArray("shape");
                foreach (var d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(e.Begin);
                json.WriteNumberValue(e.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Padding with spaces to a multiple of 8 keeps the data section aligned for readers that map the file.
        long padded = (buffer.Length + 7) / 8 * 8;
        while (buffer.Length < padded) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static void WriteData(Stream stream, Tensor tensor, ScalarType type)
    {
        if (tensor.numel() == 0) return;
        switch (type)
        {
            case ScalarType.Float64: WriteArray(stream, tensor.ToArray<double>()); break;
            case ScalarType.Float32: WriteArray(stream, tensor.ToArray<float>()); break;
            case ScalarType.Float16: WriteArray(stream, tensor.ToArray<Half>()); break;
            case ScalarType.Int64: WriteArray(stream, tensor.ToArray<long>()); break;
            case ScalarType.Int32: WriteArray(stream, tensor.ToArray<int>()); break;
            case ScalarType.Int16: WriteArray(stream, tensor.ToArray<short>()); break;
            case ScalarType.Int8: WriteArray(stream, tensor.ToArray<sbyte>()); break;
            case ScalarType.Byte: WriteArray(stream, tensor.ToArray<byte>()); break;
            case ScalarType.Bool: WriteArray(stream, tensor.ToArray<bool>()); break;
            case ScalarType.BFloat16:
            {
                float[] wide;
                using (var f = tensor.to(ScalarType.Float32)) wide = f.ToArray<float>();
                var bits = new ushort[wide.Length];
                for (int i = 0; i < wide.Length; i++) bits[i] = FloatToBFloat16Bits(wide[i]);
                WriteArray(stream, bits);
                break;
            }
            default: throw new NotSupportedException($"safetensors cannot store dtype {type}");
        }
    }

    private static void WriteArray<T>(Stream stream, T[] values) where T : unmanaged =>
        stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>Upper half of the float32 bits, rounded to nearest-even (exact for values that came from bf16).</summary>
    internal static ushort FloatToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040); // keep it a (quiet) NaN after truncation
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    internal static float BFloat16BitsToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    // ------------------------------------------------------------------------------------------ reading

    /// <summary>
    /// Reads every tensor, in file order, onto <paramref name="device"/> (default CPU). The whole layout is validated
    /// first; any fault throws <see cref="SafetensorsFormatException"/> naming the file.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path, Device? device = null)
    {
        RequireLittleEndian();
        using var stream = OpenRead(path);
        var (entries, _, dataStart) = ReadHeader(stream, path);
        var result = new Dictionary<string, Tensor>(entries.Count);
        try
        {
            foreach (var e in entries)
            {
                long length = e.End - e.Begin;
                if (length > Array.MaxLength)
                    throw new SafetensorsFormatException($"{path}: tensor '{e.Name}' holds {length} bytes, more than this reader can load at once");
                var bytes = new byte[length];
                stream.Position = dataStart + e.Begin;
                stream.ReadExactly(bytes);
                var tensor = MakeTensor(bytes, e, path);
                if (device is not null && device.Type != DeviceType.CPU)
                {
                    var moved = tensor.to(device);
                    tensor.Dispose();
                    tensor = moved;
                }
                result.Add(e.Name, tensor);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>The "__metadata__" map of the file (empty when it has none); reads the header only.</summary>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path).Metadata;
    }

    /// <summary>Names, dtypes, shapes and byte ranges of the file's tensors in file order; reads the header only.</summary>
    public static IReadOnlyList<SafetensorsEntry> ReadEntries(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path).Entries;
    }

    private static FileStream OpenRead(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
    }

    private static (List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata, long DataStart) ReadHeader(FileStream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new SafetensorsFormatException($"{path}: file is {fileLength} bytes, too short to hold the 8-byte header length of a safetensors file");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - 8))
            throw new SafetensorsFormatException($"{path}: header length {headerLength} runs past the end of the file ({fileLength} bytes); the file is truncated or not safetensors");
        if (headerLength > MaxHeaderBytes)
            throw new SafetensorsFormatException($"{path}: header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes");
        if (headerLength < 2)
            throw new SafetensorsFormatException($"{path}: header length {headerLength} is too small to hold a JSON object");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        if (header[0] != (byte)'{')
            throw new SafetensorsFormatException($"{path}: header does not start with '{{'; the file is not safetensors");
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException ex)
        {
            throw new SafetensorsFormatException($"{path}: header is not valid JSON ({ex.Message})");
        }
        catch (ArgumentException ex)
        {
            throw new SafetensorsFormatException($"{path}: header is not valid UTF-8 JSON ({ex.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SafetensorsFormatException($"{path}: header must be a JSON object, found {root.ValueKind}");

            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>();
            var names = new HashSet<string>();
            foreach (var property in root.EnumerateObject())
            {
                string name = property.Name;
                if (!names.Add(name)) throw new SafetensorsFormatException($"{path}: header names '{name}' twice");
                if (name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw new SafetensorsFormatException($"{path}: {MetadataKey} must be an object of strings");
                    foreach (var item in property.Value.EnumerateObject())
                    {
                        if (item.Value.ValueKind != JsonValueKind.String)
                            throw new SafetensorsFormatException($"{path}: {MetadataKey} value for '{item.Name}' is {item.Value.ValueKind}, not a string");
                        metadata[item.Name] = item.Value.GetString()!;
                    }
                    continue;
                }
                entries.Add(ParseEntry(name, property.Value, path));
            }

            // The data section must be covered exactly: entries back to back from 0 to its end, no holes or overlaps.
            var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
            long expected = 0;
            foreach (var e in ordered)
            {
                if (e.Begin != expected)
                    throw new SafetensorsFormatException(e.Begin < expected
                        ? $"{path}: tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] overlap the previous tensor, which ends at {expected}"
                        : $"{path}: tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] leave a hole after byte {expected}; offsets must be contiguous");
                expected = e.End;
            }
            if (expected > dataLength)
                throw new SafetensorsFormatException($"{path}: data_offsets reach byte {expected} but the data section holds only {dataLength} bytes; the file is truncated");
            if (expected < dataLength)
                throw new SafetensorsFormatException($"{path}: the data section holds {dataLength} bytes but the tensors cover only {expected}; trailing bytes are not allowed");
            return (ordered, metadata, dataStart);
        }
    }

    private static SafetensorsEntry ParseEntry(string name, JsonElement info, string path)
    {
        string where = $"{path}: tensor '{name}'";
        if (info.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException($"{where} must be described by an object, found {info.ValueKind}");

        if (!info.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new SafetensorsFormatException($"{where} has no string \"dtype\"");
        string code = dtypeElement.GetString()!;
        ScalarType? type = null;
        foreach (var (c, t) in DTypes) if (c == code) type = t;
        if (type is null)
            throw new SafetensorsFormatException($"{where} has dtype \"{code}\", which is not supported (supported: {string.Join(", ", DTypes.Select(d => d.Code))})");

        if (!info.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new SafetensorsFormatException($"{where} has no \"shape\" array");
        var shape = new long[shapeElement.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long size) || size < 0)
                throw new SafetensorsFormatException($"{where} has a shape entry {d.GetRawText()} that is not a non-negative integer");
            shape[i++] = size;
            try { count = checked(count * size); }
            catch (OverflowException) { throw new SafetensorsFormatException($"{where} has a shape whose element count overflows"); }
        }

        if (!info.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new SafetensorsFormatException($"{where} has no \"data_offsets\" pair");
        long[] range = new long[2];
        int j = 0;
        foreach (var o in offsets.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out long v) || v < 0)
                throw new SafetensorsFormatException($"{where} has a data offset {o.GetRawText()} that is not a non-negative integer");
            range[j++] = v;
        }
        if (range[1] < range[0])
            throw new SafetensorsFormatException($"{where} has data_offsets [{range[0]}, {range[1]}] that end before they begin");
        long needed;
        try { needed = checked(count * type.Value.ElementSize()); }
        catch (OverflowException) { throw new SafetensorsFormatException($"{where} has a shape whose byte size overflows"); }
        if (range[1] - range[0] != needed)
            throw new SafetensorsFormatException($"{where} has data_offsets [{range[0]}, {range[1]}] spanning {range[1] - range[0]} bytes, but shape [{string.Join(", ", shape)}] of {code} needs {needed}");
        return new SafetensorsEntry(name, type.Value, shape, range[0], range[1]);
    }

    private static Tensor MakeTensor(byte[] bytes, SafetensorsEntry e, string path)
    {
        var span = bytes.AsSpan();
        switch (e.DType)
        {
            case ScalarType.Float64: return torch.tensor<double>(MemoryMarshal.Cast<byte, double>(span), e.Shape);
            case ScalarType.Float32: return torch.tensor<float>(MemoryMarshal.Cast<byte, float>(span), e.Shape);
            case ScalarType.Float16: return torch.tensor<Half>(MemoryMarshal.Cast<byte, Half>(span), e.Shape);
            case ScalarType.Int64: return torch.tensor<long>(MemoryMarshal.Cast<byte, long>(span), e.Shape);
            case ScalarType.Int32: return torch.tensor<int>(MemoryMarshal.Cast<byte, int>(span), e.Shape);
            case ScalarType.Int16: return torch.tensor<short>(MemoryMarshal.Cast<byte, short>(span), e.Shape);
            case ScalarType.Int8: return torch.tensor<sbyte>(MemoryMarshal.Cast<byte, sbyte>(span), e.Shape);
            case ScalarType.Byte: return torch.tensor<byte>(span, e.Shape);
            case ScalarType.Bool:
                // A bool byte other than 0 or 1 is undefined behaviour in libtorch, so reject it here.
                int bad = span.IndexOfAnyExcept((byte)0, (byte)1);
                if (bad >= 0)
                    throw new SafetensorsFormatException($"{path}: BOOL tensor '{e.Name}' holds byte value {span[bad]} at element {bad}; only 0 and 1 are valid");
                return torch.tensor<bool>(MemoryMarshal.Cast<byte, bool>(span), e.Shape);
            case ScalarType.BFloat16:
            {
                var bits = MemoryMarshal.Cast<byte, ushort>(span);
                var wide = new float[bits.Length];
                for (int i = 0; i < bits.Length; i++) wide[i] = BFloat16BitsToFloat(bits[i]);
                using var f = torch.tensor<float>(wide, e.Shape);
                return f.to(ScalarType.BFloat16);
            }
            default: throw new SafetensorsFormatException($"{path}: tensor '{e.Name}' has unsupported dtype {e.DType}");
        }
    }

    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors I/O here assumes a little-endian machine");
    }
}
