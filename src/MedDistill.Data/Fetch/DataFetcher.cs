using System.Text;
using MedDistill.Data.Manifest;

namespace MedDistill.Data.Fetch;

public enum FetchOutcomeKind { Downloaded, AlreadyPresent, Manual, Failed }

/// <param name="Instructions">For <see cref="FetchOutcomeKind.Manual"/>: where and how to get the file by hand.</param>
/// <param name="NewPin">Set when this download pinned the file's sha256 (no checksum was known).</param>
public sealed record FetchOutcome(ManifestEntry Entry, FetchOutcomeKind Kind, DownloadResult? Download = null, Pin? NewPin = null,
    string? Instructions = null, string? Error = null);

public sealed record ImportOutcome(ManifestEntry Entry, string Path, Checksum Checksum, long Bytes, Pin? NewPin, IReadOnlyList<string> Sources);

public enum DatasetState { Present, Partial, Missing, Failed }

/// <param name="Present">The verified file is in place.</param>
/// <param name="HasPartial">A <c>.part</c> file from an interrupted download or import is there.</param>
public sealed record FileStatus(ManifestEntry Entry, bool Present, bool HasPartial, FileStateRecord? LastVerification);

public sealed record DatasetStatus(string Dataset, DatasetState State, IReadOnlyList<FileStatus> Files)
{
    public int PresentCount => Files.Count(f => f.Present);
}

/// <summary>
/// Manifest rows to files under the data directory: downloads the open ones, explains the others, imports files fetched by hand,
/// and reports what is there. Every file lands at <c>&lt;data-dir&gt;/&lt;dataset&gt;/&lt;file&gt;</c> only once its checksum (or, with
/// none known, a freshly recorded pin) is settled.
/// </summary>
public sealed class DataFetcher(string dataDir, Downloader downloader, TextWriter? output = null)
{
    private readonly TextWriter _out = output ?? TextWriter.Null;
    private readonly PinStore _pins = new(dataDir);
    private readonly FetchStateStore _state = new(dataDir);

    public string DataDir => dataDir;
    public PinStore Pins => _pins;

    /// <summary>The digest a file must have: the manifest's, else the pin from its first download, else none yet.</summary>
    public Checksum? ExpectedChecksum(ManifestEntry row) => row.Checksum ?? _pins.Find(row.Dataset, row.File)?.Checksum;

    /// <summary>Fetches every automatic row and returns instructions for the rest. One failed file does not stop the others.</summary>
    public async Task<IReadOnlyList<FetchOutcome>> FetchAsync(IReadOnlyList<ManifestEntry> rows, CancellationToken cancel = default)
    {
        var outcomes = new List<FetchOutcome>();
        foreach (var row in rows)
        {
            if (!row.IsAutomatic)
            {
                outcomes.Add(new FetchOutcome(row, FetchOutcomeKind.Manual, Instructions: Instructions(row)));
                continue;
            }
            var expected = ExpectedChecksum(row);
            try
            {
                var result = await downloader.DownloadAsync(row.Url, row.LocalPath(dataDir), expected, row.Bytes, cancel).ConfigureAwait(false);
                var pin = expected is null ? PinAndAnnounce(row, result.Checksum, result.Bytes) : null;
                _state.Record(row.Dataset, row.File, FileState.Verified, $"{(expected ?? result.Checksum)} ({(pin is null ? "checked" : "pinned")})");
                outcomes.Add(new FetchOutcome(row, result.AlreadyPresent ? FetchOutcomeKind.AlreadyPresent : FetchOutcomeKind.Downloaded, result, pin));
            }
            catch (DownloadException e)
            {
                _state.Record(row.Dataset, row.File, FileState.Failed, e.Message);
                outcomes.Add(new FetchOutcome(row, FetchOutcomeKind.Failed, Error: e.Message));
            }
        }
        return outcomes;
    }

