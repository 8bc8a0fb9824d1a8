using System.Globalization;
using System.Text;
using MedDistill.Data.Manifest;

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
        using (var reader = new StreamReader(path)) records = CsvTable.Read(reader, path);
        if (records.Count == 0) return [];
        if (string.Join(",", records[0].Fields) != header)
            throw new ManifestException(path, records[0].Line, $"header must be '{header}'");
        return records.Skip(1);
    }

    /// <summary>Rewrites <paramref name="path"/> atomically: the header, then one line per row (fields escaped), sorted.</summary>
    public static void Write(string path, string header, IEnumerable<(string dataset, string file, string[] rest)> rows)
    {
        var text = new StringBuilder(header).Append('\n');
        foreach (var (dataset, file, rest) in rows.OrderBy(r => r.dataset, StringComparer.Ordinal).ThenBy(r => r.file, StringComparer.Ordinal))
            text.Append(CsvTable.Escape(dataset)).Append(',').Append(CsvTable.Escape(file))
                .Append(string.Concat(rest.Select(f => "," + CsvTable.Escape(f)))).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
    }
}
