using System.Globalization;
using System.Text;
using MedDistill.Data.Manifest;

namespace MedDistill.Data.Fetch;

public enum FileState { Verified, Failed }

public sealed record FileStateRecord(string Dataset, string File, FileState State, string Detail, DateTimeOffset At);

/// <summary>
/// <c>&lt;data-dir&gt;/fetch-state.csv</c>: the outcome of the last verification of each file (download or import), so that
/// <c>data status</c> can tell "failed" (the last try got wrong bytes) from "missing" (never tried) without re-hashing anything.
/// </summary>
public sealed class FetchStateStore
{
    public const string FileName = "fetch-state.csv";
    private const string Header = "dataset,file,state,detail,utc";

    private readonly string _path;
    private readonly Dictionary<(string, string), FileStateRecord> _records = new();

    public FetchStateStore(string dataDir)
    {
        _path = Path.Combine(dataDir, FileName);
        if (!System.IO.File.Exists(_path)) return;
        using var reader = new StreamReader(_path);
        var rows = CsvTable.Read(reader, _path);
        foreach (var r in rows.Skip(1))
        {
            if (r.Fields.Count != 5 || !Enum.TryParse<FileState>(r.Fields[2], ignoreCase: true, out var state)
                || !DateTimeOffset.TryParse(r.Fields[4], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                throw new ManifestException(_path, r.Line, "expected dataset,file,verified|failed,detail,<UTC time>");
            _records[(r.Fields[0], r.Fields[1])] = new FileStateRecord(r.Fields[0], r.Fields[1], state, r.Fields[3], at);
        }
    }

    public FileStateRecord? Find(string dataset, string file) => _records.GetValueOrDefault((dataset, file));

    public void Record(string dataset, string file, FileState state, string detail)
    {
        _records[(dataset, file)] = new FileStateRecord(dataset, file, state, detail, DateTimeOffset.UtcNow);
        var text = new StringBuilder(Header).Append('\n');
        foreach (var r in _records.Values.OrderBy(r => r.Dataset, StringComparer.Ordinal).ThenBy(r => r.File, StringComparer.Ordinal))
            text.Append(CultureInfo.InvariantCulture,
                $"{CsvTable.Escape(r.Dataset)},{CsvTable.Escape(r.File)},{r.State.ToString().ToLowerInvariant()},{CsvTable.Escape(r.Detail.ReplaceLineEndings(" "))},{r.At.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}\n");
        AtomicFile.WriteAllText(_path, text.ToString());
    }
}
