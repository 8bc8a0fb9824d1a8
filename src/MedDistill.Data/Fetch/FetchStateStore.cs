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
        foreach (var r in DataDirTable.ReadRows(_path, Header))
        {
            if (r.Fields.Count != 5 || !Enum.TryParse<FileState>(r.Fields[2], ignoreCase: true, out var state)
                || !DataDirTable.TryParseTime(r.Fields[4], out var at))
                throw new ManifestException(_path, r.Line, "expected dataset,file,verified|failed,detail,<UTC time>");
            _records[(r.Fields[0], r.Fields[1])] = new FileStateRecord(r.Fields[0], r.Fields[1], state, r.Fields[3], at);
        }
    }

    public FileStateRecord? Find(string dataset, string file) => _records.GetValueOrDefault((dataset, file));

    public void Record(string dataset, string file, FileState state, string detail)
    {
        _records[(dataset, file)] = new FileStateRecord(dataset, file, state, detail, DateTimeOffset.UtcNow);
        DataDirTable.Write(_path, Header, _records.Values.Select(r => (r.Dataset, r.File, new[]
            { r.State.ToString().ToLowerInvariant(), r.Detail.ReplaceLineEndings(" "), DataDirTable.FormatTime(r.At) })));
    }
}