    /// <summary>Where and how to get a file that <c>data fetch</c> cannot download unattended.</summary>
    public string Instructions(ManifestEntry row)
    {
        var why = row.Access switch
        {
            Access.Login => "needs an account on the host: sign in and download it there",
            Access.Request => "is given out on request or through a dedicated client, not by a plain download",
            Access.Kaggle => $"is a Kaggle dataset: with a Kaggle account and API token (~/.kaggle/kaggle.json), run " +
                             $"'kaggle datasets download -d {KaggleSlug(row.Url) ?? "<owner>/<name>"}'",
            _ when row.IsSplitParts => "is published as split parts whose exact names are not in the manifest: download every part by hand",
            _ => "is open but not a single downloadable file (a folder or landing page): download it by hand",
        };
        var text = new StringBuilder();
        text.AppendLine($"{row.Dataset}/{row.Part}: {row.File} {why}.");
        text.AppendLine($"  source:  {row.Url}");
        if (row.Notes.Length > 0) text.AppendLine($"  notes:   {row.Notes}");
        if (row.License.Length > 0) text.AppendLine($"  license: {row.License}");
        var expected = ExpectedChecksum(row);
        text.AppendLine(expected is null
            ? "  checksum: none known; the import pins its sha256"
            : $"  checksum: {expected} (checked on import)");
        text.Append(row.IsSplitParts
            ? $"  then:    meddistill data import {row.Dataset} <folder-with-parts-or-part-files...> --part {row.Part}   (parts are concatenated in name order)"
            : $"  then:    meddistill data import {row.Dataset} <path-to>/{row.File} --part {row.Part}");
        return text.ToString();
    }

    private static string? KaggleSlug(Uri url)
    {
        var segments = url.AbsolutePath.Trim('/').Split('/');
        int i = Array.IndexOf(segments, "datasets");
        return i >= 0 && i + 2 < segments.Length ? $"{segments[i + 1]}/{segments[i + 2]}" : null;
    }

    private Pin PinAndAnnounce(ManifestEntry row, Checksum actual, long bytes)
    {
        var sha = actual.Kind == HashKind.Sha256 ? actual : Checksum.OfFile(row.LocalPath(dataDir), HashKind.Sha256);
        var pin = _pins.Add(row.Dataset, row.File, sha, bytes);
        _out.WriteLine($"pinned {row.Dataset}/{row.File}: {sha} ({bytes} bytes) in {_pins.FilePath}");
        _out.WriteLine($"  to commit it, set in data-manifest.csv line {row.Line}: checksum={sha}, bytes={bytes} (checksum_source stays pinned-at-first-download)");
        return pin;
    }

    /// <summary>
    /// Files a hand-downloaded file (or the parts of a split archive) into the data directory: verifies it against the known
    /// checksum (else pins it), then renames it into place. With <paramref name="move"/> the source is moved (after it verified),
    /// else copied. A mismatch leaves the source untouched and nothing under the final name.
    /// </summary>
    public ImportOutcome Import(IReadOnlyList<ManifestEntry> rows, IReadOnlyList<string> paths, bool move = false)
    {
        if (paths.Count == 0) throw new ArgumentException("no file to import given");
        var row = MatchRow(rows, paths);
        var sources = row.IsSplitParts ? ExpandParts(row, paths) : [RequireFile(paths.Single())];
        var final = row.LocalPath(dataDir);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        var part = final + Downloader.PartSuffix;
        var expected = ExpectedChecksum(row);
        var kind = expected?.Kind ?? HashKind.Sha256;

        Checksum actual;
        long bytes;
        bool movedWhole = false;
        if (move && sources.Count == 1)
        {
            // Hash first, so a wrong file is never taken away from the user.
            actual = Checksum.OfFile(sources[0], kind);
            bytes = new FileInfo(sources[0]).Length;
            Verify(row, expected, actual, bytes, sources[0], part: null);
            File.Move(sources[0], part, overwrite: true);
            movedWhole = true;
        }
        else
        {
            (actual, bytes) = ConcatenateHashing(sources, part, kind);
            Verify(row, expected, actual, bytes, string.Join(" + ", sources), part);
        }

        File.Move(part, final, overwrite: true);
        if (move && !movedWhole)
            foreach (var source in sources) File.Delete(source);
        var pin = expected is null ? PinAndAnnounce(row, actual, bytes) : null;
        _state.Record(row.Dataset, row.File, FileState.Verified, $"{(expected ?? actual)} (imported{(pin is null ? "" : ", pinned")})");
        return new ImportOutcome(row, final, actual, bytes, pin, sources);
    }

    private void Verify(ManifestEntry row, Checksum? expected, Checksum actual, long bytes, string source, string? part)
    {
        var detail = $"Source {source} left as it was; nothing was filed under {row.LocalPath(dataDir)}.";
        ChecksumMismatchException? error = null;
        if (row.Bytes is { } want && want != bytes)
            error = new ChecksumMismatchException(row.File, $"{want} bytes", $"{bytes} bytes", detail);
        else if (expected is not null && !actual.Matches(expected))
            error = new ChecksumMismatchException(row.File, expected.ToString(), actual.ToString(), detail);
        if (error is null) return;
        if (part is not null && File.Exists(part)) File.Delete(part);
        _state.Record(row.Dataset, row.File, FileState.Failed, error.Message);
        throw error;
    }

