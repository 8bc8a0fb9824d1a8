using System.Globalization;
using MedDistill.Data.Manifest;

namespace MedDistill.Data.Fetch;

/// <summary>A digest recorded at a file's first download because the manifest had none.</summary>
public sealed record Pin(string Dataset, string File, Checksum Checksum, long Bytes, DateTimeOffset PinnedAt);

/// <summary>
/// <c>&lt;data-dir&gt;/pins.csv</c>: sha256 of files whose manifest row has no checksum, recorded at first download (or import).
/// Later downloads of the same file are verified against the pin, and the line printed at pinning time is what to copy into
/// <c>data-manifest.csv</c> (checksum_source stays <c>pinned-at-first-download</c> there, so readers know who vouches for it).
/// </summary>
public sealed class PinStore
{
    public const string FileName = "pins.csv";
    private const string Header = "dataset,file,checksum,bytes,pinned_utc";

    private readonly string _path;
    private readonly Dictionary<(string, string), Pin> _pins = new();

    public PinStore(string dataDir)
    {
        _path = Path.Combine(dataDir, FileName);
        foreach (var r in DataDirTable.ReadRows(_path, Header))
        {
            if (r.Fields.Count != 5 || !Checksum.TryParse(r.Fields[2], out var checksum, out var error)
                || !long.TryParse(r.Fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
                || !DataDirTable.TryParseTime(r.Fields[4], out var when))
                throw new ManifestException(_path, r.Line, "expected dataset,file,sha256:<hex>,<bytes>,<UTC time>");
            _pins[(r.Fields[0], r.Fields[1])] = new Pin(r.Fields[0], r.Fields[1], checksum!, bytes, when);
        }
    }

    public string FilePath => _path;

    public Pin? Find(string dataset, string file) => _pins.GetValueOrDefault((dataset, file));

    public IReadOnlyCollection<Pin> All => _pins.Values;

    /// <summary>Records (or replaces) a pin and rewrites the file atomically.</summary>
    public Pin Add(string dataset, string file, Checksum checksum, long bytes)
    {
        var pin = new Pin(dataset, file, checksum, bytes, DateTimeOffset.UtcNow);
        _pins[(dataset, file)] = pin;
        DataDirTable.Write(_path, Header, _pins.Values.Select(p => (p.Dataset, p.File, new[]
            { p.Checksum.ToString(), p.Bytes.ToString(CultureInfo.InvariantCulture), DataDirTable.FormatTime(p.PinnedAt) })));
        return pin;
    }
}
