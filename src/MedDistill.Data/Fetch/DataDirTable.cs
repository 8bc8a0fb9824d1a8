using System.Globalization;
using MedDistill.Data.Manifest;
using MedDistill.Shared;

namespace MedDistill.Data.Fetch;

/// <summary>
/// The small CSV files the fetcher keeps in the data directory (<c>pins.csv</c>, <c>fetch-state.csv</c>): one row per
/// (dataset, file), a fixed header, rows sorted by dataset then file, rewritten whole and atomically on every change.
/// </summary>
internal static class DataDirTable
{
    /// <summary>UTC times as written in these files.</summary>
    public static string FormatTime(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    public static bool TryParseTime(string text, out DateTimeOffset at) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at);

    /// <summary>
    /// The data rows of <paramref name="path"/> (none when the file does not exist); a wrong header is an error naming
    /// the file and line.
    /// </summary>
    public static IEnumerable<CsvRecord> ReadRows(string path, string header)
    {
        if (!File.Exists(path)) return [];
        List<CsvRecord> records;
        records = Csv.Read(File.ReadAllText(path), (line, problem) => new ManifestException(path, line, problem));
        if (records.Count == 0) return [];
        if (string.Join(",", records[0].Fields) != header)
            throw new ManifestException(path, records[0].Line, $"header must be '{header}'");
        return records.Skip(1);
    }

    /// <summary>Rewrites <paramref name="path"/> atomically: the header, then one line per row (fields escaped), sorted.</summary>
    public static void Write(string path, string header, IEnumerable<(string dataset, string file, string[] rest)> rows)
    {
        var sorted = rows.OrderBy(r => r.dataset, StringComparer.Ordinal).ThenBy(r => r.file, StringComparer.Ordinal)
            .Select(r => (IReadOnlyList<string?>)[r.dataset, r.file, .. r.rest]);
        AtomicFile.WriteAllText(path, header + "\n" + Csv.Write(sorted));
    }
}
