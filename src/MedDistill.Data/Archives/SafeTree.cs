namespace MedDistill.Data.Archives;

/// <summary>
/// The directory an archive is extracted into, guarding every write: entry names must stay inside, links are copied (never
/// created), and bytes and entries are counted against the limits.
/// </summary>
internal sealed class SafeTree(string root, ExtractionLimits limits, string label, CancellationToken cancel)
{
    private readonly string _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
    private int _entries;

    public string Label => label;
    public int Files { get; private set; }
    public long Bytes { get; private set; }
    public int Ignored { get; private set; }

    public void CreateDirectory(string name)
    {
        CountEntry();
        var segments = Segments(name);
        if (segments.Count == 0) return; // "./" — the root itself
        Directory.CreateDirectory(FullPath(segments, name));
    }

    public void Ignore(string name)
    {
        CountEntry();
        Segments(name); // still refuse a hostile name
        Ignored++;
    }

    public void WriteFile(string name, Stream? data)
    {
        CountEntry();
        var segments = Segments(name);
        if (segments.Count == 0) throw Refuse(name, "has an empty name");
        var path = FullPath(segments, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        if (data is not null) CopyCounted(data, output, name);
        Files++;
    }

    /// <summary>
    /// A link entry becomes a copy of its target, which must be a file already extracted and inside the tree. Symlink targets are
    /// relative to the link's folder; tar hardlink targets are relative to the archive root.
    /// </summary>
    public void MaterialiseLink(string name, string linkTarget, bool relativeToArchiveRoot)
    {
        CountEntry();
        var segments = Segments(name);
        if (segments.Count == 0) throw Refuse(name, "has an empty name");
        var kind = relativeToArchiveRoot ? "hardlink" : "symlink";
        var normalized = linkTarget.Replace('\\', '/');
        if (normalized.StartsWith('/') || HasDriveLetter(normalized))
            throw Refuse(name, $"is a {kind} to the absolute path '{linkTarget}', outside the target");
        var stack = relativeToArchiveRoot ? new List<string>() : segments.Take(segments.Count - 1).ToList();
        foreach (var part in normalized.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                if (stack.Count == 0) throw Refuse(name, $"is a {kind} to '{linkTarget}', which points outside the target");
                stack.RemoveAt(stack.Count - 1);
            }
            else stack.Add(part);
        }
        var source = FullPath(stack, name);
        if (!File.Exists(source))
            throw Refuse(name, $"is a {kind} to '{linkTarget}', which is not a file extracted before it (MedDistill copies link targets and never creates links)");
        var path = FullPath(segments, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var input = File.OpenRead(source))
        using (var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            CopyCounted(input, output, name);
        Files++;
    }

    private void CopyCounted(Stream input, Stream output, string name)
    {
        var buffer = new byte[1 << 16];
        int n;
        while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
        {
            cancel.ThrowIfCancellationRequested();
            Bytes += n;
            if (Bytes > limits.MaxTotalBytes)
                throw new ExtractionException($"{label}: extracting '{name}' takes the total past the limit of {limits.MaxTotalBytes} bytes " +
                                              "(archive bomb guard); nothing was kept. Raise the byte limit if the archive is genuine.");
            output.Write(buffer, 0, n);
        }
    }

    private void CountEntry()
    {
        if (++_entries > limits.MaxEntries)
            throw new ExtractionException($"{label}: more than {limits.MaxEntries} entries (archive bomb guard); nothing was kept. " +
                                          "Raise the entry limit if the archive is genuine.");
    }

    private List<string> Segments(string name)
    {
        var normalized = name.Replace('\\', '/');
        if (normalized.StartsWith('/') || HasDriveLetter(normalized)) throw Refuse(name, "has an absolute path");
        var segments = normalized.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".").ToList();
        if (segments.Contains("..")) throw Refuse(name, "contains '..' and would be written outside the target");
        if (segments.Any(s => s.Contains(':') || s.Contains('\0')))
            throw Refuse(name, "contains ':' or a NUL character, which are not allowed in extracted names");
        return segments;
    }

    private string FullPath(IReadOnlyList<string> segments, string name)
    {
        var full = Path.GetFullPath(Path.Combine([_root, .. segments]));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw Refuse(name, "would be written outside the target");
        return full;
    }

    private static bool HasDriveLetter(string s) => s.Length >= 2 && s[1] == ':' && char.IsAsciiLetter(s[0]);

    private ExtractionException Refuse(string name, string why) =>
        new($"{label}: refused entry '{name}': it {why}; nothing was extracted");
}
