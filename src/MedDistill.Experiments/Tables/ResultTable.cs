using System.Globalization;
using MedDistill.Shared;

namespace MedDistill.Experiments.Tables;

/// <summary>
/// A paper table as CSV: a header row (first cell the row-label column's name, then the column names, e.g.
/// <c>model,S1,S2,S3,S4,S5,S6,mean</c>) and one row per table row (its label, then one cell per column). A cell is a
/// number, empty (no value) or a short mark such as <c>n/r</c> (not reproduced). Numbers are written with a fixed number
/// of decimals in the invariant culture and rows keep their order, so the same values give byte-identical files.
/// </summary>
public sealed class ResultTable
{
    private readonly List<string> columns;
    private readonly List<(string Label, string?[] Cells)> rows = [];

    public ResultTable(string labelColumn, IEnumerable<string> columns)
    {
        LabelColumn = labelColumn;
        this.columns = columns.ToList();
        if (this.columns.Count == 0) throw new ArgumentException("a table needs at least one column");
        if (this.columns.Distinct(StringComparer.Ordinal).Count() != this.columns.Count)
            throw new ArgumentException($"repeated column in {string.Join(",", this.columns)}");
    }

    public string LabelColumn { get; }
    public IReadOnlyList<string> Columns => columns;
    public IReadOnlyList<string> RowLabels => rows.Select(r => r.Label).ToList();

    /// <summary>Adds a row; <paramref name="cells"/> by column name (missing columns stay empty).</summary>
    public void AddRow(string label, IReadOnlyDictionary<string, string?> cells)
    {
        if (rows.Any(r => r.Label == label)) throw new ArgumentException($"row '{label}' is already in the table");
        foreach (var key in cells.Keys)
            if (!columns.Contains(key)) throw new ArgumentException($"row '{label}': unknown column '{key}'");
        rows.Add((label, columns.Select(c => cells.TryGetValue(c, out var v) ? v : null).ToArray()));
    }

    public void AddRow(string label, IReadOnlyDictionary<string, double?> values, int decimals = 4) =>
        AddRow(label, values.ToDictionary(kv => kv.Key, kv => kv.Value is double d ? Format(d, decimals) : null));

    /// <summary>The cell's text, null when empty.</summary>
    public string? Cell(string row, string column)
    {
        int c = columns.IndexOf(column);
        if (c < 0) throw new KeyNotFoundException($"no column '{column}'");
        foreach (var r in rows) if (r.Label == row) return r.Cells[c];
        throw new KeyNotFoundException($"no row '{row}'");
    }

    /// <summary>The cell as a number, null when empty or a mark.</summary>
    public double? Value(string row, string column) =>
        double.TryParse(Cell(row, column), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;

    public static string Format(double value, int decimals) =>
        double.IsNaN(value) ? "" : value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public string ToCsv() =>
        Csv.Write(new[] { (IReadOnlyList<string?>)[LabelColumn, .. columns] }.Concat(rows.Select(r => (IReadOnlyList<string?>)[r.Label, .. r.Cells])));

    public void Write(string path) => Runs.AtomicFile.WriteAllText(path, ToCsv());

    public static ResultTable Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"table {path} does not exist", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses <see cref="ToCsv"/>'s format (RFC 4180 quoting); errors name <paramref name="source"/> and the line.</summary>
    public static ResultTable Parse(string csv, string source)
    {
        var lines = Csv.Read(csv, (line, problem) => new InvalidDataException($"{source}: line {line}: {problem}"));
        if (lines.Count == 0) throw new InvalidDataException($"{source}: empty table (no header)");
        var header = lines[0].Fields;
        if (header.Count < 2) throw new InvalidDataException($"{source}: the header needs a label column and at least one column");
        ResultTable table;
        try { table = new ResultTable(header[0], header.Skip(1)); }
        catch (ArgumentException e) { throw new InvalidDataException($"{source}: {e.Message}"); }
        for (int i = 1; i < lines.Count; i++)
        {
            var (line, r) = lines[i];
            if (r.Count != header.Count) throw new InvalidDataException($"{source}: line {line} has {r.Count} cells, the header {header.Count}");
            var cells = new Dictionary<string, string?>();
            for (int c = 1; c < r.Count; c++) cells[header[c]] = r[c].Length == 0 ? null : r[c];
            try { table.AddRow(r[0], cells); }
            catch (ArgumentException e) { throw new InvalidDataException($"{source}: line {line}: {e.Message}"); }
        }
        return table;
    }
}
