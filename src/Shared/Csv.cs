// Compiled into each project that reads or writes CSV (linked, not referenced), so that the lowest layers, which
// reference no other MedDistill project, share one dialect without a new assembly.
using CsvHelper;

namespace MedDistill.Shared;

/// <summary>One CSV record with the 1-based line it starts on.</summary>
internal readonly record struct CsvRecord(int Line, IReadOnlyList<string> Fields);

/// <summary>
/// MedDistill's one CSV dialect, on CsvHelper: RFC 4180 (comma, fields quoted only when they hold a comma, quote or
/// line break, <c>""</c> for a quote inside quotes), "\n" line ends, no byte order mark, no formula escaping. Every
/// file the harness writes goes through <see cref="Write"/>, so the same cells always give the same bytes.
/// </summary>
internal static class Csv
{
    private static readonly CsvReaderOptions ReadOptions = new()
    {
        Separator = ',', // CsvHelper would otherwise guess it from the first lines
        HasHeader = false,
        Mode = CsvMode.Rfc4180,
        TrackLineNumbers = true, // errors name the line a record starts on
        SkipEmptyLines = true,
        TrimWhitespace = false,
        MalformedData = CsvMalformedDataHandling.Throw,
    };

    private static readonly CsvWriterOptions WriteOptions = new()
    {
        Separator = ',',
        NewLine = "\n",
        Mode = CsvMode.Rfc4180,
        Quoting = CsvQuoting.WhenNeeded,
        ValidateFieldCount = false, // callers check their own shapes and say which file is wrong
    };

    /// <summary>
    /// Every record of <paramref name="text"/>, empty lines skipped. Malformed quoting fails with
    /// <paramref name="error"/>(line, CsvHelper's description), so each caller throws its own exception type naming its file.
    /// </summary>
    public static List<CsvRecord> Read(string text, Func<int, string, Exception> error)
    {
        var records = new List<CsvRecord>();
        try
        {
            using var reader = CsvReader.FromText(text, ReadOptions);
            while (reader.Read())
            {
                var fields = new string[reader.FieldCount];
                for (int i = 0; i < fields.Length; i++) fields[i] = reader.GetString(i);
                records.Add(new CsvRecord((int)reader.LineNumber, fields));
            }
        }
        catch (CsvFormatException e) { throw error((int)e.LineNumber, e.Message); }
        return records;
    }

    public static List<CsvRecord> Read(TextReader reader, Func<int, string, Exception> error) => Read(reader.ReadToEnd(), error);

    /// <summary>The records as CSV text, each ended by "\n"; a null field is written empty.</summary>
    public static string Write(IEnumerable<IReadOnlyList<string?>> records)
    {
        var text = new StringWriter { NewLine = "\n" };
        using (var writer = CsvWriter.Create(text, WriteOptions, leaveOpen: true))
            foreach (var record in records)
            {
                foreach (var field in record) writer.WriteField(field ?? "");
                writer.EndRecord();
            }
        return text.ToString();
    }

    /// <summary>One record as a line of CSV, with its "\n".</summary>
    public static string Line(params string?[] fields) => Write([fields]);

}
