using System.Formats.Tar;
using System.IO.Compression;
using MedDistill.Data.Manifest;

namespace MedDistill.Data.Archives;

/// <param name="Skipped">The target already held this archive's extraction (same checksum in its marker): nothing was done.</param>
/// <param name="IgnoredEntries">Entries with no file content to extract (devices, FIFOs, global tar headers).</param>
public sealed record ExtractionResult(string Target, bool Skipped, int Files, long Bytes, int IgnoredEntries, Checksum ArchiveChecksum);

/// <summary>
/// Extracts zip, tar, tar.gz and split tar(.gz) parts (concatenated in ordinal name order) with the BCL only, safely:
/// <list type="bullet">
/// <item>entries are written into a temporary sibling of the target, which is renamed to the target only at the end — a refused
/// or failed archive leaves the target exactly as it was;</item>
/// <item>names with <c>..</c>, absolute paths, drive letters or ':' are refused; links are never created: a symlink or hardlink whose
/// target stays inside is materialised as a copy of the already-extracted file, one pointing outside is refused;</item>
/// <item>bytes actually written and entries are counted against <see cref="ExtractionLimits"/> (archive bombs);</item>
/// <item>a marker file in the target records the archive's checksum, so extracting the same archive again is a no-op.</item>
/// </list>
/// </summary>
public static class ArchiveExtractor
{
    public const string MarkerName = ".meddistill-extracted";
    private const string TempInfix = ".extracting-";

    public static ExtractionResult Extract(string archive, string target, ExtractionLimits? limits = null, Checksum? archiveChecksum = null,
        CancellationToken cancel = default) =>
        Extract([archive], target, limits, archiveChecksum, cancel);

    /// <param name="parts">One archive, or the parts of a split archive (sorted here by ordinal file name before concatenation).</param>
    /// <param name="archiveChecksum">The archive's known checksum (manifest or pin) to skip re-hashing it; computed (sha256) when null.</param>
    public static ExtractionResult Extract(IReadOnlyList<string> parts, string target, ExtractionLimits? limits = null,
        Checksum? archiveChecksum = null, CancellationToken cancel = default)
    {
        limits ??= ExtractionLimits.Default;
        if (parts.Count == 0) throw new ArgumentException("no archive given", nameof(parts));
        var ordered = parts.Select(Path.GetFullPath).OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();
        foreach (var p in ordered)
            if (!File.Exists(p)) throw new FileNotFoundException($"archive not found: {p}", p);
        var label = ordered.Count == 1 ? ordered[0] : $"{ordered[0]} (+{ordered.Count - 1} parts)";

        target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        if (archiveChecksum is null)
        {
            using var all = new ConcatenatedStream(ordered);
            archiveChecksum = Checksum.OfStream(all, HashKind.Sha256, cancel);
        }

        var existingMarker = ReadMarker(target);
        if (Directory.Exists(target) || File.Exists(target))
        {
            if (existingMarker is null)
                throw new ExtractionException($"{target} already exists and was not made by MedDistill's extraction (no {MarkerName}); " +
                                              "move it away or choose another target");
            if (existingMarker.Matches(archiveChecksum))
                return new ExtractionResult(target, true, 0, 0, 0, archiveChecksum);
        }

        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var baseName = Path.GetFileName(target);
        foreach (var stale in Directory.EnumerateDirectories(parent, baseName + TempInfix + "*"))
            Directory.Delete(stale, recursive: true); // left by an interrupted run; never the target itself

        var temp = Path.Combine(parent, baseName + TempInfix + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(temp);
        try
        {
            var tree = new SafeTree(temp, limits, label, cancel);
            switch (Sniff(ordered[0]))
            {
                case Kind.Zip:
                    if (ordered.Count > 1) throw new ExtractionException($"{label}: split zip archives are not supported");
                    ExtractZip(ordered[0], tree, limits);
                    break;
                case Kind.Gzip:
                    using (var raw = new ConcatenatedStream(ordered))
                    using (var gz = new GZipStream(raw, CompressionMode.Decompress))
                        ExtractTar(gz, tree);
                    break;
                default:
                    using (var raw = new ConcatenatedStream(ordered))
                        ExtractTar(raw, tree);
                    break;
            }
            File.WriteAllText(Path.Combine(temp, MarkerName), $"archive={archiveChecksum}\n");

            if (Directory.Exists(target))
            {
                var old = Path.Combine(parent, baseName + ".replaced-" + Guid.NewGuid().ToString("N")[..8]);
                Directory.Move(target, old);
                Directory.Move(temp, target);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(temp, target);
            return new ExtractionResult(target, false, tree.Files, tree.Bytes, tree.Ignored, archiveChecksum);
        }
        catch (Exception e)
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            if (e is ExtractionException or OperationCanceledException) throw;
            if (e is InvalidDataException or EndOfStreamException or FormatException or IOException)
                throw new ExtractionException($"{label}: damaged or unsupported archive: {e.Message}", e);
            throw;
        }
    }

    /// <summary>The checksum recorded by a previous extraction into <paramref name="target"/>, or null.</summary>
    public static Checksum? ReadMarker(string target)
    {
        var marker = Path.Combine(target, MarkerName);
        if (!File.Exists(marker)) return null;
        var line = File.ReadAllText(marker).Trim();
        return line.StartsWith("archive=", StringComparison.Ordinal) && Checksum.TryParse(line[8..], out var c, out _) ? c : null;
    }

    private enum Kind { Zip, Gzip, Tar }

    private static Kind Sniff(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var f = File.OpenRead(path);
        int n = f.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && (head[2] == 3 || head[2] == 5) && (head[3] == 4 || head[3] == 6)) return Kind.Zip;
        if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return Kind.Gzip;
        return Kind.Tar;
    }

