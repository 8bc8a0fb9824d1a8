using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MedDistill.Data.Preprocessing;

/// <summary>A source file as the cache last saw it: where, how big, when modified, and its SHA-256.</summary>
public sealed record SourceFileRecord(string Path, long Size, DateTime ModifiedUtc, string Sha256);

/// <summary>
/// One preprocessed case in the cache: <c>ImageFile</c> holds float32 little-endian voxels and <c>LabelFile</c> uint8 class
/// indices, both C order (slice, row, column) of <see cref="Shape"/> (a colour image: (slice, channel, row, column),
/// <see cref="Channels"/>), paths relative to the cache folder.
/// </summary>
public sealed record CachedCase
{
    public required string Id { get; init; }
    public required string Site { get; init; }
    public required string Name { get; init; }
    public required SourceFileRecord Image { get; init; }
    public required SourceFileRecord Label { get; init; }
    public required string ImageFile { get; init; }
    public required string LabelFile { get; init; }

    /// <summary>(slices, height, width) of the cached arrays.</summary>
    public required int[] Shape { get; init; }

    /// <summary>Voxel size in mm of the cached arrays, same order as <see cref="Shape"/> (in-plane scaled by the resize).</summary>
    public required double[] Spacing { get; init; }

    public required int[] SourceShape { get; init; }
    public required double[] SourceSpacing { get; init; }
    public required NormalisationApplied Normalisation { get; init; }

    /// <summary>Foreground (label &gt; 0) voxel count of each slice: lets the loader filter slices without reading labels.</summary>
    public required int[] ForegroundPerSlice { get; init; }

    /// <summary>
    /// The field-of-view array (uint8 0/1, same shape as the label, path relative to the cache folder) when the recipe asks
    /// for one (<see cref="PreprocessRecipe.Fov"/>); null otherwise, and then absent from the JSON, so indexes of recipes
    /// without a FOV are byte-for-byte what they were before FOVs existed.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? FovFile { get; init; }

    /// <summary>The FOV mask file the FOV came from (DRIVE's); null when it was computed from the image or there is none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SourceFileRecord? FovSource { get; init; }

    /// <summary>
    /// Image channels per slice when the recipe keeps colour (<see cref="PreprocessRecipe.KeepColour"/>: 3), the image
    /// file then (slice, channel, row, column); null for one channel, and then absent from the JSON, so every greyscale
    /// index is byte-for-byte what it was.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Channels { get; init; }

    [JsonIgnore]
    public int ImageChannels => Channels ?? 1;

    public int Slices => Shape[0];
    public int Height => Shape[1];
    public int Width => Shape[2];
}

/// <summary>The cache's <c>index.json</c>: the recipe and its hash, every case's provenance and arrays, and the data set's lists.</summary>
public sealed record CacheIndex
{
    public const string FileName = "index.json";
    public const string CurrentFormat = "meddistill-cache/1";

    public string Format { get; init; } = CurrentFormat;
    public required string Dataset { get; init; }
    public required string SourceRoot { get; init; }
    public required PreprocessRecipe Recipe { get; init; }
    public required string RecipeHash { get; init; }
    public required IReadOnlyList<CachedCase> Cases { get; init; }

    /// <summary>
    /// The data set's own split from its list files (<see cref="DatasetSource.Lists"/>: role "train"/"test" → case ids in
    /// list order); null when it ships none. Kept here, not in the recipe, so it is not hashed: the prostate recipe hash and
    /// the run ids built on it stay as they were, and an index written before lists existed (no "lists" key) still loads.
    /// Omitted from the JSON when null, so a prostate index.json is byte-for-byte what it was.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Lists { get; init; }

    /// <summary>True when both are null or both hold the same roles with the same ids in the same order.</summary>
    public static bool SameLists(IReadOnlyDictionary<string, IReadOnlyList<string>>? a, IReadOnlyDictionary<string, IReadOnlyList<string>>? b) =>
        a is null || b is null ? a is null && b is null
            : a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var ids) && ids.SequenceEqual(p.Value, StringComparer.Ordinal));

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Reads <c>index.json</c> of <paramref name="cacheDir"/>; null when there is none.</summary>
    public static CacheIndex? TryRead(string cacheDir)
    {
        var path = Path.Combine(cacheDir, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var index = JsonSerializer.Deserialize<CacheIndex>(File.ReadAllText(path), Json);
            return index?.Format == CurrentFormat ? index : null;
        }
        catch (JsonException) { return null; } // unreadable: treated as no cache, rebuilt
    }

    /// <summary>Reads the index, failing with the path when it is missing or unreadable.</summary>
    public static CacheIndex Read(string cacheDir) =>
        TryRead(cacheDir) ?? throw new InvalidDataException($"{Path.Combine(cacheDir, FileName)}: no readable {CurrentFormat} cache index (run the preprocessing first)");

    internal void Write(string cacheDir)
    {
        var path = Path.Combine(cacheDir, FileName);
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, this, Json));
    }
}

/// <summary>Reads a case's cached arrays.</summary>
public static class CacheArrays
{
    public static float[] ReadImage(string cacheDir, CachedCase c)
    {
        var bytes = ReadExact(Path.Combine(cacheDir, c.ImageFile), (long)c.Slices * c.ImageChannels * c.Height * c.Width * sizeof(float));
        var values = new float[bytes.Length / sizeof(float)];
        // The cache is little-endian; so is every platform .NET runs on today.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the preprocessing cache is little-endian");
        MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
        return values;
    }

    public static byte[] ReadLabel(string cacheDir, CachedCase c) =>
        ReadExact(Path.Combine(cacheDir, c.LabelFile), (long)c.Slices * c.Height * c.Width);

    /// <summary>The case's field of view (1 inside, 0 outside), or null when its recipe caches none.</summary>
    public static byte[]? ReadFov(string cacheDir, CachedCase c) =>
        c.FovFile is null ? null : ReadExact(Path.Combine(cacheDir, c.FovFile), (long)c.Slices * c.Height * c.Width);

    private static byte[] ReadExact(string path, long expected)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.LongLength != expected)
            throw new InvalidDataException($"{path}: {bytes.LongLength} bytes, the cache index expects {expected}; rerun the preprocessing");
        return bytes;
    }
}

/// <summary>Files that appear only when complete: written under a temporary name in the same folder, then renamed.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16)) write(stream);
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }
}
