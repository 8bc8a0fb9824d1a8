using MedDistill.Shared;
using System.Globalization;

namespace MedDistill.Data.Manifest;

/// <summary>
/// <c>data-manifest.csv</c>: one row per downloadable file. Every row is validated on load (enums, checksum syntax, absolute
/// http(s) URL, byte count, known format, no duplicate (dataset, file)); all problems are reported together, each with its line.
/// </summary>
public sealed class DataManifest
{
    public const string FileName = "data-manifest.csv";

    public static readonly string[] Columns =
        ["dataset", "part", "file", "url", "checksum", "checksum_source", "bytes", "license", "access", "format", "used_by", "notes"];

    /// <summary>
    /// What a row's file is, which decides how it is extracted: an archive (<c>zip</c>, <c>tar</c>, <c>tar.gz</c>), split parts of a
    /// tar.gz (<c>tar.gz-parts</c>, concatenated in name order), a TCIA manifest for the NBIA retriever (<c>tcia</c>).
    /// </summary>
    public static readonly IReadOnlySet<string> Formats = new HashSet<string>(StringComparer.Ordinal)
        { "zip", "tar", "tar.gz", "tar.gz-parts", "tcia" };

    public IReadOnlyList<ManifestEntry> Entries { get; }
    public string Source { get; }

    private DataManifest(IReadOnlyList<ManifestEntry> entries, string source) { Entries = entries; Source = source; }

    /// <summary>Dataset names in first-appearance order.</summary>
    public IReadOnlyList<string> Datasets => Entries.Select(e => e.Dataset).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The rows of <paramref name="dataset"/>, optionally one part; a clear error naming the known names otherwise.</summary>
    public IReadOnlyList<ManifestEntry> Select(string dataset, string? part = null)
    {
        var rows = Entries.Where(e => e.Dataset == dataset).ToList();
        if (rows.Count == 0)
            throw new ArgumentException($"unknown dataset '{dataset}' (the manifest {Source} lists: {string.Join(", ", Datasets)})");
        if (part is null) return rows;
        var parts = rows.Where(e => e.Part == part).ToList();
        if (parts.Count == 0)
            throw new ArgumentException($"dataset '{dataset}' has no part '{part}' (parts: {string.Join(", ", rows.Select(r => r.Part).Distinct())})");
        return parts;
    }

    public static DataManifest Load(string path)
    {
        using var reader = new StreamReader(path);
        return Parse(reader, path);
    }

    public static DataManifest Parse(string text, string source = "<text>") => Parse(new StringReader(text), source);

    public static DataManifest Parse(TextReader reader, string source)
    {
        var records = Csv.Read(reader, (line, problem) => new ManifestException(source, line, problem));
        if (records.Count == 0) throw new ManifestException(source, 1, "empty file (expected the header " + string.Join(",", Columns) + ")");
        var header = records[0].Fields.Select(f => f.Trim()).ToArray();
        if (!header.SequenceEqual(Columns))
            throw new ManifestException(source, records[0].Line,
                $"header must be exactly '{string.Join(",", Columns)}', got '{string.Join(",", header)}'");

        var problems = new List<ManifestProblem>();
        var entries = new List<ManifestEntry>();
        var seen = new Dictionary<(string, string), int>();
        foreach (var record in records.Skip(1))
        {
            var rowErrors = new List<string>();
            var entry = ParseRow(record, rowErrors);
            if (entry is not null && seen.TryGetValue((entry.Dataset, entry.File), out var firstLine))
                rowErrors.Add($"duplicate (dataset, file) ({entry.Dataset}, {entry.File}); first on line {firstLine}");
            if (rowErrors.Count > 0)
            {
                problems.AddRange(rowErrors.Select(e => new ManifestProblem(record.Line, e)));
                continue;
            }
            seen[(entry!.Dataset, entry.File)] = record.Line;
            entries.Add(entry);
        }
        if (problems.Count > 0) throw new ManifestException(source, problems);
        return new DataManifest(entries, source);
    }

    private static ManifestEntry? ParseRow(CsvRecord record, List<string> errors)
    {
        var f = record.Fields;
        if (f.Count != Columns.Length)
        {
            errors.Add($"expected {Columns.Length} fields, found {f.Count}");
            return null;
        }
        string Get(int i) => f[i].Trim();
        var dataset = Get(0);
        var part = Get(1);
        var file = Get(2);
        if (!IsName(dataset)) errors.Add($"dataset '{dataset}' must be lower-case letters, digits, '-' or '_' (it names a folder)");
        if (part.Length == 0) errors.Add("part is empty");
        if (file.Length == 0 || file != Path.GetFileName(file) || file is "." or ".." || file.IndexOfAny(['/', '\\']) >= 0
            || file.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            errors.Add($"file '{file}' must be a plain file name (no directories)");

        Uri? url = null;
        if (!Uri.TryCreate(Get(3), UriKind.Absolute, out url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            errors.Add($"url '{Get(3)}' is not an absolute http(s) URL");
            url = null;
        }

        Checksum? checksum = null;
        if (Get(4).Length > 0 && !Checksum.TryParse(Get(4), out checksum, out var checksumError)) errors.Add(checksumError!);

        ChecksumSource? source = Get(5) switch
        {
            "publisher" => ChecksumSource.Publisher,
            "loader-code" => ChecksumSource.LoaderCode,
            "pinned-at-first-download" => ChecksumSource.PinnedAtFirstDownload,
            "none" => ChecksumSource.None,
            _ => null,
        };
        if (source is null) errors.Add($"checksum_source '{Get(5)}' must be one of publisher, loader-code, pinned-at-first-download, none");
        else if (checksum is null && Get(4).Length == 0 && source is ChecksumSource.Publisher or ChecksumSource.LoaderCode)
            errors.Add($"checksum_source '{Get(5)}' needs a checksum (leave it empty only with pinned-at-first-download or none)");
        else if (Get(4).Length > 0 && source is ChecksumSource.None or ChecksumSource.PinnedAtFirstDownload)
            errors.Add($"a checksum is given, so checksum_source cannot be '{Get(5)}' (say where it came from: publisher or loader-code)");

        long? bytes = null;
        if (Get(6).Length > 0)
        {
            if (long.TryParse(Get(6), NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b > 0) bytes = b;
            else errors.Add($"bytes '{Get(6)}' must be a positive whole number or empty");
        }

        Access? access = Get(8) switch
        {
            "open" => Access.Open, "login" => Access.Login, "request" => Access.Request, "kaggle" => Access.Kaggle, _ => null,
        };
        if (access is null) errors.Add($"access '{Get(8)}' must be one of open, login, request, kaggle");

        var format = Get(9);
        if (!Formats.Contains(format)) errors.Add($"format '{format}' must be one of {string.Join(", ", Formats)}");

        if (errors.Count > 0) return null;
        return new ManifestEntry(dataset, part, file, url!, checksum, source!.Value, bytes, Get(7), access!.Value, format,
            Get(10), Get(11), record.Line);
    }

    private static bool IsName(string s) =>
        s.Length > 0 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_') && char.IsAsciiLetterOrDigit(s[0]);

    /// <summary>
    /// The manifest at the repository root: <c>data-manifest.csv</c> in the current directory or its nearest ancestor that has one,
    /// else in the nearest ancestor of the program's own folder (the CLI is built inside the repository).
    /// </summary>
    public static string FindDefaultPath()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, FileName);
                if (System.IO.File.Exists(candidate)) return candidate;
            }
        throw new FileNotFoundException($"{FileName} not found in {Directory.GetCurrentDirectory()}, {AppContext.BaseDirectory} or their parents; pass --manifest");
    }
}