    private static void ExtractZip(string path, SafeTree tree, ExtractionLimits limits)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var directory = ZipCentralDirectory.Read(file);
        if (directory.Count > limits.MaxEntries)
            throw new ExtractionException($"{tree.Label}: {directory.Count} entries exceed the limit of {limits.MaxEntries} (archive bomb guard; raise the entry limit if the archive is genuine)");
        var unsupported = directory.Where(e => !ZipCentralDirectory.IsSupported(e.Method) && !e.Name.EndsWith('/')).ToList();
        if (unsupported.Count > 0)
        {
            var e = unsupported[0];
            var methods = string.Join(", ", unsupported.Select(u => $"{u.Method} ({ZipCentralDirectory.MethodName(u.Method)})").Distinct());
            throw new ExtractionException(
                $"{tree.Label}: {unsupported.Count} entr{(unsupported.Count == 1 ? "y uses" : "ies use")} zip compression method {methods} " +
                $"(first: '{e.Name}'), which .NET's System.IO.Compression cannot decompress (it reads Stored, Deflate and Deflate64). " +
                "Extract this archive with 7-Zip instead, e.g. '7z x <archive> -o<folder>', and point MedDistill at that folder.");
        }
        var encrypted = directory.FirstOrDefault(e => e.IsEncrypted);
        if (encrypted.Name is not null)
            throw new ExtractionException($"{tree.Label}: entry '{encrypted.Name}' is encrypted; decrypt it with the tool and password its publisher gives");

        using var zip = new ZipArchive(file, ZipArchiveMode.Read);
        int i = 0;
        foreach (var entry in zip.Entries)
        {
            var info = i < directory.Count && directory[i].Name == entry.FullName ? directory[i] : default;
            i++;
            if (entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\'))
            {
                tree.CreateDirectory(entry.FullName);
                continue;
            }
            if (info.IsUnixSymlink)
            {
                using var s = entry.Open();
                using var reader = new StreamReader(s);
                var linkTarget = new string(reader.ReadToEnd().Take(4096).ToArray());
                tree.MaterialiseLink(entry.FullName, linkTarget, relativeToArchiveRoot: false);
                continue;
            }
            using var data = entry.Open();
            tree.WriteFile(entry.FullName, data);
        }
    }

    private static void ExtractTar(Stream stream, SafeTree tree)
    {
        using var reader = new TarReader(stream, leaveOpen: true);
        TarEntry? entry;
        while ((entry = reader.GetNextEntry(copyData: false)) is not null)
        {
            switch (entry.EntryType)
            {
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    tree.WriteFile(entry.Name, entry.DataStream);
                    break;
                case TarEntryType.Directory:
                    tree.CreateDirectory(entry.Name);
                    break;
                case TarEntryType.SymbolicLink:
                    tree.MaterialiseLink(entry.Name, entry.LinkName, relativeToArchiveRoot: false);
                    break;
                case TarEntryType.HardLink:
                    tree.MaterialiseLink(entry.Name, entry.LinkName, relativeToArchiveRoot: true);
                    break;
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo or TarEntryType.GlobalExtendedAttributes:
                    tree.Ignore(entry.Name);
                    break;
                default:
                    throw new ExtractionException($"{tree.Label}: entry '{entry.Name}' has tar type {entry.EntryType}, which is not supported");
            }
        }
    }
}