    private static (Checksum, long) ConcatenateHashing(IReadOnlyList<string> sources, string destination, HashKind kind)
    {
        using var hasher = new Checksum(kind, "").CreateHasher();
        long total = 0;
        var buffer = new byte[1 << 20];
        try
        {
            using (var output = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                foreach (var source in sources)
                {
                    using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                    int n;
                    while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        hasher.AppendData(buffer, 0, n);
                        output.Write(buffer, 0, n);
                        total += n;
                    }
                }
        }
        catch
        {
            if (File.Exists(destination)) File.Delete(destination);
            throw;
        }
        return (new Checksum(kind, Convert.ToHexStringLower(hasher.GetHashAndReset())), total);
    }

    private static string RequireFile(string path) =>
        File.Exists(path) ? Path.GetFullPath(path) : throw new FileNotFoundException($"file to import not found: {path}", path);

    /// <summary>Split-archive parts: the prefix is the archive name before ".tar" (<c>ge-1-5t.tar.gz</c> → <c>ge-1-5t</c>).</summary>
    internal static string PartPrefix(ManifestEntry row)
    {
        var i = row.File.IndexOf(".tar", StringComparison.Ordinal);
        return i > 0 ? row.File[..i] : Path.GetFileNameWithoutExtension(row.File);
    }

    private static List<string> ExpandParts(ManifestEntry row, IReadOnlyList<string> paths)
    {
        var prefix = PartPrefix(row);
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
                files.AddRange(Directory.EnumerateFiles(path)
                    .Where(f => Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal) && Path.GetFileName(f) != row.File
                                && !f.EndsWith(Downloader.PartSuffix, StringComparison.Ordinal)));
            else files.Add(RequireFile(path));
        }
        if (files.Count == 0)
            throw new ArgumentException($"no parts of {row.File} (files named {prefix}*) found in {string.Join(", ", paths)}");
        // Parts are named so that name order is archive order (.aa, .ab, ...); ordinal sorting keeps that.
        return files.Select(Path.GetFullPath).Distinct().OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();
    }

    private static ManifestEntry MatchRow(IReadOnlyList<ManifestEntry> rows, IReadOnlyList<string> paths)
    {
        if (rows.Count == 1) return rows[0];
        var names = paths.Select(p => Path.GetFileName(Path.TrimEndingDirectorySeparator(p))).ToList();
        var matches = rows.Where(r => names.All(n => n == r.File || r.IsSplitParts && n.StartsWith(PartPrefix(r), StringComparison.Ordinal)))
            .ToList();
        if (matches.Count == 0)
            matches = rows.Where(r => names.All(n => string.Equals(n, r.File, StringComparison.OrdinalIgnoreCase))).ToList();
        if (matches.Count == 1) return matches[0];
        throw new ArgumentException(
            $"cannot tell which file of dataset '{rows[0].Dataset}' {string.Join(", ", names)} is; expected one of: " +
            string.Join(", ", rows.Select(r => $"{r.File} (--part {r.Part})")) + ". Name the file like that or pass --part.");
    }

    /// <summary>One status per manifest dataset, computed from the files on disk and the last verification outcome (no hashing).</summary>
    public IReadOnlyList<DatasetStatus> Status(DataManifest manifest) =>
        manifest.Datasets.Select(d => Status(d, manifest.Select(d))).ToList();

    public DatasetStatus Status(string dataset, IReadOnlyList<ManifestEntry> rows)
    {
        var files = rows.Select(r =>
        {
            var path = r.LocalPath(dataDir);
            var present = File.Exists(path) && (r.Bytes is null || new FileInfo(path).Length == r.Bytes);
            return new FileStatus(r, present, File.Exists(path + Downloader.PartSuffix), _state.Find(r.Dataset, r.File));
        }).ToList();
        DatasetState state;
        if (files.Any(f => !f.Present && f.LastVerification?.State == FileState.Failed)) state = DatasetState.Failed;
        else if (files.All(f => f.Present)) state = DatasetState.Present;
        else if (files.Any(f => f.Present || f.HasPartial)) state = DatasetState.Partial;
        else state = DatasetState.Missing;
        return new DatasetStatus(dataset, state, files);
    }
}
