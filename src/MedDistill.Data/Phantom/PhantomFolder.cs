using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MedDistill.Data.Phantom;

/// <summary>What a built-in phantom's <c>Generate</c> found or made.</summary>
/// <param name="Directory">The data set folder under the data root.</param>
/// <param name="Generated">False when the folder already held these options' files and nothing was written.</param>
/// <param name="Files">Every data file, relative to <paramref name="Directory"/>, '/'-separated, sorted.</param>
public sealed record BuiltinPhantomResult(string Directory, bool Generated, string OptionsHash, IReadOnlyList<string> Files);

/// <summary>
/// The idempotent, all-or-nothing folder handling the abdomen, FLARE and laparoscopy phantoms share with the prostate
/// one: a <c>phantom.json</c> marker records the generator version, the options' hash and every file's size and
/// SHA-256; a folder whose marker matches and whose files all have their recorded sizes is left alone; otherwise the
/// data set is written into a temporary sibling and swapped in by renames, so no reader sees half a data set.
/// </summary>
internal static class PhantomFolder
{
    public const string MarkerName = PhantomGenerator.MarkerName;

    /// <summary>SHA-256 (hex) of the generator version and the options' JSON: equal hashes mean equal files.</summary>
    public static string Hash(string generator, object options) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(generator + "\n" + JsonSerializer.Serialize(options, options.GetType(), Canonical))));

    /// <param name="write">Writes the data set into the folder it is given (empty, existing).</param>
    public static BuiltinPhantomResult Build(string root, string name, string generator, object options, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        var hash = Hash(generator, options);
        var target = Path.Combine(Path.GetFullPath(root), name);
        var existing = ReadMarker(target);
        if (existing is not null && existing.OptionsHash == hash && existing.Files.All(f => HasSize(Path.Combine(target, f.Path), f.Size)))
            return new BuiltinPhantomResult(target, false, hash, existing.Files.Select(f => f.Path).ToArray());

        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var partial = Path.Combine(parent, $".{name}.partial-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(partial);
            write(partial);
            var files = Directory.EnumerateFiles(partial, "*", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(partial, p).Replace('\\', '/'))
                .Order(StringComparer.Ordinal)
                .Select(rel => Describe(partial, rel))
                .ToArray();
            var marker = new Marker(generator, hash, JsonSerializer.SerializeToNode(options, options.GetType(), Canonical), files);
            File.WriteAllText(Path.Combine(partial, MarkerName), JsonSerializer.Serialize(marker, MarkerJson));
            SwapIn(partial, target, name);
            return new BuiltinPhantomResult(target, true, hash, files.Select(f => f.Path).ToArray());
        }
        finally
        {
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        }
    }

    private static PhantomFile Describe(string dir, string relative)
    {
        using var stream = File.OpenRead(Path.Combine(dir, relative));
        return new PhantomFile(relative, stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    private static bool HasSize(string path, long size)
    {
        var info = new FileInfo(path);
        return info.Exists && info.Length == size;
    }

    private static Marker? ReadMarker(string dir)
    {
        var path = Path.Combine(dir, MarkerName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<Marker>(File.ReadAllText(path), MarkerJson); }
        catch (JsonException) { return null; } // an unreadable marker means: regenerate
    }

    /// <summary>Replaces <paramref name="target"/> by <paramref name="partial"/>: the old folder is renamed aside first, then deleted.</summary>
    internal static void SwapIn(string partial, string target, string name)
    {
        string? aside = null;
        if (Directory.Exists(target))
        {
            aside = Path.Combine(Path.GetDirectoryName(target)!, $".{name}.old-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.Move(target, aside);
        }
        try { Directory.Move(partial, target); }
        catch
        {
            if (aside is not null && !Directory.Exists(target)) Directory.Move(aside, target);
            throw;
        }
        if (aside is not null) Directory.Delete(aside, recursive: true);
    }

    private static readonly JsonSerializerOptions Canonical = new() { Converters = { new JsonStringEnumConverter() }, WriteIndented = false };

    private static readonly JsonSerializerOptions MarkerJson = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    private sealed record Marker(string Generator, string OptionsHash, JsonNode? Options, PhantomFile[] Files);
}
