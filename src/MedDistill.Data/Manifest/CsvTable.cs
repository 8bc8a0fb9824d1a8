using System.Text;

namespace MedDistill.Data.Manifest;

/// <summary>One CSV record with the 1-based line it starts on.</summary>
internal readonly record struct CsvRecord(int Line, IReadOnlyList<string> Fields);

/// <summary>
/// RFC 4180 CSV: comma-separated, fields optionally in double quotes, <c>""</c> for a quote inside quotes, quoted fields may span
/// lines. Small enough to own, and it reports the line each record starts on, which the manifest's errors need.
/// </summary>
internal static class CsvTable
{
    public static List<CsvRecord> Read(TextReader reader, string source)
    {
        var records = new List<CsvRecord>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1;
        bool inQuotes = false, fieldWasQuoted = false, any = false;
        int c;
        while ((c = reader.Read()) >= 0)
        {
            var ch = (char)c;
            if (inQuotes)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); field.Append('"'); }
                    else inQuotes = false;
                }
                else
                {
                    if (ch == '\n') line++;
                    field.Append(ch);
                }
                continue;
            }
            switch (ch)
            {
                case '"':
                    if (field.Length > 0 || fieldWasQuoted)
                        throw new ManifestException(source, line, "a quote inside an unquoted field (quote the whole field and double the inner quote)");
                    inQuotes = fieldWasQuoted = any = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldWasQuoted = false;
                    any = true;
                    break;
                case '\r':
                    break; // CRLF: the \n ends the record
                case '\n':
                    if (any || field.Length > 0) { fields.Add(field.ToString()); records.Add(new CsvRecord(recordLine, fields.ToArray())); }
                    fields.Clear();
                    field.Clear();
                    fieldWasQuoted = any = false;
                    line++;
                    recordLine = line;
                    break;
                default:
                    if (fieldWasQuoted)
                        throw new ManifestException(source, line, "text after a closing quote");
                    field.Append(ch);
                    any = true;
                    break;
            }
        }
        if (inQuotes) throw new ManifestException(source, recordLine, "a quoted field is never closed");
        if (any || field.Length > 0) { fields.Add(field.ToString()); records.Add(new CsvRecord(recordLine, fields.ToArray())); }
        return records;
    }

    /// <summary>Quotes a field when it holds a comma, quote or line break.</summary>
    public static string Escape(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
}
